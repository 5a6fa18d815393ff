/**
 * What a caller sees when writes meet trouble or race, as the README states it: a write that
 * times out after the cluster received it is reported failed though it is applied (under
 * `id_scheme: infini` not over a later write of its key); a `_bulk` that
 * fails some of an `addValues` call's items fails the call while its other entries are written;
 * an entry another client rewrites while deleteBucket() runs survives, and deleteBucket() still
 * resolves; this store's writes of a bucket keep their issue order with its deleteBucket(); stores
 * racing to write one key under `infini` all succeed. The
 * proxy in front of the stand-in holds or rewrites the requests a test picks (proxy.ts).
 */
import { isKVError } from '@kv/core'
import { type Standin, startStandin } from '@kv/es-standin'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ElasticKV, type ElasticKVOptions } from '../src/index.js'
import { type Answer, type Proxy as FaultProxy, forward, type ProxiedRequest } from './proxy.js'
import { adminClient, collect, freshIndexName, signal, withStoreBehindProxy } from './targets.js'

let standin: Standin
beforeAll(async () => {
  standin = await startStandin()
})
afterAll(async () => {
  await standin.close()
})

const text = (value: string) => new TextEncoder().encode(value)
const path = (req: ProxiedRequest) => req.url.split('?')[0]!

/** Opens a store through a proxy to the stand-in, runs `body`, and closes both. */
function throughProxy(
  options: ElasticKVOptions,
  body: (store: ElasticKV, proxy: FaultProxy) => Promise<void>,
): Promise<void> {
  return withStoreBehindProxy(standin.url, 'outcomes', options, body)
}

it('reports a write that timed out as KV_BACKEND_UNAVAILABLE, though the cluster applies it', async () => {
  await throughProxy({ request_timeout_ms: 300 }, async (store, proxy) => {
    const release = signal()
    let applied: Promise<Answer> | undefined
    // The cluster has the request but answers only after the client gave up, as a busy one does.
    proxy.intercept = (req) => {
      if (path(req) !== '/_bulk') return undefined
      proxy.intercept = undefined
      applied = release.promise.then(() => forward(standin.url, req))
      return applied
    }
    const error = await store.addValue('b', 'k', 'v1').catch((e: unknown) => e)
    expect(isKVError(error, 'KV_BACKEND_UNAVAILABLE')).toBe(true)
    release.open()
    expect((await applied!).status).toBe(200)
    expect(await store.getValue('b', 'k')).toEqual(text('v1'))
  })
})

it('under id_scheme: infini, a write that timed out and reaches the cluster late does not overwrite a later write', async () => {
  await throughProxy({ request_timeout_ms: 300, id_scheme: 'infini' }, async (store, proxy) => {
    await store.addValue('b', 'k', 'v0')
    const release = signal()
    let late: Promise<Answer> | undefined
    proxy.intercept = (req) => {
      if (path(req) !== '/_bulk') return undefined
      proxy.intercept = undefined
      late = release.promise.then(() => forward(standin.url, req))
      return late
    }
    const error = await store.addValue('b', 'k', 'v1').catch((e: unknown) => e)
    expect(isKVError(error, 'KV_BACKEND_UNAVAILABLE')).toBe(true)
    await store.addValue('b', 'k', 'v2')
    release.open()
    // The late write was conditional on the version it read: the cluster refuses it.
    expect((await late!).body).toMatchObject({
      items: [{ index: { status: 409, error: { type: 'version_conflict_engine_exception' } } }],
    })
    expect(await store.getValue('b', 'k')).toEqual(text('v2'))
  })
})

