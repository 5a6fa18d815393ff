/**
 * The `elastic` section: documented defaults, byte sizes, unknown keys and wrong types refused
 * with the key named; registration on import without I/O; opening through the registry.
 */
import { configure, getStore, isKVError, resetConfiguration } from '@kv/core'
import { startStandin } from '@kv/es-standin'
import { afterEach, describe, expect, it } from 'vitest'
import {
  DEFAULT_BATCH_MAX_BYTES,
  DEFAULT_MAX_CONTENT_LENGTH,
  ELASTIC,
  ElasticKV,
  elasticSection,
} from '../src/index.js'
import { freshIndexName } from './targets.js'

afterEach(() => resetConfiguration())

describe('the elastic section', () => {
  it('has the documented defaults', () => {
    expect(elasticSection.parse({})).toEqual({
      enabled: true,
      endpoint: 'http://localhost:9200',
      endpoints: [],
      username: '',
      password: '',
      api_key: '',
      bearer_token: '',
      ca_file: '',
      tls_verify: true,
      request_timeout_ms: 30_000,
      max_retries: 3,
      index_name: 'kv',
      id_scheme: 'default',
      refresh: 'false',
      refresh_before_listing: true,
      max_content_length: DEFAULT_MAX_CONTENT_LENGTH,
      batch_max_ops: 1000,
      batch_max_bytes: DEFAULT_BATCH_MAX_BYTES,
      page_size: 1000,
    })
  })

  it('reads byte sizes and refresh values as Elasticsearch writes them', () => {
    const parsed = elasticSection.parse({
      max_content_length: '200mb',
      batch_max_bytes: 4096,
      refresh: 'wait_for',
    })
    expect(parsed.max_content_length).toBe(200 * 1024 * 1024)
    expect(parsed.batch_max_bytes).toBe(4096)
    expect(parsed.refresh).toBe('wait_for')
    expect(elasticSection.parse({ refresh: true }).refresh).toBe('true')
  })

  it('refuses unknown keys and wrong types, naming the key', () => {
    for (const [input, key] of [
      [{ index: 'x' }, 'elastic.index'],
      [{ id_scheme: 'md5' }, 'elastic.id_scheme'],
      [{ max_content_length: 'lots' }, 'elastic.max_content_length'],
      [{ request_timeout_ms: -1 }, 'elastic.request_timeout_ms'],
      [{ endpoints: 'http://x' }, 'elastic.endpoints'],
    ] as const) {
      let error: unknown
      try {
        elasticSection.parse(input)
      } catch (e) {
        error = e
      }
      expect(isKVError(error, 'KV_INVALID_CONFIG'), JSON.stringify(input)).toBe(true)
      expect((error as { key: string }).key).toBe(key)
    }
  })

  it('refuses an endpoint that is not an http(s) URL at open, without showing credentials', async () => {
    const store = new ElasticKV({ endpoint: 'ftp://user:secret-pw@host' })
    const error = await store.open().catch((e: unknown) => e)
    expect(isKVError(error, 'KV_INVALID_CONFIG')).toBe(true)
    expect(String(error)).not.toContain('secret-pw')
  })
})

describe('registration', () => {
  it('registers as "elastic" on import, closed, without touching the network', () => {
    const store = getStore(ELASTIC)
    expect(store).toBeInstanceOf(ElasticKV)
    expect(store.status).toBe('closed')
  })

  it('opens the registered store from configure()', async () => {
    const standin = await startStandin()
    try {
      configure({ elastic: { endpoint: standin.url, index_name: freshIndexName('registry') } })
      const store = getStore(ELASTIC)
      await store.open()
      await store.addValue('b', 'k', 'v')
      expect(await store.getValue('b', 'k')).toEqual(new TextEncoder().encode('v'))
      await store.close()
    } finally {
      await standin.close()
    }
  })

  it('refuses to open when enabled: false', async () => {
    configure({ elastic: { enabled: false } })
    const error = await getStore(ELASTIC)
      .open()
      .catch((e: unknown) => e)
    expect(isKVError(error, 'KV_BACKEND_DISABLED')).toBe(true)
  })
})
