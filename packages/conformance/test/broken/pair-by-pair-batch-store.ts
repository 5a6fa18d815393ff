import { type BytesLike, MemoryStore } from '@kv/core'

/**
 * Broken on purpose: `addValues` writes its pairs one by one through `addValue`, so a pair that
 * is refused (a bad key, a value over the limit) fails the call after the pairs before it were
 * written — not all or nothing. Every other operation is MemoryStore's.
 */
export class PairByPairBatchStore extends MemoryStore {
  override async addValues(
    bucket: string,
    entries: Iterable<readonly [BytesLike, BytesLike]>,
  ): Promise<void> {
    for (const [key, value] of entries) await this.addValue(bucket, key, value)
  }
}
