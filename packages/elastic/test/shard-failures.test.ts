/**
 * Listings and deleteBucket() over an index one of whose two shards fails. Elasticsearch answers
 * a search that met a failed shard with 200 and the other shards' hits unless the request sends
 * `allow_partial_search_results=false`, and a refresh that failed on a shard with 200 and
 * `_shards.failed` > 0; either way the backend must reject with a typed error, not return a short
 * listing or delete only part of a bucket. The stand-in makes shards fail on request
 * (`EsIndex.failing`).
 */
import { isKVError } from '@kv/core'
import type { EsIndex } from '@kv/es-standin'
import { type Standin, startStandin } from '@kv/es-standin'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ElasticKV } from '../src/index.js'
import { adminClient, collect, freshIndexName } from './targets.js'

let standin: Standin
beforeAll(async () => {
  // No periodic refresh: what is searchable is what the store's own refreshes made so.
  standin = await startStandin({ refreshIntervalMs: -1 })
})
afterAll(async () => {
  await standin.close()
})

const KEYS = Array.from({ length: 20 }, (_, i) => `k${String(i).padStart(2, '0')}`)
const text = (value: string) => new TextEncoder().encode(value)
const decoded = (keys: Uint8Array[]) => keys.map((key) => new TextDecoder().decode(key))

/**
 * Opens a store on a fresh two-shard index (created as an operator would, before the store adds
 * its fields) holding {@link KEYS} in bucket `b` and one key in bucket `other`, runs `body`, closes.
 */
async function withTwoShards(body: (store: ElasticKV, index: EsIndex) => Promise<void>) {
  const name = freshIndexName('shards')
  const admin = adminClient({ endpoint: standin.url })
  await admin.indices.create({ index: name, settings: { number_of_shards: 2 } })
  await admin.close()
  const store = new ElasticKV({ endpoint: standin.url, index_name: name })
  await store.open()
  try {
    await store.addValues(
      'b',
      KEYS.map((key) => [key, 'v']),
    )
    await store.addValue('other', 'x', 'v')
    const index = standin.cluster.get(name)
    // The test means something only if both shards hold keys of the bucket.
    const shards = new Set([...index.live.keys()].map((id) => index.shardOf(id)))
    expect([...shards].sort()).toEqual([0, 1])
    await body(store, index)
  } finally {
    await store.close()
  }
}

const unavailable = (error: unknown): boolean => isKVError(error, 'KV_BACKEND_UNAVAILABLE')

it('keys() rejects with KV_BACKEND_UNAVAILABLE when a shard fails its search, and lists every key once it recovers', async () => {
  await withTwoShards(async (store, index) => {
    index.failing.search.add(1)
    const error = await collect(store.keys('b')).catch((e: unknown) => e)
    expect(unavailable(error), String(error)).toBe(true)
    // Refused by Elasticsearch (the request says allow_partial_search_results=false), not only
    // caught by the backend's own check of `_shards.failed`.
    expect((error as Error).message).toMatch(
      /listing keys of bucket "b".*HTTP 503 search_phase_execution_exception/,
    )
    index.failing.search.clear()
    expect(decoded(await collect(store.keys('b')))).toEqual(KEYS)
  })
})

it('buckets() rejects with KV_BACKEND_UNAVAILABLE when a shard fails its search', async () => {
  await withTwoShards(async (store, index) => {
    // Bucket `other` has one document, on one shard: fail that one.
    index.failing.search.add(
      index.shardOf(
        [...index.live.keys()].find((id) => index.live.get(id)!.source.bucket === 'other')!,
      ),
    )
    const error = await collect(store.buckets()).catch((e: unknown) => e)
    expect(unavailable(error), String(error)).toBe(true)
    expect((error as Error).message).toMatch(/HTTP 503 search_phase_execution_exception/)
    index.failing.search.clear()
    expect(await collect(store.buckets())).toEqual(['b', 'other'])
  })
})

it('deleteBucket() rejects with KV_BACKEND_UNAVAILABLE when its refresh fails on a shard, and deletes the bucket once it recovers', async () => {
  await withTwoShards(async (store, index) => {
    // Nothing has been refreshed since the writes: a shard whose refresh fails keeps its
    // documents out of the delete-by-query's sight.
    index.failing.refresh.add(1)
    const error = await store.deleteBucket('b').catch((e: unknown) => e)
    expect(unavailable(error), String(error)).toBe(true)
    expect((error as Error).message).toMatch(/refreshing index/)
    index.failing.refresh.clear()
    await store.deleteBucket('b')
    expect(await collect(store.keys('b'))).toEqual([])
    for (const key of KEYS) expect(await store.getValue('b', key), key).toBeNull()
    expect(await store.getValue('other', 'x')).toEqual(text('v'))
  })
})
