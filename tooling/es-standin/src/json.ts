/**
 * Small helpers for untyped JSON bodies.
 *
 * @module
 */

/** A JSON object. */
export type JsonObject = Record<string, unknown>

/** True for a plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The byte length of `text` in UTF-8. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}

/**
 * Compares two strings by their UTF-8 bytes, as Lucene orders keyword terms (BytesRef order).
 * JavaScript's `<` compares UTF-16 units, which orders U+E000..U+FFFF after astral characters.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}
