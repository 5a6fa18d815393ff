/**
 * Byte sizes written as Elasticsearch writes them (`100mb`, `10kb`, `1gb`, `512b`, or a number of
 * bytes). Units are powers of 1024, as in Elasticsearch's ByteSizeValue.
 *
 * @module
 */

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }

/** The number of bytes `value` stands for, or `undefined` when it is not a byte size. */
export function parseByteSize(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(value)
  if (match === null) return undefined
  const bytes = Math.floor(Number(match[1]) * UNITS[(match[2] ?? 'b').toLowerCase()]!)
  return bytes > 0 ? bytes : undefined
}
