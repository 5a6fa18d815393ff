/**
 * Where the tests run: the stand-in server (always), and a real cluster when `KV_ELASTIC_URL` is
 * set (with `KV_ELASTIC_USERNAME` / `KV_ELASTIC_PASSWORD`, `KV_ELASTIC_API_KEY` or
 * `KV_ELASTIC_BEARER_TOKEN`, and
 * `KV_ELASTIC_CA_FILE` / `KV_ELASTIC_TLS_VERIFY=false` for TLS). Every store gets an index of its
 * own, deleted afterwards.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Client } from '@elastic/elasticsearch'
import { ElasticKV, type ElasticKVOptions } from '../src/index.js'
import { type Proxy as FaultProxy, startProxy } from './proxy.js'

/** The real cluster named by the environment, if any. */
export const realCluster: ElasticKVOptions | undefined = process.env.KV_ELASTIC_URL
  ? {
      endpoint: process.env.KV_ELASTIC_URL,
      username: process.env.KV_ELASTIC_USERNAME ?? '',
      password: process.env.KV_ELASTIC_PASSWORD ?? '',
      api_key: process.env.KV_ELASTIC_API_KEY ?? '',
      bearer_token: process.env.KV_ELASTIC_BEARER_TOKEN ?? '',
      ca_file: process.env.KV_ELASTIC_CA_FILE ?? '',
      tls_verify: process.env.KV_ELASTIC_TLS_VERIFY !== 'false',
    }
  : undefined

/** Why the real-cluster tests are skipped. */
export const REAL_CLUSTER_SKIP_REASON =
  'KV_ELASTIC_URL is not set: no Elasticsearch cluster to test against (see the README, "Testing against a real cluster")'

const run = randomBytes(3).toString('hex')
let counter = 0

/** A fresh index name for one store. */
export function freshIndexName(label: string): string {
  return `kv-test-${run}-${label}-${++counter}`
}

/**
 * An admin client for seeding raw documents and deleting test indices, with the store's
 * credentials and TLS settings (in the store's order: API key, bearer token, basic auth), so that
 * it reaches a cluster with a private CA as the store does.
 */
export function adminClient(options: ElasticKVOptions): Client {
  const auth = options.api_key
    ? { apiKey: options.api_key }
    : options.bearer_token
      ? { bearer: options.bearer_token }
      : options.username
        ? { username: options.username, password: options.password ?? '' }
        : undefined
  const tls = {
    ...(options.ca_file ? { ca: readFileSync(options.ca_file) } : {}),
    ...(options.tls_verify === false ? { rejectUnauthorized: false } : {}),
  }
  return new Client({
    node: options.endpoint!,
    ...(auth ? { auth } : {}),
    ...(Object.keys(tls).length > 0 ? { tls } : {}),
    maxRetries: 0,
  })
}

/**
 * Opens a store on a fresh index (named after `label`) of the cluster at `endpoint`, runs `body`
 * with it, and closes it whatever happens.
 */
export async function withFreshStore(
  endpoint: string,
  label: string,
  options: ElasticKVOptions,
  body: (store: ElasticKV) => Promise<void>,
): Promise<void> {
  const store = new ElasticKV({ endpoint, index_name: freshIndexName(label), ...options })
  await store.open()
  try {
    await body(store)
  } finally {
    await store.close()
  }
}

/**
 * Opens a store on a fresh index (named after `label`) through a fault proxy in front of
 * `target`, runs `body` with both, and closes them whatever happens: the proxy's intercept is
 * cleared first, so that close() gets through.
 */
export async function withStoreBehindProxy(
  target: string,
  label: string,
  options: ElasticKVOptions,
  body: (store: ElasticKV, proxy: FaultProxy) => Promise<void>,
): Promise<void> {
  const proxy = await startProxy(target)
  const store = new ElasticKV({
    endpoint: proxy.url,
    index_name: freshIndexName(label),
    ...options,
  })
  try {
    await store.open()
    await body(store, proxy)
  } finally {
    proxy.intercept = undefined
    await store.close()
    await proxy.close()
  }
}

/** A promise the test resolves itself, with `open()`. */
export function signal(): { promise: Promise<void>; open(): void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}

/** Every item of an async iterable, in order. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of iterable) out.push(item)
  return out
}
