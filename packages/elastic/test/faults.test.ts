/**
 * The stand-in is stopped in the middle of a write workload: operations fail with
 * KV_BACKEND_UNAVAILABLE within request_timeout_ms; after it is started again on the same port
 * the same store (not reopened) works, and every addValue that resolved is readable.
 */
import { isKVError } from '@kv/core'
import { type Standin, startStandin } from '@kv/es-standin'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ElasticKV } from '../src/index.js'
import { freshIndexName } from './targets.js'

let standin: Standin
beforeAll(async () => {
  standin = await startStandin()
})
afterAll(async () => {
  await standin.close()
})

const code = (error: unknown): string =>
  isKVError(error) ? error.code : `not a KVError: ${String(error)}`

describe.each(['default', 'infini'] as const)(
  'stand-in stopped mid-run (id_scheme: %s)',
  (scheme) => {
    it('fails with KV_BACKEND_UNAVAILABLE, recovers after restart, loses no acknowledged write', async () => {
      const store = new ElasticKV({
        endpoint: standin.url,
        index_name: freshIndexName(`faults-${scheme}`),
        id_scheme: scheme,
        request_timeout_ms: 2000,
      })
      await store.open()
      const acknowledged = new Map<string, string>()
      const failures: unknown[] = []
      let stopped = false
      const worker = async (w: number): Promise<void> => {
        for (let i = 0; ; i++) {
          const key = `w${w}-${i}`
          try {
            await store.addValue('faults', key, `value ${key}`)
            acknowledged.set(key, `value ${key}`)
          } catch (error) {
            failures.push(error)
            return
          }
          if (stopped && i > 10_000) return
        }
      }
      const workers = Array.from({ length: 8 }, (_, w) => worker(w))
      while (acknowledged.size < 300) await new Promise((resolve) => setTimeout(resolve, 5))
      await standin.stop()
      stopped = true
      await Promise.all(workers)

      // Every worker stopped on an error, and every error says the backend is unavailable.
      expect(failures).toHaveLength(8)
      expect(failures.map(code)).toEqual(Array(8).fill('KV_BACKEND_UNAVAILABLE'))
      // Reads and listings fail the same way while it is down.
      await expect(store.getValue('faults', 'w0-0')).rejects.toMatchObject({
        code: 'KV_BACKEND_UNAVAILABLE',
      })
      const listing = async () => {
        for await (const _ of store.keys('faults')) break
      }
      await expect(listing()).rejects.toMatchObject({ code: 'KV_BACKEND_UNAVAILABLE' })

      await standin.start()
      // The same store object works again without being reopened.
      await store.addValue('faults', 'after', 'restart')
      expect(await store.getValue('faults', 'after')).toEqual(new TextEncoder().encode('restart'))
      const entries = [...acknowledged]
      const values = await Promise.all(entries.map(([key]) => store.getValue('faults', key)))
      const missing = entries.filter(
        ([, value], i) => new TextDecoder().decode(values[i] ?? new Uint8Array()) !== value,
      )
      expect(missing.map(([key]) => key)).toEqual([])
      let listed = 0
      for await (const _ of store.keys('faults')) listed++
      expect(listed).toBeGreaterThanOrEqual(acknowledged.size + 1)
      await store.close()
    }, 60_000)
  },
)

describe('a closed store over a stopped cluster', () => {
  it('closes without error even when the final refresh cannot be sent', async () => {
    const local = await startStandin()
    const store = new ElasticKV({
      endpoint: local.url,
      index_name: freshIndexName('close-down'),
      request_timeout_ms: 1000,
    })
    await store.open()
    await store.addValue('b', 'k', 'v')
    await local.stop()
    await store.close()
    expect(store.status).toBe('closed')
    await local.close()
  })
})
