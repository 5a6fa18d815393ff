/**
 * The error a write under `id_scheme: infini` gets when its document id already belongs to
 * another (bucket, key): the Go framework's ids collide (`a_b`+`c` and `a`+`b_c`).
 *
 * @module
 */
import { fromUtf8, NotSupportedError } from '@kv/core'

/** Shows a key as a JSON string when it is UTF-8, else as hex; long keys are shortened. */
export function showKey(key: Uint8Array): string {
  let text: string
  try {
    text = JSON.stringify(fromUtf8(key))
  } catch {
    text = `0x${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')}`
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/**
 * A write under `id_scheme: infini` was refused because its document id holds another entry.
 * Nothing was written; the other entry is intact. Code `KV_NOT_SUPPORTED`.
 */
export class IdCollisionError extends NotSupportedError {
  /** The shared document id. */
  readonly id: string
  /** The bucket of the entry already stored under {@link id}. */
  readonly existingBucket: string
  /** The key of the entry already stored under {@link id}. */
  readonly existingKey: Uint8Array

  constructor(
    id: string,
    bucket: string,
    key: Uint8Array,
    existingBucket: string,
    existingKey: Uint8Array,
  ) {
    super(
      `Under id_scheme: infini, bucket ${JSON.stringify(bucket)} key ${showKey(key)} has the same document id (${id}) as the stored entry bucket ${JSON.stringify(existingBucket)} key ${showKey(existingKey)} (the Go framework's id joins bucket and key with "_"); the write was refused so that entry is kept. Use another key, or id_scheme: default for data the Go framework does not share.`,
    )
    this.id = id
    this.existingBucket = existingBucket
    this.existingKey = existingKey
  }
}