// The hunt's case: the late write lands after the later write read the document and before its
// conditional write arrives, so the later write meets a version conflict with this store's own
// late write. It must still be applied (and the late one lose), not be taken as done.
it.each([
  ['addValue', (store: ElasticKV) => store.addValue('b', 'k', 'v2'), text('v2')],
  ['deleteKey', (store: ElasticKV) => store.deleteKey('b', 'k'), null],
] as const)(
  'under id_scheme: infini, a later %s stays when a write that timed out lands between its read and its write',
  async (_label, later, expected) => {
    await throughProxy({ request_timeout_ms: 300, id_scheme: 'infini' }, async (store, proxy) => {
      await store.addValue('b', 'k', 'v0')
      let held: ProxiedRequest | undefined
      let late: Answer | undefined
      proxy.intercept = async (req) => {
        if (path(req) !== '/_bulk') return undefined
        if (held === undefined) {
          // The first write's request reaches the cluster, which does not answer in time.
          held = req
          return new Promise<Answer>(() => {})
        }
        // The later write's request (sent after its read): the late one is applied just before.
        proxy.intercept = undefined
        late = await forward(standin.url, held)
        return undefined
      }
      const error = await store.addValue('b', 'k', 'v1').catch((e: unknown) => e)
      expect(isKVError(error, 'KV_BACKEND_UNAVAILABLE')).toBe(true)
      await later(store)
      // The late write was applied (it read v0 and v0 was still there), before the later one.
      expect(late?.body).toMatchObject({ items: [{ index: { status: 200 } }] })
      expect(await store.getValue('b', 'k')).toEqual(expected)
    })
  },
)

/**
 * Forwards a `_bulk` without the items whose document's `key` field is `failedKeyHex`, and
 * answers those as Elasticsearch answers an item rejected by a full write queue (429), in place.
 */
async function failItems(req: ProxiedRequest, failedKeyHex: string): Promise<Answer> {
  const lines = req.body
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
  const kept: string[] = []
  const failedAt = new Set<number>()
  let item = 0
  for (let i = 0; i < lines.length; i += 2, item++) {
    // Every item here is an index or create: an action line and a document line.
    if ((JSON.parse(lines[i + 1]!) as { key: string }).key === failedKeyHex) failedAt.add(item)
    else kept.push(lines[i]!, lines[i + 1]!)
  }
  const body = Buffer.from(kept.map((line) => `${line}\n`).join(''))
  const answer = await forward(standin.url, {
    ...req,
    headers: { ...req.headers, 'content-length': String(body.length) },
    body,
  })
  const items = [...(answer.body as { items: unknown[] }).items]
  for (const at of [...failedAt].sort((a, b) => a - b)) {
    const error = { type: 'es_rejected_execution_exception', reason: 'rejected execution' }
    items.splice(at, 0, { index: { status: 429, error } })
  }
  return { status: 200, body: { errors: true, items } }
}

it('fails addValues when one item of its _bulk fails; its other entries are written, and re-running it writes all', async () => {
  // Two entries per request: the call's entries travel in three requests.
  await throughProxy({ batch_max_ops: 2 }, async (store, proxy) => {
    const entries: Array<[string, string]> = ['a', 'b', 'c', 'd', 'e'].map((k) => [k, `v${k}`])
    proxy.intercept = (req) =>
      path(req) === '/_bulk' ? failItems(req, Buffer.from('c').toString('hex')) : undefined
    const error = await store.addValues('b', entries).catch((e: unknown) => e)
    expect(isKVError(error, 'KV_BACKEND_UNAVAILABLE')).toBe(true)
    expect((error as Error).message).toMatch(/HTTP 429 es_rejected_execution_exception/)
    for (const [k, v] of entries) {
      expect(await store.getValue('b', k), k).toEqual(k === 'c' ? null : text(v))
    }
    proxy.intercept = undefined
    await store.addValues('b', entries)
    for (const [k, v] of entries) expect(await store.getValue('b', k), k).toEqual(text(v))
  })
})

it('under id_scheme: infini, 12 stores writing one key at once all succeed, round after round', async () => {
  // Each round, every store's conditional write but one meets a version conflict and retries;
  // the retries must spread out (not stay in lockstep, one winner a round) so that none gives up.
  const index = freshIndexName('contention')
  const stores = Array.from(
    { length: 12 },
    () => new ElasticKV({ endpoint: standin.url, index_name: index, id_scheme: 'infini' }),
  )
  try {
    for (const store of stores) await store.open()
    for (let round = 0; round < 3; round++) {
      const values = stores.map((_, i) => `v${round}-${i}`)
      const outcomes = await Promise.allSettled(
        stores.map((store, i) => store.addValue('b', 'k', values[i]!)),
      )
      expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([])
      const stored = new TextDecoder().decode((await stores[0]!.getValue('b', 'k'))!)
      expect(values).toContain(stored)
    }
  } finally {
    for (const store of stores) await store.close()
  }
})

