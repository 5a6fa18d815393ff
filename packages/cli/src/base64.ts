/**
 * Strict base64: the standard alphabet with padding, as `Buffer#toString('base64')` writes it.
 * Node's decoder skips characters outside the alphabet; these helpers refuse them, so a damaged
 * key or value is an error instead of different bytes.
 *
 * @module
 */

/** Standard base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

/** The bytes of `text`, or `undefined` when it is not canonical padded base64. */
export function fromBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64')
  // Re-encoding gives back the same text exactly when the input was canonical.
  return bytes.toString('base64') === text ? bytes : undefined
}
