import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../src/memory-store.js'

describe('MemoryStore', () => {
  it('refuses options of the wrong kind with KV_INVALID_ARGUMENT naming the option', () => {
    const cases = [
      [{ maxValueBytes: -1 }, 'maxValueBytes', /got -1\./],
      [{ maxValueBytes: 1.5 }, 'maxValueBytes', /got 1\.5\./],
      [{ maxValueBytes: '1024' }, 'maxValueBytes', /got "1024" \(a string\)/],
      [{ maxValueBytes: Number.POSITIVE_INFINITY }, 'maxValueBytes', /got Infinity/],
      [{ persistAcrossClose: 'yes' }, 'persistAcrossClose', /true or false; got "yes"/],
    ] as const
    for (const [options, argument, message] of cases) {
      expect(() => new MemoryStore(options as never), argument).toThrow(
        expect.objectContaining({
          code: 'KV_INVALID_ARGUMENT',
          argument,
          message: expect.stringMatching(message),
        }),
      )
    }
  })

  it('takes maxValueBytes 0 (only empty values) and applies the limit it was given', async () => {
    const store = new MemoryStore({ maxValueBytes: 0 })
    await store.open()
    await store.addValue('b', 'k', new Uint8Array(0))
    await expect(store.addValue('b', 'k', new Uint8Array(1))).rejects.toMatchObject({
      code: 'KV_INVALID_ARGUMENT',
    })
    await store.close()
  })

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
