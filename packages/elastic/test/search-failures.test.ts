/**
 * A search that failed on its shards: Elasticsearch answers `search_phase_execution_exception`
 * ("all shards failed"), whose own reason says nothing of why; the shards' failure is its first
 * `root_cause` and `failed_shards[i].reason`. The error names that root cause and is classed by
 * it (unless the cluster answers 408, 429 or 503): a query the cluster's settings refuse is a 500 that no retry fixes
 * (KV_BACKEND_ERROR), a lost node is transient (KV_BACKEND_UNAVAILABLE).
 */
import { isKVError, type KVError } from '@kv/core'
import { type Standin, startStandin } from '@kv/es-standin'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ElasticKV } from '../src/index.js'
import { type Answer, startProxy } from './proxy.js'
import { adminClient, collect, freshIndexName } from './targets.js'

let standin: Standin
beforeAll(async () => {
  standin = await startStandin()
})
afterAll(async () => {
  await standin.close()
})

const failure = async (promise: Promise<unknown>): Promise<KVError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!isKVError(error)) throw new Error(`expected a KVError, got ${String(error)}`)
  return error
}

/** A failed search as Elasticsearch answers it, `cause` the failure of its only shard. */
const searchFailed = (
  status: number,
  cause: { type: string; reason: string },
  withRootCause = true,
): Answer => ({
  status,
  body: {
    error: {
      root_cause: withRootCause ? [cause] : [],
      type: 'search_phase_execution_exception',
      reason: 'all shards failed',
      phase: 'query',
      grouped: true,
      failed_shards: [{ shard: 0, index: 'kv', node: 'n1', reason: cause }],
    },
    status,
  },
})

/** keys() of a store whose `_search` requests the proxy answers with `answer`. */
async function listingAnswered(answer: Answer): Promise<KVError> {
  const proxy = await startProxy(standin.url)
  const store = new ElasticKV({ endpoint: proxy.url, index_name: freshIndexName('search') })
  try {
    await store.open()
    await store.addValue('b', 'k', 'v')
    proxy.intercept = (req) => (req.url.split('?')[0]!.endsWith('/_search') ? answer : undefined)
    return await failure(collect(store.keys('b')))
  } finally {
    proxy.intercept = undefined
    await store.close()
    await proxy.close()
  }
}

it('names the root cause and fails with KV_BACKEND_ERROR when a shard refuses the query (500 exception)', async () => {
  const reason =
    "[prefix] queries cannot be executed when 'search.allow_expensive_queries' is set to false. For optimised prefix queries on text fields please enable [index_prefixes]."
  const error = await listingAnswered(searchFailed(500, { type: 'exception', reason }))
  expect(error.code).toBe('KV_BACKEND_ERROR')
  expect(error.message).toContain(
    `(HTTP 500 search_phase_execution_exception: all shards failed; root cause exception: ${reason})`,
  )
})

it('reads the cause from failed_shards when root_cause is empty, and fails with KV_BACKEND_UNAVAILABLE when it is transient', async () => {
  const cause = { type: 'node_disconnected_exception', reason: '[n2][127.0.0.1:9301] disconnected' }
  const error = await listingAnswered(searchFailed(500, cause, false))
  expect(error.code).toBe('KV_BACKEND_UNAVAILABLE')
  expect(error.message).toContain(
    'all shards failed; root cause node_disconnected_exception: [n2][127.0.0.1:9301] disconnected)',
  )
})

it('fails with KV_BACKEND_UNAVAILABLE when the cluster answers 503, whatever the root cause', async () => {
  const cause = { type: 'illegal_state_exception', reason: 'searcher is closing' }
  const error = await listingAnswered(searchFailed(503, cause))
  expect(error.code).toBe('KV_BACKEND_UNAVAILABLE')
  expect(error.message).toContain('root cause illegal_state_exception: searcher is closing')
})

it('says why keys() fails on an index re-created with dynamic mappings (sorting on a text field)', async () => {
  const index = freshIndexName('search')
  const store = new ElasticKV({ endpoint: standin.url, index_name: index })
  await store.open()
  try {
    // Deleted under the open store: the next write re-creates it with `key` mapped as text.
    const admin = adminClient({ endpoint: standin.url })
    await admin.indices.delete({ index })
    await admin.close()
    await store.addValue('b', 'k', 'v')
    const error = await failure(collect(store.keys('b')))
    expect(error.code).toBe('KV_BACKEND_ERROR')
    expect(error.message).toMatch(
      /all shards failed; root cause illegal_argument_exception: Text fields are not optimised for operations that require per-document field data/,
    )
  } finally {
    await store.close()
  }
})
