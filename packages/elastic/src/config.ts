/**
 * The `elastic` configuration section (SPEC §5). Keys and defaults are documented in the package
 * README; this schema is the single source of both.
 *
 * @module
 */
import { defineConfigSection, MAX_TIMER_MS, z } from '@kv/core'
import { parseByteSize } from './byte-size.js'

/** The index used when `index_name` is not set. */
export const DEFAULT_INDEX_NAME = 'kv'
/** Elasticsearch's default `http.max_content_length`: 100mb (104857600 bytes). */
export const DEFAULT_MAX_CONTENT_LENGTH = 100 * 1024 * 1024
/** Default `batch_max_bytes`: 10mb. */
export const DEFAULT_BATCH_MAX_BYTES = 10 * 1024 * 1024

const byteSize = z
  .union([z.number().int().positive(), z.string().min(1)])
  .transform((value, context) => {
    const bytes = parseByteSize(value)
    if (bytes === undefined) {
      context.addIssue({
        code: 'custom',
        message: `expected a byte size such as 104857600 or "100mb", got ${JSON.stringify(value)}`,
      })
      return z.NEVER
    }
    return bytes
  })

/**
 * Why `name` is not a valid Elasticsearch index name, or `undefined` when it is. The rules of the
 * create-index API (https://www.elastic.co/guide/en/elasticsearch/reference/current/indices-create-index.html,
 * "Index names must meet the following criteria"): lowercase only; none of \ / * ? " < > | , # :
 * or a space; not starting with -, _ or +; not . or ..; at most 255 bytes. A name breaking them is
 * not only refused by create: `kv-*`, `_all` or `.` would be taken by searches and
 * delete-by-query as other indices (a wildcard, every index, the root path).
 */
export function indexNameProblem(name: string): string | undefined {
  if (name !== name.toLowerCase()) return 'must be lowercase'
  const forbidden = [...'\\/*?"<>|,#: '].filter((character) => name.includes(character))
  if (forbidden.length > 0)
    return `must not contain ${forbidden.map((character) => JSON.stringify(character)).join(', ')} (Elasticsearch forbids \\ / * ? " < > | , # : and the space)`
  if (/^[-_+]/.test(name)) return 'must not start with "-", "_" or "+"'
  if (name === '.' || name === '..') return 'must not be "." or ".."'
  const bytes = Buffer.byteLength(name)
  if (bytes > 255) return `must be at most 255 bytes of UTF-8, not ${bytes}`
  return undefined
}

const indexName = z
  .string()
  .min(1)
  .superRefine((name, context) => {
    const problem = indexNameProblem(name)
    if (problem !== undefined) {
      context.addIssue({
        code: 'custom',
        message: `${JSON.stringify(name)} is not a valid Elasticsearch index name: it ${problem}`,
      })
    }
  })

const schema = z.strictObject({
  /** `false` hides the backend from the registry and makes `open()` fail. */
  enabled: z.boolean().default(true),
  /** The cluster's URL, used when `endpoints` is empty. */
  endpoint: z.string().min(1).default('http://localhost:9200'),
  /** Several node URLs of one cluster; the client spreads requests over them. Overrides `endpoint`. */
  endpoints: z.array(z.string().min(1)).default([]),
  /** Basic authentication user (with `password`). */
  username: z.string().default(''),
  /** Basic authentication password. */
  password: z.string().default(''),
  /** API key: the encoded form (base64 of `id:api_key`) Elasticsearch returns as `encoded`. */
  api_key: z.string().default(''),
  /** Bearer (OAuth2 / service account) token. */
  bearer_token: z.string().default(''),
  /** PEM file of the CA that signed the cluster's certificate (for https endpoints). */
  ca_file: z.string().default(''),
  /** Verify the cluster's TLS certificate and host name. Turning it off is for testing only. */
  tls_verify: z.boolean().default(true),
  /**
   * Longest time one request to the cluster may take from when it is sent, the client's retries
   * included, before it fails with KV_BACKEND_UNAVAILABLE (a write the cluster had received may
   * still be applied; see the README, "Batching"). It is per request: an operation that
   * makes several (open(), keys(), writes under `id_scheme: infini`) may take longer. At most
   * 2147483647 (about 24.8 days), the longest delay a Node.js timer takes: a longer one would
   * fire at once and fail every request.
   */
  request_timeout_ms: z.number().int().positive().max(MAX_TIMER_MS).default(30_000),
  /** Retries of a request after a connection failure or a 502/503/504, within the timeout. */
  max_retries: z.number().int().min(0).default(3),
  /**
   * The index holding the store's documents (or an alias of exactly one index); created with the
   * documented mapping when missing. Must follow Elasticsearch's index-name rules.
   */
  index_name: indexName.default(DEFAULT_INDEX_NAME),
  /**
   * `default`: collision-free ids; `infini`: the Go framework's ids, to share an index with it.
   * Use one scheme per index: by key, each scheme sees only its own documents.
   */
  id_scheme: z.enum(['default', 'infini']).default('default'),
  /** The `refresh` parameter of writes: false (default), true or wait_for. */
  refresh: z
    .union([z.boolean(), z.enum(['true', 'false', 'wait_for'])])
    .transform((value) =>
      value === true || value === 'true' ? 'true' : value === 'wait_for' ? 'wait_for' : 'false',
    )
    .default('false'),
  /**
   * Refresh the index before keys() and buckets() when this store wrote since the last refresh.
   * (deleteBucket() refreshes first in any case.)
   */
  refresh_before_listing: z.boolean().default(true),
  /**
   * The cluster's `http.max_content_length`; values are limited so that a request fits in it,
   * and in the longest string Node.js can build (the client builds each request body as one).
   */
  max_content_length: byteSize.default(DEFAULT_MAX_CONTENT_LENGTH),
  /** Most operations coalesced into one `_bulk` or `_mget` request. */
  batch_max_ops: z.number().int().positive().default(1000),
  /**
   * Most bytes of one `_bulk` request body (action lines and documents), capped at
   * `max_content_length` (and at most Node's longest string) minus 256 KiB; a document larger
   * than that goes alone.
   */
  batch_max_bytes: byteSize.default(DEFAULT_BATCH_MAX_BYTES),
  /** Hits or buckets fetched per request by keys() and buckets(). */
  page_size: z.number().int().min(1).max(10_000).default(1000),
})

/** The `elastic` section with defaults applied. */
export type ElasticKVConfig = z.output<typeof schema>

/** Options of `new ElasticKV(options)` and of the `elastic` section: every key optional. */
export type ElasticKVOptions = z.input<typeof schema>

/** The `elastic` configuration section. */
export const elasticSection = defineConfigSection('elastic', schema)

declare module '@kv/core' {
  interface ConfigSections {
    /** The `@kv/elastic` backend (see its README). */
    elastic?: ElasticKVOptions
  }
}
