/**
 * Key ids: a key as a latin1 string, one character per byte, so that string order is byte
 * order. `keys()` sorts these.
 *
 * @module
 */

type Latin1Slice = (this: Uint8Array, start: number, end: number) => string

// Buffer's native latin1 decoder accepts any Uint8Array and is several times faster than
// `Buffer.from(view).toString('latin1')`, which first builds a Buffer view.
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: Latin1Slice }).latin1Slice

/** The id of the bytes `source[start, end)`. */
export function keyIdAt(source: Uint8Array, start: number, end: number): string {
  return latin1Slice.call(source, start, end)
}
