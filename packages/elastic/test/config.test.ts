/**
 * The `elastic` section: documented defaults, byte sizes, unknown keys and wrong types refused
 * with the key named; registration on import without I/O; opening through the registry.
 */
import { inspect } from 'node:util'
import {
  configure,
  getStore,
  type InvalidConfigError,
  isKVError,
  resetConfiguration,
} from '@kv/core'
import { startStandin } from '@kv/es-standin'
import { afterEach, describe, expect, it } from 'vitest'
import { scrubberFor } from '../src/errors.js'
import {
  DEFAULT_BATCH_MAX_BYTES,
  DEFAULT_MAX_CONTENT_LENGTH,
  ELASTIC,
  ElasticKV,
  type ElasticKVOptions,
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

  it('takes request_timeout_ms up to 2^31 - 1, the longest delay of a Node timer', () => {
    expect(elasticSection.parse({ request_timeout_ms: 2 ** 31 - 1 }).request_timeout_ms).toBe(
      2 ** 31 - 1,
    )
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
      // Node fires a timer of 2^31 ms or more after 1 ms: every request would time out at once.
      [{ request_timeout_ms: 2 ** 31 }, 'elastic.request_timeout_ms'],
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

  // Elasticsearch's index-name rules (create-index API); several of these names would otherwise
  // reach other indices: `kv-*` and `*` are wildcards, `_all` is every index, `.` the root path.
  it.each([
    'kv-*',
    '*',
    '_all',
    '_kv',
    '-kv',
    '+kv',
    '.',
    '..',
    'KV',
    'Ключ',
    'kv?x',
    'a b',
    'a,b',
    'a/b',
    'a\\b',
    'a"b',
    'a<b',
    'a>b',
    'a|b',
    'kv#1',
    'kv:1',
    'a'.repeat(256),
    'é'.repeat(128),
  ])('refuses index_name %j as KV_INVALID_CONFIG naming elastic.index_name', (name) => {
    let error: unknown
    try {
      elasticSection.parse({ index_name: name })
    } catch (e) {
      error = e
    }
    expect(isKVError(error, 'KV_INVALID_CONFIG')).toBe(true)
    expect((error as { key: string }).key).toBe('elastic.index_name')
    expect((error as Error).message).toMatch(/not a valid Elasticsearch index name/)
  })

  it('accepts index names within the rules, up to 255 bytes', () => {
    for (const name of ['kv', '.kv-hidden', 'kv_app-1.2', 'ключ', 'a'.repeat(255), 'é'.repeat(127)])
      expect(elasticSection.parse({ index_name: name }).index_name).toBe(name)
  })

  it('fails open() with an invalid index_name before sending anything', async () => {
    const standin = await startStandin()
    try {
      // Options given to the constructor are checked there: it throws.
      let error: unknown
      try {
        await new ElasticKV({ endpoint: standin.url, index_name: 'kv-*' }).open()
      } catch (e) {
        error = e
      }
      expect(isKVError(error, 'KV_INVALID_CONFIG')).toBe(true)
      expect((error as { key: string }).key).toBe('elastic.index_name')
      expect(standin.counts().total).toBe(0)
    } finally {
      await standin.close()
    }
  })

  it('refuses an endpoint that is not an http(s) URL at open, without showing credentials', async () => {
    const store = new ElasticKV({ endpoint: 'ftp://user:secret-pw@host' })
    const error = await store.open().catch((e: unknown) => e)
    expect(isKVError(error, 'KV_INVALID_CONFIG')).toBe(true)
    expect(String(error)).not.toContain('secret-pw')
  })
})

describe('a bad endpoint in messages', () => {
  const openError = async (options: ElasticKVOptions): Promise<InvalidConfigError> => {
    const error = await new ElasticKV(options).open().catch((e: unknown) => e)
    if (!isKVError(error, 'KV_INVALID_CONFIG'))
      throw new Error(`expected KV_INVALID_CONFIG, got ${inspect(error)}`)
    return error as InvalidConfigError
  }
  const printed = (error: unknown): string => `${String(error)}\n${inspect(error, { depth: 8 })}`

  it('hides the password of every URL in a value holding two, and names the hosts', async () => {
    const error = await openError({
      endpoint: 'https://elastic:S3cretPw1@es1:9200, https://elastic:S3cretPw2@es2:9200',
    })
    expect(error.key).toBe('elastic.endpoint')
    expect(printed(error)).not.toMatch(/S3cretPw|elastic:/)
    expect(error.message).toContain('"https://***@es1:9200, https://***@es2:9200" is not a URL')
  })

  it('hides a password holding "/", "@" or a blank', async () => {
    // The port is not a number, so that every one of these is refused and echoed.
    for (const password of ['S3cr/etPw', 'S3cr@etPw', 'S3cr etPw', 'S3cr/@ etPw']) {
      const error = await openError({ endpoint: `https://elastic:${password}@es1:92x` })
      expect(printed(error), password).not.toMatch(/S3cr|etPw/)
      expect(error.message, password).toContain('"https://***@es1:92x"')
    }
  })

  it('names elastic.endpoints and the position of the bad URL in it', async () => {
    const error = await openError({
      endpoints: ['http://127.0.0.1:9', 'https://elastic:S3cretPw@es1:9200, https://es2:9200'],
    })
    expect(error.key).toBe('elastic.endpoints')
    expect(error.message).toMatch(/^elastic\.endpoints\[1\]: /)
    expect(printed(error)).not.toContain('S3cretPw')
    const scheme = await openError({ endpoints: ['http://127.0.0.1:9', 'ftp://es2'] })
    expect(scheme.key).toBe('elastic.endpoints')
    expect(scheme.message).toMatch(/^elastic\.endpoints\[1\] must be an http or https URL/)
  })

  it('refuses a raw "%" in the user-info as KV_INVALID_CONFIG naming the key, without the password', async () => {
    const error = await openError({ endpoint: 'http://elastic:50%off-secret@127.0.0.1:9' })
    expect(error.key).toBe('elastic.endpoint')
    expect(error.message).toMatch(/percent-encoding/)
    expect(printed(error)).not.toContain('off-secret')
  })

  it('scrubs URL user-info holding "/" or "@" from any message, keeping the hosts', () => {
    const scrub = scrubberFor([])
    const text = 'failed at https://elastic:pa/ss@word@es1:9200/_bulk and "http://u:w@es2"'
    expect(scrub(text)).toBe('failed at https://***@es1:9200/_bulk and "http://***@es2"')
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
