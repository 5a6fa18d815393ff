import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../src/memory-store.js'

describe('MemoryStore', () => {
  it('reports persistent: false, also when its data outlives close() (persistAcrossClose)', async () => {
    // Tools check `persistent === false` to refuse writes that would be lost with the process:
    // an absent property would mean "persistent".
    for (const store of [new MemoryStore(), new MemoryStore({ persistAcrossClose: true })]) {
      expect(store.persistent).toBe(false)
      await store.open()
      expect(store.persistent).toBe(false)
      await store.close()
    }
  })
})