it('keeps an entry another client rewrites while deleteBucket() runs, deletes the others, and resolves', async () => {
  const index = freshIndexName('outcomes')
  await throughProxy({ index_name: index }, async (store, proxy) => {
    await store.addValue('b', 'rewritten', 'old')
    await store.addValue('b', 'untouched', 'old')
    const arrived = signal()
    const release = signal()
    // Hold the delete-by-query after deleteBucket() refreshed; another client rewrites an entry
    // meanwhile (this store's own write would wait for the deletion): the query's snapshot
    // holds the old version, so deleting it is a version conflict.
    proxy.intercept = async (req) => {
      if (!path(req).endsWith('/_delete_by_query')) return undefined
      arrived.open()
      await release.promise
      return forward(standin.url, req)
    }
    const deleting = store.deleteBucket('b')
    await arrived.promise
    const other = new ElasticKV({ endpoint: standin.url, index_name: index })
    await other.open()
    await other.addValue('b', 'rewritten', 'new')
    release.open()
    await deleting
    // Not before: its close() refreshes, which would put the new version in the query's snapshot.
    await other.close()
    expect(await store.getValue('b', 'rewritten')).toEqual(text('new'))
    expect(await store.getValue('b', 'untouched')).toBeNull()
    // A write issued after deleteBucket() resolved survives it.
    await store.addValue('b', 'after', 'x')
    expect(await store.getValue('b', 'after')).toEqual(text('x'))
  })
})

describe.each(['_refresh', '_delete_by_query'])(
  "deleteBucket() and this store's writes of the bucket keep their issue order (%s held)",
  (held) => {
    it('a write issued after deleteBucket() is applied after it and survives', async () => {
      const index = freshIndexName('outcomes')
      await throughProxy({ index_name: index }, async (store, proxy) => {
        await store.addValue('b', 'old', '1')
        const arrived = signal()
        const release = signal()
        // Hold deleteBucket()'s request (once) before it reaches the cluster.
        proxy.intercept = async (req) => {
          if (!path(req).endsWith(`/${held}`)) return undefined
          proxy.intercept = undefined
          arrived.open()
          await release.promise
          return forward(standin.url, req)
        }
        const deleting = store.deleteBucket('b')
        await arrived.promise
        const after = store.addValue('b', 'after', '2')
        // Issued in the same turn: had the write of "after" been sent now, it would travel in
        // this write's `_bulk`, so once this resolves it would be acknowledged.
        await store.addValue('other', 'marker', 'x')
        // Before the delete-by-query's search, a refresh by another client (or the periodic
        // one) would make such a write searchable.
        if (held === '_delete_by_query')
          await adminClient({ endpoint: standin.url }).indices.refresh({ index })
        release.open()
        await Promise.all([deleting, after])
        expect(await store.getValue('b', 'after')).toEqual(text('2'))
        expect(await store.getValue('b', 'old')).toBeNull()
        expect(await collect(store.keys('b'))).toEqual([text('after')])
      })
    })
  },
)

it('a write and a delete issued before deleteBucket() are applied before it and deleted', async () => {
  await throughProxy({}, async (store, proxy) => {
    await store.addValue('b', 'gone', '1')
    const requests: string[] = []
    proxy.intercept = (req) => {
      requests.push(path(req).split('/').pop()!)
      return undefined
    }
    // Not awaited: the write and the delete are still queued for their `_bulk` when
    // deleteBucket() is called, and its refresh would otherwise be sent first.
    const before = store.addValue('b', 'before', '2')
    const deleted = store.deleteKey('b', 'gone')
    await Promise.all([before, deleted, store.deleteBucket('b')])
    expect(requests).toEqual(['_bulk', '_refresh', '_delete_by_query'])
    expect(await store.getValue('b', 'before')).toBeNull()
    expect(await collect(store.keys('b'))).toEqual([])
  })
})
