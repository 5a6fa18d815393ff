/**
 * Coalescing and refresh, counted with the stand-in's request counters: concurrent writes go out
 * as one `_bulk`, concurrent reads as one `_mget`; listings refresh only when this store wrote
 * since the last refresh, and no write waits for a refresh.
 */
import { type Standin, startStandin } from '@kv/es-standin'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ElasticKV, type ElasticKVOptions } from '../src/index.js'
import { collect, freshIndexName, withFreshStore } from './targets.js'

let standin: Standin
beforeAll(async () => {
  // Periodic refresh off: only the backend's own refreshes make writes searchable here.
  standin = await startStandin({ refreshIntervalMs: -1 })
})
afterAll(async () => {
  await standin.close()
})

const text = (value: string): Uint8Array => new TextEncoder().encode(value)

const withStore = (options: ElasticKVOptions, body: (store: ElasticKV) => Promise<void>) =>
  withFreshStore(standin.url, 'batching', options, body)

describe.each(['default', 'infini'] as const)('coalescing (id_scheme: %s)', (id_scheme) => {
  // The README ("Batching"): 64 concurrent addValue calls take one _bulk request (under infini an
  // _mget, for the owners, and a _bulk); 64 concurrent getValue calls take one _mget.
  it('sends 64 concurrent addValue calls as one _bulk (infini: one _mget and one _bulk)', async () => {
    await withStore({ id_scheme }, async (store) => {
      standin.resetCounts()
      await Promise.all(Array.from({ length: 64 }, (_, i) => store.addValue('b', `k${i}`, `v${i}`)))
      expect(standin.counts()).toEqual(
        id_scheme === 'default'
          ? { total: 1, byEndpoint: { bulk: 1 } }
          : { total: 2, byEndpoint: { mget: 1, bulk: 1 } },
      )
    })
  })

  it('sends 64 concurrent getValue calls as one _mget, each caller getting its own value', async () => {
    await withStore({ id_scheme }, async (store) => {
      await Promise.all(Array.from({ length: 64 }, (_, i) => store.addValue('b', `k${i}`, `v${i}`)))
      standin.resetCounts()
      const values = await Promise.all(
        Array.from({ length: 64 }, (_, i) => store.getValue('b', `k${i}`)),
      )
      expect(values).toEqual(Array.from({ length: 64 }, (_, i) => text(`v${i}`)))
      expect(standin.counts()).toEqual({ total: 1, byEndpoint: { mget: 1 } })
    })
  })

  it('routes missing, present and existence results of one _mget to their callers', async () => {
    await withStore({ id_scheme }, async (store) => {
      await store.addValue('b', 'present', 'yes')
      await store.addValue('b', 'empty', '')
      standin.resetCounts()
      const [a, b, c, d, e] = await Promise.all([
        store.getValue('b', 'present'),
        store.getValue('b', 'absent'),
        store.existsKey('b', 'empty'),
        store.existsKey('b', 'absent'),
        store.getValue('other', 'present'),
      ])
      expect([a, b, c, d, e]).toEqual([text('yes'), null, true, false, null])
      expect(standin.counts()).toEqual({ total: 1, byEndpoint: { mget: 1 } })
    })
  })

  it('splits a batch at batch_max_ops and batch_max_bytes', async () => {
    await withStore({ id_scheme, batch_max_ops: 10, batch_max_bytes: '64kb' }, async (store) => {
      standin.resetCounts()
      await Promise.all(Array.from({ length: 30 }, (_, i) => store.addValue('b', `k${i}`, 'x')))
      expect(standin.counts().byEndpoint.bulk).toBe(3)
      standin.resetCounts()
      // Each value is ~27 KB of base64: two fit in 64 KB, a third does not.
      await Promise.all(
        Array.from({ length: 4 }, (_, i) => store.addValue('big', `k${i}`, new Uint8Array(20_000))),
      )
      expect(standin.counts().byEndpoint.bulk).toBe(2)
      expect((await store.getValue('big', 'k3'))?.length).toBe(20_000)
    })
  })
})

describe('refresh', () => {
  it('writes do not refresh; a listing refreshes once after writes and not again without them', async () => {
    await withStore({}, async (store) => {
      await collect(store.buckets()) // the refresh owed since open
      standin.resetCounts()
      for (let i = 0; i < 5; i++) await store.addValue('b', `k${i}`, 'v')
      await store.deleteKey('b', 'k4')
      expect(standin.counts().byEndpoint['indices.refresh']).toBeUndefined()
      expect((await collect(store.keys('b'))).length).toBe(4)
      expect(await collect(store.buckets())).toEqual(['b'])
      expect(standin.counts().byEndpoint['indices.refresh']).toBe(1)
      await store.deleteBucket('b')
      expect(await collect(store.buckets())).toEqual([])
      expect(standin.counts().byEndpoint['indices.refresh']).toBe(1)
    })
  })

  it('with refresh: true every write is searchable at once and listings need no refresh', async () => {
    await withStore({ refresh: true, refresh_before_listing: false }, async (store) => {
      await store.addValue('b', 'k', 'v')
      standin.resetCounts()
      expect((await collect(store.keys('b'))).length).toBe(1)
      expect(standin.counts().byEndpoint['indices.refresh']).toBeUndefined()
    })
  })

  it('with refresh_before_listing: false a listing shows only refreshed writes', async () => {
    await withStore({ refresh_before_listing: false }, async (store) => {
      await store.addValue('b', 'k', 'v')
      expect(await collect(store.keys('b'))).toEqual([])
      for (const index of standin.cluster.indices.values()) index.refresh()
      expect((await collect(store.keys('b'))).length).toBe(1)
    })
  })

  it('close() refreshes only if this store wrote or deleted since open()', async () => {
    const index_name = freshIndexName('close-refresh')
    const closeCountingRefreshes = async (use: (store: ElasticKV) => Promise<unknown>) => {
      const store = new ElasticKV({ endpoint: standin.url, index_name })
      await store.open()
      await use(store)
      standin.resetCounts()
      await store.close()
      return standin.counts().byEndpoint['indices.refresh'] ?? 0
    }
    expect(await closeCountingRefreshes(async () => {})).toBe(0)
    expect(await closeCountingRefreshes((store) => store.getValue('b', 'k'))).toBe(0)
    expect(await closeCountingRefreshes((store) => store.addValue('b', 'k', 'v'))).toBe(1)
    expect(await closeCountingRefreshes((store) => store.deleteKey('b', 'k'))).toBe(1)
  })

  it("a second store sees the first one's writes in listings after the first closes", async () => {
    const index_name = freshIndexName('handover')
    const first = new ElasticKV({ endpoint: standin.url, index_name })
    await first.open()
    await first.addValue('b', 'k', 'v')
    await first.close()
    const second = new ElasticKV({
      endpoint: standin.url,
      index_name,
      refresh_before_listing: false,
    })
    await second.open()
    expect((await collect(second.keys('b'))).length).toBe(1)
    await second.close()
  })
})
