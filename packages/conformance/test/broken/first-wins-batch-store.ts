import { type Entry, MemoryStore } from '@kv/core'

/**
 * Broken on purpose: `addValues` writes its pairs last to first, so a key listed twice keeps its
 * first value instead of its last. Every other operation is MemoryStore's.
 */
export class FirstWinsBatchStore extends MemoryStore {
  protected override async _putMany(bucket: string, entries: readonly Entry[]): Promise<void> {
    for (let i = entries.length - 1; i >= 0; i--) await this._put(bucket, ...entries[i]!)
  }
}
