import { decompress, MemoryStore } from '@kv/core'

/**
 * Broken on purpose (SPEC §3.5): when a stored value is not valid LZ4 its decoder returns the
 * raw bytes instead of throwing (as a lenient decoder might), so callers get garbage.
 */
export class GarbageDecoderStore extends MemoryStore {
  override async getCompressedValue(
    bucket: string,
    key: Uint8Array | string,
  ): Promise<Uint8Array | null> {
    const stored = await this.getValue(bucket, key)
    if (stored === null) return null
    try {
      return decompress(stored)
    } catch {
      return stored
    }
  }
}
