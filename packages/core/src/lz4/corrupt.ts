import { CorruptValueError } from '../errors.js'

/**
 * Builds the error every decoding failure throws, with one wording so callers and logs can
 * recognise it. Kept out of the decoder's hot loop so that function stays small enough to inline.
 *
 * @param detail - What exactly was wrong, for example `match offset 0 at block byte 9`.
 */
export function corrupt(detail: string): CorruptValueError {
  return new CorruptValueError(
    `compressed value is corrupt: ${detail}; it was not written by addValueCompress or was damaged`,
  )
}
