import { MemoryStore } from '@kv/core'

const aTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * Broken on purpose (SPEC §3.6): its writes take a turn, and while any is in flight its close()
 * resolves at once, leaving core's close (which waits for them) to finish afterwards — as an
 * engine's close() that does not wait for its writes would. With nothing in flight it closes
 * correctly; every other operation is MemoryStore's.
 */
export class EarlyCloseStore extends MemoryStore {
  #writing = 0

  protected override async _put(bucket: string, key: Uint8Array, value: Uint8Array): Promise<void> {
    const keyCopy = new Uint8Array(key)
    const valueCopy = new Uint8Array(value)
    this.#writing++
    try {
      await aTurn()
      super._put(bucket, keyCopy, valueCopy)
    } finally {
      this.#writing--
    }
  }

  override close(): Promise<void> {
    const closing = super.close()
    if (this.#writing === 0) return closing
    // Resolves before the writes in flight (and the real close) have finished.
    closing.catch(() => {})
    return Promise.resolve()
  }
}
