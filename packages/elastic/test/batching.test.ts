/**
 * Coalescing and refresh, counted with the stand-in's request counters: concurrent writes go out
 * as one `_bulk`, concurrent reads as one `_mget`; listings refresh only when this store wrote
 * since the last refresh, and no write waits for a refresh.
 */
import { type Standin, startStandin } from '@kv/es-standin'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildSource } from '../src/document.js'
import { documentId, ElasticKV, type ElasticKVOptions } from '../src/index.js'
import { bulkItemBytes, jsonBytes, mgetItemBytes, type WriteItem } from '../src/operations.js'
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

describe('the size of _bulk requests', () => {
  it('weighs an item as exactly the bytes of its action and document lines', () => {
    const index = 'i'.repeat(255)
    const key = new Uint8Array([0, 1, 0xfe, 0xff])
    for (const bucket of [
      'b',
      'quote " and \\ backslash',
      'ctrl \u0001\n',
      'é😀\u2028',
      'x'.repeat(255),
    ]) {
      const source = buildSource(bucket, key, new Uint8Array([1, 2, 3, 250]))
      const items: WriteItem[] = [
        { op: 'index', id: 'a'.repeat(64), source },
        { op: 'create', id: 'a'.repeat(32), source },
        { op: 'index', id: 'a'.repeat(32), source, ifSeqNo: 123_456_789, ifPrimaryTerm: 17 },
        { op: 'delete', id: 'a'.repeat(64) },
        { op: 'delete', id: 'a'.repeat(32), ifSeqNo: 0, ifPrimaryTerm: 1 },
      ]
      for (const item of items) {
        // The body as the client's serializer writes it: each line JSON, then a newline.
        const { op, id, ifSeqNo, ifPrimaryTerm } = item
        const conditions =
          ifSeqNo === undefined ? {} : { if_seq_no: ifSeqNo, if_primary_term: ifPrimaryTerm }
        const lines: unknown[] = [{ [op]: { _index: index, _id: id, ...conditions } }]
        if (op !== 'delete') lines.push(source)
        const body = lines.map((line) => `${JSON.stringify(line)}\n`).join('')
        expect(bulkItemBytes(index, item), `${op} ${JSON.stringify(bucket)}`).toBe(
          Buffer.byteLength(body),
        )
      }
    }
  })

  it('weighs a read as exactly the bytes of its _mget entry and a comma', () => {
    const key = new TextEncoder().encode('k')
    for (const index of ['i'.repeat(255), 'kv-é']) {
      for (const item of [
        { id: documentId('default', 'b', key), source: true as const },
        {
          id: documentId('infini', 'b', key),
          source: ['bucket', 'key', 'key2', 'key3', 'key4', 'key5'],
        },
      ]) {
        const entry = JSON.stringify({ _index: index, _id: item.id, _source: item.source })
        expect(mgetItemBytes(jsonBytes(index), item)).toBe(Buffer.byteLength(`${entry},`))
      }
    }
  })

  it.each(['default', 'infini'] as const)(
    'keeps thousands of tiny writes, reads and deletes under a 255-character index name within max_content_length (id_scheme: %s)',
    async (id_scheme) => {
      // Every action line and _mget entry carries the index name; under infini, overwrites and
      // deletes also carry if_seq_no and if_primary_term.
      const small = await startStandin({ maxContentLength: 1024 * 1024, refreshIntervalMs: -1 })
      const store = new ElasticKV({
        endpoint: small.url,
        index_name: freshIndexName('long-name').padEnd(255, 'x'),
        id_scheme,
        max_content_length: '1mb',
        batch_max_ops: 10_000,
      })
      await store.open()
      try {
        const keys = Array.from({ length: 4000 }, (_, i) => `k${i}`)
        await Promise.all(keys.map((key) => store.addValue('b', key, 'v')))
        await Promise.all(keys.map((key) => store.addValue('b', key, 'w')))
        // Reads too: every _mget entry carries the index name.
        const values = await Promise.all(keys.map((key) => store.getValue('b', key)))
        expect(values).toEqual(keys.map(() => text('w')))
        small.resetCounts()
        await Promise.all(keys.map((key) => store.deleteKey('b', key)))
        // More than one request was needed: the batches were cut by size, not by count.
        expect(small.counts().byEndpoint.bulk).toBeGreaterThan(1)
        expect(await collect(store.keys('b'))).toEqual([])
      } finally {
        await store.close()
        await small.close()
      }
    },
  )
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
      // deleteBucket() refreshes every time (next tests); the listing after it needs none.
      await store.deleteBucket('b')
      expect(await collect(store.buckets())).toEqual([])
      expect(standin.counts().byEndpoint['indices.refresh']).toBe(2)
    })
  })

  it("deleteBucket() deletes another store's acknowledged write that no refresh made searchable", async () => {
    const index_name = freshIndexName('delete-other')
    const writer = new ElasticKV({ endpoint: standin.url, index_name })
    const deleter = new ElasticKV({ endpoint: standin.url, index_name })
    await writer.open()
    await deleter.open()
    try {
      // The deleter's first listing takes the refresh owed since open; it has written nothing.
      await collect(deleter.buckets())
      await writer.addValue('sessions', 'u1', 'v')
      await deleter.deleteBucket('sessions')
      expect(await deleter.getValue('sessions', 'u1')).toBeNull()
      expect(await collect(writer.keys('sessions'))).toEqual([])
    } finally {
      await writer.close()
      await deleter.close()
    }
  })

  it("with refresh_before_listing: false deleteBucket() still deletes the store's own unrefreshed writes", async () => {
    await withStore({ refresh_before_listing: false }, async (store) => {
      await store.addValue('sessions', 'u1', 'v')
      await store.addValue('other', 'k', 'v')
      await store.deleteBucket('sessions')
      expect(await store.getValue('sessions', 'u1')).toBeNull()
      expect(await store.getValue('other', 'k')).toEqual(text('v'))
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
