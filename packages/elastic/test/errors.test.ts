/**
 * Failures map to typed errors: an unreachable or silent cluster, a 408, 429 or 5xx answer, or 8
 * lost version conflicts → KV_BACKEND_UNAVAILABLE; another refusal (a cluster block) →
 * KV_BACKEND_ERROR; refused credentials or privileges → KV_AUTH_FAILED; a value whose request
 * would exceed http.max_content_length → KV_INVALID_ARGUMENT before anything is sent; an index
 * with an incompatible mapping → KV_INVALID_CONFIG; a cluster of another version →
 * KV_NOT_SUPPORTED; a damaged document → KV_CORRUPT_STORE. Secrets never appear in errors.
 * Answers of a cluster in trouble come from a proxy in front of the stand-in (proxy.ts).
 */
import { constants } from 'node:buffer'
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:net'
import { inspect } from 'node:util'
import { isKVError, type KVError } from '@kv/core'
import { type Standin, startStandin, TEST_TLS_FILES, testTls } from '@kv/es-standin'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ElasticKV, type ElasticKVOptions, maxValueBytesFor } from '../src/index.js'
import {
  type Answer,
  esError,
  failedBulkItems,
  failedByQuery,
  failedMgetItems,
  type Intercept,
  startProxy,
} from './proxy.js'
import { adminClient, collect, freshIndexName, withStoreBehindProxy } from './targets.js'

const failure = async (promise: Promise<unknown>): Promise<KVError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!isKVError(error)) throw new Error(`expected a KVError, got ${inspect(error)}`)
  return error
}

/** Everything an error shows when printed or logged, cause included. */
const printed = (error: unknown): string => `${String(error)}\n${inspect(error, { depth: 8 })}`

let standin: Standin
beforeAll(async () => {
  standin = await startStandin()
})
afterAll(async () => {
  await standin.close()
})

const store = (options: ElasticKVOptions) =>
  new ElasticKV({ index_name: freshIndexName('errors'), ...options })

describe('cluster unreachable', () => {
  it('fails open() with KV_BACKEND_UNAVAILABLE when nothing listens', async () => {
    const closed = await startStandin()
    const url = closed.url
    await closed.close()
    const error = await failure(store({ endpoint: url, request_timeout_ms: 2000 }).open())
    expect(error.code).toBe('KV_BACKEND_UNAVAILABLE')
    expect(error.message).toContain('127.0.0.1')
  })

  it('fails with KV_BACKEND_UNAVAILABLE, not a hang, when the server accepts but never answers', async () => {
    const sockets = new Set<import('node:net').Socket>()
    const silent: Server = createServer((socket) => sockets.add(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const port = (silent.address() as import('node:net').AddressInfo).port
    try {
      const error = await failure(
        store({ endpoint: `http://127.0.0.1:${port}`, request_timeout_ms: 1000 }).open(),
      )
      expect(error.code).toBe('KV_BACKEND_UNAVAILABLE')
      expect(error.message).toMatch(/did not answer/)
    } finally {
      for (const socket of sockets) socket.destroy()
      silent.close()
    }
  }, 30_000)

  it('names a server that is not Elasticsearch', async () => {
    const { createServer: createHttp } = await import('node:http')
    const other = createHttp((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
    )
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
    const port = (other.address() as import('node:net').AddressInfo).port
    try {
      const error = await failure(
        store({ endpoint: `http://127.0.0.1:${port}`, request_timeout_ms: 2000 }).open(),
      )
      expect(error.code).toBe('KV_BACKEND_ERROR')
      expect(error.message).toMatch(
        /is not Elasticsearch 8\.x or 9\.x .*Elasticsearch before 7\.14/,
      )
    } finally {
      other.closeAllConnections()
      other.close()
    }
  })
})

describe('authentication and authorisation', () => {
  const password = 'hunter2-very-secret'
  const apiKey = Buffer.from('key-id:key-secret-value').toString('base64')
  const token = 'bearer-token-secret-value'
  let secured: Standin
  beforeAll(async () => {
    secured = await startStandin({
      auth: {
        users: { writer: { password }, reader: { password, readOnly: true } },
        apiKeys: { [apiKey]: {} },
        bearerTokens: { [token]: {} },
      },
    })
  })
  afterAll(async () => {
    await secured.close()
  })

  it('opens and works with basic auth, an API key and a bearer token', async () => {
    for (const credentials of [
      { username: 'writer', password },
      { api_key: apiKey },
      { bearer_token: token },
    ]) {
      const s = store({ endpoint: secured.url, ...credentials })
      await s.open()
      await s.addValue('b', 'k', 'v')
      expect(await s.getValue('b', 'k')).toEqual(new TextEncoder().encode('v'))
      await s.close()
    }
  })

  it('fails with KV_AUTH_FAILED on a wrong password, without showing it', async () => {
    const wrong = 'wrong-password-do-not-print'
    const error = await failure(
      store({ endpoint: secured.url, username: 'writer', password: wrong }).open(),
    )
    expect(error.code).toBe('KV_AUTH_FAILED')
    expect(printed(error)).not.toContain(wrong)
    expect(printed(error)).not.toContain(Buffer.from(`writer:${wrong}`).toString('base64'))
  })

  it('fails with KV_AUTH_FAILED without credentials and with a wrong API key or token', async () => {
    for (const credentials of [
      {},
      { api_key: 'bm8tc3VjaC1rZXk=' },
      { bearer_token: 'no-such-token' },
    ]) {
      const error = await failure(store({ endpoint: secured.url, ...credentials }).open())
      expect(error.code).toBe('KV_AUTH_FAILED')
      expect(printed(error)).not.toContain('no-such-token')
      expect(printed(error)).not.toContain('bm8tc3VjaC1rZXk=')
    }
  })

  it('fails a write with KV_AUTH_FAILED when the user may only read', async () => {
    // The writer creates the index; the reader can then read but not write.
    const index = freshIndexName('readonly')
    const writer = new ElasticKV({
      endpoint: secured.url,
      index_name: index,
      username: 'writer',
      password,
    })
    await writer.open()
    await writer.addValue('b', 'k', 'v')
    await writer.close()
    const reader = new ElasticKV({
      endpoint: secured.url,
      index_name: index,
      username: 'reader',
      password,
    })
    await reader.open()
    try {
      expect(await reader.getValue('b', 'k')).toEqual(new TextEncoder().encode('v'))
      const error = await failure(reader.addValue('b', 'k', 'other'))
      expect(error.code).toBe('KV_AUTH_FAILED')
      expect(error.message).toMatch(/privilege/)
      expect(printed(error)).not.toContain(password)
    } finally {
      await reader.close()
    }
  })

  it('takes credentials from the endpoint URL and never shows them', async () => {
    const url = new URL(secured.url)
    url.username = 'writer'
    url.password = password
    const s = store({ endpoint: url.toString() })
    await s.open()
    await s.addValue('b', 'k', 'v')
    await s.close()
    url.password = 'url-secret-wrong'
    const error = await failure(store({ endpoint: url.toString() }).open())
    expect(error.code).toBe('KV_AUTH_FAILED')
    expect(printed(error)).not.toContain('url-secret-wrong')
  })

  it('fails open() with KV_AUTH_FAILED naming the monitor cluster privilege when GET / is refused (403)', async () => {
    // What Elasticsearch answers a user whose roles grant index privileges only: GET / is the
    // cluster action cluster:monitor/main (elastic/elasticsearch#83179).
    const reason =
      'action [cluster:monitor/main] is unauthorized for user [kv] with effective roles [kv_role], this action is granted by the cluster privileges [monitor,manage,all]'
    const proxy = await startProxy(standin.url, (req) =>
      req.method === 'GET' && req.url.split('?')[0] === '/'
        ? esError(403, 'security_exception', reason)
        : undefined,
    )
    try {
      const error = await failure(store({ endpoint: proxy.url }).open())
      expect(error.code).toBe('KV_AUTH_FAILED')
      expect(error.message).toContain('while reading the cluster version (GET /)')
      expect(error.message).toContain(
        'this needs the monitor cluster privilege, or a role granting the cluster action cluster:monitor/main',
      )
      expect(error.message).not.toMatch(/index privilege/)
      expect(proxy.answered).toEqual(['GET /'])
    } finally {
      await proxy.close()
    }
  })
})

describe('values over the request size limit', () => {
  it('derives the value limit from max_content_length after base64 and the envelope', () => {
    // The README's floor((max_content_length − 256 KiB) / 4) × 3, worked out by hand:
    // 100mb: (104 857 600 − 262 144) / 4 × 3 = 78 446 592; 10mb: (10 485 760 − 262 144) / 4 × 3
    // = 7 667 712; 1mb: (1 048 576 − 262 144) / 4 × 3 = 589 824.
    expect(maxValueBytesFor(100 * 1024 * 1024)).toBe(78_446_592)
    expect(new ElasticKV({ max_content_length: '100mb' }).limits.maxValueBytes).toBe(78_446_592)
    expect(new ElasticKV({ max_content_length: '10mb' }).limits.maxValueBytes).toBe(7_667_712)
    expect(new ElasticKV({ max_content_length: '1mb' }).limits.maxValueBytes).toBe(589_824)
  })

  it('caps the value limit so that a request body fits in one Node string, whatever max_content_length says', () => {
    // The client builds each body as one string of at most MAX_STRING_LENGTH characters.
    const cap = Math.floor((constants.MAX_STRING_LENGTH - 256 * 1024) / 4) * 3
    expect(new ElasticKV({ max_content_length: '1gb' }).limits.maxValueBytes).toBe(cap)
    expect(maxValueBytesFor(Number.MAX_SAFE_INTEGER)).toBe(cap)
    // Below the cap, max_content_length still decides.
    expect(maxValueBytesFor(constants.MAX_STRING_LENGTH - 4)).toBeLessThan(cap)
  })

  it('refuses a value too long for one request string with KV_INVALID_ARGUMENT, not a plain Error', async () => {
    const s = store({ endpoint: standin.url, max_content_length: '1gb' })
    await s.open()
    try {
      standin.resetCounts()
      // 420 MiB: under the old limit for 1gb (805 109 760 bytes), but its base64 is longer than
      // any string Node can build. Zero-filled, so it costs no memory until written to.
      const error = await failure(s.addValue('b', 'k', new Uint8Array(420 * 1024 * 1024)))
      expect(error.code).toBe('KV_INVALID_ARGUMENT')
      expect(standin.counts().total).toBe(0)
    } finally {
      await s.close()
    }
  })

  it('rejects a value over the limit with KV_INVALID_ARGUMENT before sending anything', async () => {
    const small = await startStandin({ maxContentLength: 1024 * 1024 })
    const s = store({ endpoint: small.url, max_content_length: '1mb' })
    await s.open()
    try {
      const limit = s.limits.maxValueBytes
      expect(limit).toBe(589_824) // the README's formula for 1mb, as above
      small.resetCounts()
      const error = await failure(s.addValue('b', 'big', new Uint8Array(limit + 1)))
      expect(error.code).toBe('KV_INVALID_ARGUMENT')
      expect(small.counts().total).toBe(0)
      // A value exactly at the limit fits in the cluster's limit, even with the longest key.
      const longKey = new Uint8Array(64 * 1024).fill(0xab)
      await s.addValue('b'.repeat(255), longKey, new Uint8Array(limit).fill(7))
      expect((await s.getValue('b'.repeat(255), longKey))?.length).toBe(limit)
    } finally {
      await s.close()
      await small.close()
    }
  })

  it('addValueCompress refuses a value over the limit even when it would compress below it, and a value whose compressed bytes are over it', async () => {
    const small = await startStandin({ maxContentLength: 1024 * 1024 })
    const s = store({ endpoint: small.url, max_content_length: '1mb' })
    await s.open()
    try {
      const limit = 589_824 // the README's formula for 1mb
      small.resetCounts()
      // Zeros compress to a few KiB, but the raw value is over the limit.
      const over = await failure(s.addValueCompress('b', 'zeros', new Uint8Array(limit + 1)))
      expect(over.code).toBe('KV_INVALID_ARGUMENT')
      expect(over.message).toMatch(/^value is 589825 bytes/)
      // Random bytes do not compress: LZ4 adds its framing, so at the limit they end up over it.
      const grown = await failure(s.addValueCompress('b', 'random', randomBytes(limit)))
      expect(grown.code).toBe('KV_INVALID_ARGUMENT')
      expect(grown.message).toMatch(/^value \(compressed\) is \d+ bytes/)
      expect(small.counts().total).toBe(0)
      // At the limit and compressible, it is stored.
      await s.addValueCompress('b', 'fits', new Uint8Array(limit).fill(1))
      expect(await s.getCompressedValue('b', 'fits')).toEqual(new Uint8Array(limit).fill(1))
    } finally {
      await s.close()
      await small.close()
    }
  })

  it("reports a write refused alone with 413 (the cluster's limit is smaller than configured) as KV_INVALID_CONFIG naming the bucket, key, request size and elastic.max_content_length", async () => {
    const small = await startStandin({ maxContentLength: 64 * 1024 })
    const s = store({ endpoint: small.url, max_content_length: '1mb' })
    await s.open()
    try {
      const error = await failure(s.addValue('b', 'k', new Uint8Array(200 * 1024)))
      expect(error.code).toBe('KV_INVALID_CONFIG')
      expect(error).toMatchObject({ key: 'elastic.max_content_length' })
      expect(error).not.toHaveProperty('argument')
      expect(error.message).toMatch(
        /refused to write bucket "b" key "k" to index .* as too large \(HTTP 413\), although its value is within this store's limit: the request, sent alone, was \d+ bytes, over the cluster's http\.max_content_length, which is smaller than elastic\.max_content_length \(1048576 bytes\).*Set elastic\.max_content_length to the cluster's http\.max_content_length/,
      )
      expect(error.cause).toMatchObject({ code: 'KV_BACKEND_ERROR' })
      expect(await s.getValue('b', 'k')).toBeNull()
    } finally {
      await s.close()
      await small.close()
    }
  })

  it('addValues with a value the cluster refuses alone with 413 rejects with KV_INVALID_CONFIG naming that key; the valid entry may be written', async () => {
    // The cluster's limit (256 KiB) is smaller than configured (1mb): 200 KiB is within the
    // store's value limit (589 824 bytes), but its request is not within the cluster's.
    const small = await startStandin({ maxContentLength: 262_144 })
    const s = store({ endpoint: small.url, max_content_length: '1mb' })
    await s.open()
    try {
      const error = await failure(
        s.addValues('b', [
          ['valid', 'v'],
          ['big', new Uint8Array(200 * 1024)],
        ]),
      )
      expect(error.code).toBe('KV_INVALID_CONFIG')
      expect(error.message).toMatch(/refused to write bucket "b" key "big" /)
      expect(error.message).toMatch(/elastic\.max_content_length/)
      // Not atomic (see the README): the other entry, resent on its own, was written.
      expect(await s.getValue('b', 'valid')).toEqual(new TextEncoder().encode('v'))
      expect(await s.getValue('b', 'big')).toBeNull()
    } finally {
      await s.close()
      await small.close()
    }
  })

  // A cluster whose http.max_content_length (64 KiB) is smaller than configured (1mb): the
  // batches are made for 1mb, so the cluster refuses some of them with 413.
  describe('coalesced requests the cluster refuses with 413', () => {
    let small: Standin
    let s: ElasticKV
    beforeAll(async () => {
      small = await startStandin({ maxContentLength: 64 * 1024 })
      s = store({ endpoint: small.url, max_content_length: '1mb' })
      await s.open()
    })
    afterAll(async () => {
      await s.close()
      await small.close()
    })

    it('reads 1000 documents coalesced into one _mget over the limit in halves: every caller gets its value', async () => {
      await s.addValue('b', 'k0', 'v0')
      await s.addValue('b', 'k999', 'v999')
      small.resetCounts()
      // 1000 ids of 64 characters: about 130 KB of _mget body, twice the cluster's limit.
      const values = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => s.getValue('b', `k${i}`)),
      )
      expect(values[0]).toEqual(new TextEncoder().encode('v0'))
      expect(values[999]).toEqual(new TextEncoder().encode('v999'))
      expect(values.slice(1, 999).every((value) => value === null)).toBe(true)
      // The whole one (refused), then its halves, and theirs as far as needed.
      const mgets = small.counts().byEndpoint.mget ?? 0
      expect(mgets).toBeGreaterThanOrEqual(3)
      expect(mgets).toBeLessThanOrEqual(7)
    })

    it('writes a small value coalesced with one too large for the cluster; only the large one fails, as KV_INVALID_CONFIG naming both limits', async () => {
      small.resetCounts()
      const [smallWrite, largeWrite] = await Promise.allSettled([
        s.addValue('b', 'small', 'x'),
        s.addValue('b', 'large', new Uint8Array(100 * 1024)),
      ])
      expect(smallWrite.status).toBe('fulfilled')
      expect(largeWrite.status).toBe('rejected')
      const error = (largeWrite as PromiseRejectedResult).reason as KVError
      expect(error.code).toBe('KV_INVALID_CONFIG')
      expect(error.message).toMatch(/key "large"/)
      expect(error.message).toMatch(/http\.max_content_length/)
      expect(error.message).toMatch(/elastic\.max_content_length/)
      // One _bulk of both (refused), then each alone.
      expect(small.counts().byEndpoint).toEqual({ bulk: 3 })
      expect(await s.getValue('b', 'small')).toEqual(new TextEncoder().encode('x'))
      expect(await s.getValue('b', 'large')).toBeNull()
    })
  })
})

describe('the index', () => {
  it('creates a missing index with the documented mapping', async () => {
    const index = freshIndexName('mapping')
    const s = store({ endpoint: standin.url, index_name: index })
    await s.open()
    await s.close()
    const admin = adminClient({ endpoint: standin.url })
    const mapping = await admin.indices.getMapping({ index })
    expect(mapping[index]?.mappings.properties).toMatchObject({
      content: { type: 'binary', doc_values: false },
      bucket: { type: 'keyword' },
      key: { type: 'keyword' },
      key5: { type: 'keyword' },
    })
    await admin.close()
  })

  it('tolerates a concurrent creator', async () => {
    const index = freshIndexName('race')
    standin.resetCounts()
    const stores = [0, 1, 2].map(() => store({ endpoint: standin.url, index_name: index }))
    await Promise.all(stores.map((s) => s.open()))
    await stores[0]!.addValue('b', 'k', 'v')
    expect(await stores[2]!.getValue('b', 'k')).toEqual(new TextEncoder().encode('v'))
    await Promise.all(stores.map((s) => s.close()))
  })

  it('treats "index already exists" from its create request as success', async () => {
    // A proxy answers the existence check with 404 although the index exists, as when another
    // process creates it between this store's check and its create request.
    const index = freshIndexName('exists-race')
    const admin = adminClient({ endpoint: standin.url })
    await admin.indices.create({ index })
    await admin.close()
    // Every `HEAD /{index}` is answered 404.
    const proxy = await startProxy(standin.url, (req) =>
      req.method === 'HEAD' && /^\/[^/_][^/?]*$/.test(req.url) ? { status: 404 } : undefined,
    )
    standin.resetCounts()
    try {
      const s = store({ endpoint: proxy.url, index_name: index })
      await s.open()
      expect(standin.counts().byEndpoint['indices.create']).toBe(1)
      await s.addValue('b', 'k', 'v')
      await s.close()
    } finally {
      await proxy.close()
    }
  })

  // Every refusal the README lists for an existing index ("The index"): content binary without
  // doc values or store, the other fields keyword, indexed, with doc values, no normalizer and no
  // ignore_above below 32766.
  it.each([
    [{ bucket: { type: 'text' } }, 'field [bucket] is mapped as [text], expected [keyword]'],
    [{ content: { type: 'text' } }, 'field [content] is mapped as [text], expected [binary]'],
    [
      { content: { type: 'binary', doc_values: true } },
      'field [content] must have doc_values: false and store: false',
    ],
    [
      { content: { type: 'binary', store: true } },
      'field [content] must have doc_values: false and store: false',
    ],
    [{ key: { type: 'keyword', index: false } }, 'field [key] must be indexed and have doc values'],
    [
      { key3: { type: 'keyword', doc_values: false } },
      'field [key3] must be indexed and have doc values',
    ],
    [
      { key2: { type: 'keyword', normalizer: 'lowercase' } },
      'field [key2] must not have a normalizer',
    ],
    [
      { key5: { type: 'keyword', ignore_above: 32_765 } },
      'field [key5] must not have ignore_above',
    ],
  ] as const)('refuses an index mapped %j, naming the field', async (properties, problem) => {
    const index = freshIndexName('incompatible')
    const admin = adminClient({ endpoint: standin.url })
    await admin.indices.create({ index, mappings: { properties: properties as never } })
    await admin.close()
    const error = await failure(store({ endpoint: standin.url, index_name: index }).open())
    expect(error.code).toBe('KV_INVALID_CONFIG')
    expect(error.message).toContain(`index [${index}] has a mapping kv cannot use: ${problem}.`)
  })

  // Reads take the value and its owner's bucket and key from _source: an index that does not keep
  // them there would read every entry as absent (or damaged).
  it.each([
    [{ enabled: false }, '_source is disabled, and reads take the values from it'],
    [{ excludes: ['content'] }, '_source leaves out [content]'],
    [{ excludes: ['con*'] }, '_source leaves out [content]'],
    [{ excludes: ['key3', 'other'] }, '_source leaves out [key3]'],
    [{ includes: ['content', 'bucket'] }, '_source leaves out [key, key2, key3, key4, key5]'],
    [{ includes: ['bucket', 'key*'] }, '_source leaves out [content]'],
  ] as const)('refuses an index whose _source is %j', async (source, problem) => {
    const index = freshIndexName('source')
    const admin = adminClient({ endpoint: standin.url })
    await admin.indices.create({ index, mappings: { _source: source as never } })
    await admin.close()
    const error = await failure(store({ endpoint: standin.url, index_name: index }).open())
    expect(error.code).toBe('KV_INVALID_CONFIG')
    expect(error.message).toContain(`index [${index}] has a mapping kv cannot use: ${problem}`)
  })

  it.each([
    [{ excludes: ['other*'] }],
    [{ includes: ['*'] }],
    [{ includes: ['content', 'bucket', 'key*'], excludes: ['keys'] }],
  ] as const)(
    'uses an index whose _source is %j, which keeps every field it reads',
    async (source) => {
      const index = freshIndexName('source-ok')
      const admin = adminClient({ endpoint: standin.url })
      await admin.indices.create({ index, mappings: { _source: source as never } })
      await admin.close()
      const s = store({ endpoint: standin.url, index_name: index })
      await s.open()
      try {
        await s.addValue('b', 'k', 'v')
        expect(await s.getValue('b', 'k')).toEqual(new TextEncoder().encode('v'))
      } finally {
        await s.close()
      }
    },
  )

  it('accepts ignore_above of 32766 or more, which never skips a key field value', async () => {
    const index = freshIndexName('ignore-above')
    const admin = adminClient({ endpoint: standin.url })
    await admin.indices.create({
      index,
      mappings: { properties: { key: { type: 'keyword', ignore_above: 32_766 } } },
    })
    await admin.close()
    const s = store({ endpoint: standin.url, index_name: index })
    await s.open()
    await s.addValue('b', 'k', 'v')
    expect(await collect(s.keys('b'))).toEqual([new TextEncoder().encode('k')])
    await s.close()
  })

  it('refuses an invalid index name as a configuration error', async () => {
    // Options given to the constructor are checked there (it throws): nothing is sent.
    const error = await failure(
      (async () => store({ endpoint: standin.url, index_name: 'Upper_Case' }).open())(),
    )
    expect(error.code).toBe('KV_INVALID_CONFIG')
    expect(error.message).toMatch(/index_name/)
  })

  it('refuses an index_name that names several indices (an alias of two) as KV_INVALID_CONFIG', async () => {
    // The stand-in has no aliases: a proxy answers the mapping request as Elasticsearch answers
    // it for an alias of two indices, one entry per index.
    const index = freshIndexName('alias')
    const mapping = { mappings: { properties: { content: { type: 'binary', doc_values: false } } } }
    const proxy = await startProxy(standin.url, (req) =>
      req.method === 'GET' && req.url.split('?')[0] === `/${index}/_mapping`
        ? { status: 200, body: { [`${index}-a`]: mapping, [`${index}-b`]: mapping } }
        : undefined,
    )
    try {
      const error = await failure(store({ endpoint: proxy.url, index_name: index }).open())
      expect(error.code).toBe('KV_INVALID_CONFIG')
      expect((error as KVError & { key: string }).key).toBe('elastic.index_name')
      expect(error.message).toContain(`names 2 indices (${index}-a, ${index}-b)`)
      expect(proxy.answered).toEqual([`GET /${index}/_mapping`])
    } finally {
      await proxy.close()
    }
  })

  it('fails open() with KV_AUTH_FAILED naming the privileges when the index check is refused (403, no body)', async () => {
    // A HEAD answer has no body, so a 403 for a missing privilege carries no security_exception.
    const index = freshIndexName('head-403')
    const proxy = await startProxy(standin.url, (req) =>
      req.method === 'HEAD' && req.url.split('?')[0] === `/${index}` ? { status: 403 } : undefined,
    )
    try {
      const error = await failure(store({ endpoint: proxy.url, index_name: index }).open())
      expect(error.code).toBe('KV_AUTH_FAILED')
      expect(error.message).toContain(`checking index ${index}`)
      expect(error.message).toContain('view_index_metadata or manage')
    } finally {
      await proxy.close()
    }
  })
})

describe('cluster versions', () => {
  it('works with a 9.x cluster through REST compatibility', async () => {
    const nine = await startStandin({ version: '9.1.0' })
    const s = store({ endpoint: nine.url })
    await s.open()
    await s.addValue('b', 'k', 'v')
    expect(await s.getValue('b', 'k')).toEqual(new TextEncoder().encode('v'))
    const keys: Uint8Array[] = []
    for await (const key of s.keys('b')) keys.push(key)
    expect(keys).toHaveLength(1)
    await s.close()
    await nine.close()
  })

  it('refuses a 7.x cluster with KV_NOT_SUPPORTED: it refuses the 8.x media type', async () => {
    // A 7.x cluster accepts compatible-with=7 (and 6) only, so the first request is refused
    // before the version could be read.
    const seven = await startStandin({ version: '7.17.0' })
    const error = await failure(store({ endpoint: seven.url }).open())
    expect(error.code).toBe('KV_NOT_SUPPORTED')
    expect(error.message).toMatch(
      /refused the client's media type \(HTTP 400 media_type_header_exception/,
    )
    expect(error.message).toMatch(/not an 8\.x or 9\.x cluster/)
    await seven.close()
  })

  it('refuses a cluster that accepts the client but reports another major, naming its version', async () => {
    // GET / answered with version 10.0.0 (and the product header); the rest is the stand-in's.
    const admin = adminClient({ endpoint: standin.url })
    const info = await admin.info()
    await admin.close()
    const proxy = await startProxy(standin.url, (req) =>
      req.method === 'GET' && req.url.split('?')[0] === '/'
        ? { status: 200, body: { ...info, version: { ...info.version, number: '10.0.0' } } }
        : undefined,
    )
    standin.resetCounts()
    try {
      const error = await failure(store({ endpoint: proxy.url }).open())
      expect(error.code).toBe('KV_NOT_SUPPORTED')
      expect(error.message).toMatch(/is version 10\.0\.0; @kv\/elastic supports 8\.x and 9\.x/)
      expect(proxy.answered).toEqual(['GET /'])
      // Refused before it looked at the index.
      expect(standin.counts().total).toBe(0)
    } finally {
      await proxy.close()
    }
  })
})

describe('answers of a cluster in trouble', () => {
  /** Opens a store through a proxy to the stand-in, then runs `body` with both. */
  const throughProxy = (
    options: ElasticKVOptions,
    body: (s: ElasticKV, proxy: Awaited<ReturnType<typeof startProxy>>) => Promise<void>,
  ) => withStoreBehindProxy(standin.url, 'errors', options, body)
  const on =
    (path: string, answer: (req: { body: Buffer }) => ReturnType<Intercept>): Intercept =>
    (req) =>
      req.url.split('?')[0]!.endsWith(path) ? answer(req) : undefined
  const v = new TextEncoder().encode('v')

  it.each([
    [
      'addValue, _bulk answered 429',
      on('/_bulk', () =>
        esError(
          429,
          'es_rejected_execution_exception',
          'rejected execution of coordinating operation',
        ),
      ),
      (s: ElasticKV) => s.addValue('b', 'k', 'v'),
      /HTTP 429 es_rejected_execution_exception: rejected execution/,
    ],
    [
      'addValue, every _bulk item answered 429',
      on('/_bulk', (req) =>
        failedBulkItems(
          req.body,
          429,
          'es_rejected_execution_exception',
          () => 'rejected execution',
        ),
      ),
      (s: ElasticKV) => s.addValue('b', 'k', 'v'),
      /HTTP 429 es_rejected_execution_exception: rejected execution/,
    ],
    [
      'getValue, _mget answered 503 (after the client retried it)',
      on('/_mget', () => esError(503, 'no_shard_available_action_exception', 'No shard available')),
      (s: ElasticKV) => s.getValue('b', 'k'),
      /HTTP 503 no_shard_available_action_exception: No shard available/,
    ],
    [
      'addValue, _bulk answered 408',
      on('/_bulk', () => esError(408, 'some_timeout_exception', 'timed out')),
      (s: ElasticKV) => s.addValue('b', 'k', 'v'),
      /HTTP 408 some_timeout_exception: timed out/,
    ],
    [
      'keys(), _search answered 500',
      on('/_search', () => esError(500, 'search_phase_execution_exception', 'all shards failed')),
      (s: ElasticKV) => collect(s.keys('b')),
      /HTTP 500 search_phase_execution_exception: all shards failed/,
    ],
    [
      'keys(), _search answered 500 without a body (the status alone, said once)',
      on('/_search', () => ({ status: 500 })),
      (s: ElasticKV) => collect(s.keys('b')),
      /while listing[^(]*\(HTTP 500\)\.$/,
    ],
  ] as const)(
    'fails with KV_BACKEND_UNAVAILABLE on a 408, 429 or 5xx (%s), and works again once it stops',
    async (_label, intercept, operation, message) => {
      await throughProxy({}, async (s, proxy) => {
        await s.addValue('b', 'k', 'v')
        proxy.intercept = intercept
        const error = await failure(operation(s))
        expect(error.code).toBe('KV_BACKEND_UNAVAILABLE')
        expect(error.message).toMatch(message)
        expect(proxy.answered.length).toBeGreaterThan(0)
        proxy.intercept = undefined
        await operation(s)
        expect(await s.getValue('b', 'k')).toEqual(v)
      })
    },
  )

  it.each([
    [
      '_bulk answered 403',
      on('/_bulk', () =>
        esError(
          403,
          'cluster_block_exception',
          'index [kv] blocked by: [FORBIDDEN/8/index write (api)];',
        ),
      ),
    ],
    [
      'every _bulk item answered 403',
      on('/_bulk', (req) =>
        failedBulkItems(
          req.body,
          403,
          'cluster_block_exception',
          () => 'index [kv] blocked by: [FORBIDDEN/8/index write (api)];',
        ),
      ),
    ],
  ] as const)(
    'fails with KV_BACKEND_ERROR on another 4xx, a cluster block (%s), with its type and reason',
    async (_label, intercept) => {
      await throughProxy({}, async (s, proxy) => {
        proxy.intercept = intercept
        const error = await failure(s.addValue('b', 'k', 'v'))
        expect(error.code).toBe('KV_BACKEND_ERROR')
        expect(error.message).toMatch(
          /HTTP 403 cluster_block_exception: index \[kv\] blocked by: \[FORBIDDEN\/8\/index write \(api\)\];/,
        )
      })
    },
  )

  // An `_mget` item that failed carries no status, only the exception's type: a shard that is
  // unavailable, a full queue, a tripped circuit breaker or a lost link between nodes is as
  // transient there as in a 429 or 5xx answer, and anything else is not.
  it.each([
    ['no_shard_available_action_exception', 'KV_BACKEND_UNAVAILABLE'],
    ['unavailable_shards_exception', 'KV_BACKEND_UNAVAILABLE'],
    ['es_rejected_execution_exception', 'KV_BACKEND_UNAVAILABLE'],
    ['circuit_breaking_exception', 'KV_BACKEND_UNAVAILABLE'],
    ['node_disconnected_exception', 'KV_BACKEND_UNAVAILABLE'],
    ['node_not_connected_exception', 'KV_BACKEND_UNAVAILABLE'],
    ['connect_transport_exception', 'KV_BACKEND_UNAVAILABLE'],
    ['receive_timeout_transport_exception', 'KV_BACKEND_UNAVAILABLE'],
    ['node_closed_exception', 'KV_BACKEND_UNAVAILABLE'],
    ['illegal_argument_exception', 'KV_BACKEND_ERROR'],
  ] as const)('fails a read whose _mget item failed with %s with %s', async (type, code) => {
    await throughProxy({}, async (s, proxy) => {
      await s.addValue('b', 'k', 'v')
      proxy.intercept = on('/_mget', (req) =>
        failedMgetItems(req.body, type, 'No shard available for [get [kv][k]: routing [null]]'),
      )
      for (const read of [() => s.getValue('b', 'k'), () => s.existsKey('b', 'k')]) {
        const error = await failure(read())
        expect(error.code).toBe(code)
        expect(error.message).toContain(`(${type}: No shard available`)
        // The item has no status: the message names none rather than a placeholder.
        expect(error.message).not.toMatch(/HTTP|undefined/)
      }
    })
  })

  // A user without `read` on the index: Elasticsearch authorizes `_mget` by its action name, then
  // each shard request, so it answers 200 with every item failed with a security_exception and
  // no status (elastic/elasticsearch#97451). Under infini a write reads first, so it fails so too.
  const noRead = on('/_mget', (req) =>
    failedMgetItems(
      req.body,
      'security_exception',
      'action [indices:data/read/mget[shard]] is unauthorized for user [kv] with effective roles [kv_writer] on indices [kv], this action is granted by the index privileges [read,all]',
    ),
  )
  it.each(['default', 'infini'] as const)(
    'fails a read (id_scheme: %s) whose _mget items are refused with security_exception with KV_AUTH_FAILED naming read',
    async (scheme) => {
      await throughProxy({ id_scheme: scheme }, async (s, proxy) => {
        await s.addValue('b', 'k', 'v')
        proxy.intercept = noRead
        const operations: Array<() => Promise<unknown>> = [
          () => s.getValue('b', 'k'),
          () => s.existsKey('b', 'k'),
        ]
        if (scheme === 'infini') operations.push(() => s.addValue('b', 'k', 'w'))
        for (const operation of operations) {
          const error = await failure(operation())
          expect(error.code).toBe('KV_AUTH_FAILED')
          expect(error.message).toMatch(/this needs the read index privilege/)
          expect(error.message).toMatch(/security_exception: action \[indices:data\/read\/mget/)
        }
        proxy.intercept = undefined
        expect(await s.getValue('b', 'k')).toEqual(v)
      })
    },
  )

  it('fails a write whose _bulk items are refused (403 security_exception) with KV_AUTH_FAILED naming write', async () => {
    // A user with `write` on other indices but not this one: `_bulk` is authorized by its action
    // name, then each item, which fails with 403.
    await throughProxy({}, async (s, proxy) => {
      proxy.intercept = on('/_bulk', (req) =>
        failedBulkItems(
          req.body,
          403,
          'security_exception',
          () =>
            'action [indices:data/write/bulk[s]] is unauthorized for user [kv] with effective roles [kv_reader] on indices [kv], this action is granted by the index privileges [create_doc,create,delete,index,write,all]',
        ),
      )
      const error = await failure(s.addValue('b', 'k', 'v'))
      expect(error.code).toBe('KV_AUTH_FAILED')
      expect(error.message).toMatch(/this needs the write index privilege/)
    })
  })

  // An _mget answer longer than Node's longest string, as a few large values make it: the
  // proxy announces that length. The client gives up on it on reading the header (its
  // maxResponseSize is that length), without an unhandled error ending the process.
  const tooLong = (): Answer => ({
    status: 200,
    body: { docs: [] },
    declaredLength: constants.MAX_STRING_LENGTH + 1,
  })
  const mgetSize = (body: Buffer): number =>
    (JSON.parse(body.toString('utf8')) as { docs: unknown[] }).docs.length

  it('reads an _mget whose answer would be too long for the client in halves until each fits, every caller getting its value', async () => {
    await throughProxy({}, async (s, proxy) => {
      const keys = Array.from({ length: 8 }, (_, i) => `k${i}`)
      await Promise.all(keys.map((key) => s.addValue('b', key, `v-${key}`)))
      const sizes: number[] = []
      proxy.intercept = on('/_mget', (req) => {
        sizes.push(mgetSize(req.body))
        return mgetSize(req.body) > 2 ? tooLong() : undefined
      })
      const values = await Promise.all(keys.map((key) => s.getValue('b', key)))
      expect(values).toEqual(keys.map((key) => new TextEncoder().encode(`v-${key}`)))
      // 8 → 4 + 4 → each 4 → 2 + 2; halves one after the other.
      expect(sizes).toEqual([8, 4, 2, 2, 4, 2, 2])
    })
  })

  const bulkSize = (body: Buffer): number =>
    body
      .toString('utf8')
      .split('\n')
      .filter((line) => /^\{"(index|create|delete)":/.test(line)).length
  const tooLarge = (): Answer => ({ status: 413 })

  it('sends a _bulk refused with 413 again in halves, one after the other: writes of one key keep their issue order', async () => {
    await throughProxy({}, async (s, proxy) => {
      const sizes: number[] = []
      proxy.intercept = on('/_bulk', (req) => {
        sizes.push(bulkSize(req.body))
        return bulkSize(req.body) > 1 ? tooLarge() : undefined
      })
      // One turn: one _bulk of four items, three of them writes of one key in issue order.
      await Promise.all([
        s.addValue('b', 'k', '1'),
        s.addValue('b', 'k', '2'),
        s.addValue('b', 'k', '3'),
        s.addValue('b', 'other', 'o'),
      ])
      // 4 → 2 (→ 1, 1) → 2 (→ 1, 1), each part answered before the next is sent.
      expect(sizes).toEqual([4, 2, 1, 1, 2, 1, 1])
      proxy.intercept = undefined
      expect(await s.getValue('b', 'k')).toEqual(new TextEncoder().encode('3'))
      expect(await s.getValue('b', 'other')).toEqual(new TextEncoder().encode('o'))
    })
  })

  it('reads an _mget refused with 413 in halves, every caller getting its value; a read refused alone fails as KV_BACKEND_ERROR, never as a bad value', async () => {
    await throughProxy({}, async (s, proxy) => {
      await Promise.all([s.addValue('b', 'k1', 'v1'), s.addValue('b', 'k2', 'v2')])
      const sizes: number[] = []
      proxy.intercept = on('/_mget', (req) => {
        sizes.push(mgetSize(req.body))
        return mgetSize(req.body) > 1 ? tooLarge() : undefined
      })
      const values = await Promise.all([s.getValue('b', 'k1'), s.getValue('b', 'k2')])
      expect(values).toEqual([new TextEncoder().encode('v1'), new TextEncoder().encode('v2')])
      expect(sizes).toEqual([2, 1, 1])
      proxy.intercept = on('/_mget', tooLarge)
      for (const read of [() => s.getValue('b', 'k1'), () => s.existsKey('b', 'k1')]) {
        const error = await failure(read())
        expect(error.code).toBe('KV_BACKEND_ERROR')
        expect(error).not.toHaveProperty('argument')
        expect(error.message).toMatch(
          /refused the request as too large \(HTTP 413\) while reading 1 document\(s\) from index .*: it is larger than the cluster's http\.max_content_length\. Set elastic\.max_content_length to the cluster's http\.max_content_length/,
        )
      }
      proxy.intercept = undefined
      expect(await s.getValue('b', 'k1')).toEqual(new TextEncoder().encode('v1'))
    })
  })

  it.each([
    ['_bulk', 'no items', { errors: false, took: 1 }],
    ['_bulk', 'items not an array', { errors: false, took: 1, items: {} }],
    ['_bulk', 'an item that is null', { errors: false, took: 1, items: [null] }],
    ['_bulk', 'an item without a result', { errors: false, took: 1, items: [{}] }],
    ['_mget', 'no docs', {}],
    ['_mget', 'docs not an array', { docs: null }],
    ['_mget', 'a doc that is null', { docs: [null] }],
    ['_mget', 'a doc that is a number', { docs: [1] }],
  ] as const)(
    "fails an operation whose %s is answered 200 with %s (a proxy's answer) with KV_BACKEND_ERROR counting no results, not a TypeError",
    async (endpoint, _label, body) => {
      await throughProxy({}, async (s, proxy) => {
        await s.addValue('b', 'k', 'v')
        proxy.intercept = on(`/${endpoint}`, () => ({ status: 200, body }))
        const operation = endpoint === '_bulk' ? s.addValue('b', 'k', 'w') : s.getValue('b', 'k')
        const error = await failure(operation)
        expect(error.code).toBe('KV_BACKEND_ERROR')
        expect(error.message).toMatch(
          /answered a request of 1 operation\(s\) with 0 result\(s\); none of them can be told apart/,
        )
        proxy.intercept = undefined
        expect(await s.getValue('b', 'k')).toEqual(v)
      })
    },
  )

  it('fails the items not yet sent with an error saying they were not sent (the cause: the error of a part that failed otherwise), and keeps the answers of the parts before it', async () => {
    await throughProxy({ request_timeout_ms: 1000, max_retries: 0 }, async (s, proxy) => {
      const sizes: number[] = []
      let singles = 0
      proxy.intercept = on('/_bulk', (req) => {
        const size = bulkSize(req.body)
        sizes.push(size)
        if (size > 1) return tooLarge()
        // The second part (key c) meets a cluster in trouble.
        return ++singles === 2
          ? esError(503, 'unavailable_shards_exception', 'primary shard is not active')
          : undefined
      })
      const outcomes = await Promise.allSettled(
        ['a', 'c', 'e'].map((key) => s.addValue('b', key, 'v')),
      )
      // 3 → 2 (→ a: applied; c: 503) → e: not sent, failed with c's error.
      expect(sizes).toEqual([3, 2, 1, 1])
      expect(outcomes.map((outcome) => outcome.status)).toEqual([
        'fulfilled',
        'rejected',
        'rejected',
      ])
      const [, sent, unsent] = outcomes as PromiseRejectedResult[]
      expect(sent!.reason).toMatchObject({ code: 'KV_BACKEND_UNAVAILABLE' })
      expect(sent!.reason.message).not.toMatch(/not sent/)
      // e was never sent: its error says so (an error without an answer means "may have been
      // applied" for what was sent), with c's as cause.
      expect(unsent!.reason).toMatchObject({
        code: 'KV_BACKEND_UNAVAILABLE',
        message: expect.stringMatching(/was not sent, so nothing of it was applied/),
        cause: sent!.reason,
      })
    })
  })

  it('fails the read of one document whose answer is too long with KV_BACKEND_ERROR saying so; the store keeps working', async () => {
    await throughProxy({}, async (s, proxy) => {
      await s.addValue('b', 'k', 'v')
      proxy.intercept = on('/_mget', tooLong)
      const error = await failure(s.getValue('b', 'k'))
      expect(error.code).toBe('KV_BACKEND_ERROR')
      expect(error.message).toMatch(
        /answered with more than this client can hold while reading 1 document\(s\) from index .*\(The content length \(\d+\) is bigger than the maximum allowed string \(\d+\)\)/,
      )
      expect(error.message).not.toMatch(/did not answer/)
      proxy.intercept = undefined
      expect(await s.getValue('b', 'k')).toEqual(v)
    })
  })

  it('still recognises an over-long answer when the endpoint password is digits of its byte counts, and hides the password', async () => {
    // The transport says "The content length (536870889) is bigger than the maximum allowed
    // string (536870888)": a password made of the first six digits of Node's longest string
    // occurs in both counts, and scrubbing it out of the message leaves no count to recognise.
    const secret = String(constants.MAX_STRING_LENGTH).slice(0, 6)
    const secured = await startStandin({ auth: { users: { kv: { password: secret } } } })
    const proxy = await startProxy(secured.url)
    const url = new URL(proxy.url)
    url.username = 'kv'
    url.password = secret
    const s = store({ endpoint: url.toString() })
    try {
      await s.open()
      await Promise.all([s.addValue('b', 'k1', 'v1'), s.addValue('b', 'k2', 'v2')])
      proxy.intercept = on('/_mget', (req) => (mgetSize(req.body) > 1 ? tooLong() : undefined))
      // Two reads coalesced into one _mget: too long, so read again one document at a time.
      const values = await Promise.all([s.getValue('b', 'k1'), s.getValue('b', 'k2')])
      expect(values).toEqual([new TextEncoder().encode('v1'), new TextEncoder().encode('v2')])
      proxy.intercept = on('/_mget', tooLong)
      const error = await failure(s.getValue('b', 'k1'))
      expect(error.code).toBe('KV_BACKEND_ERROR')
      expect(error.message).toMatch(/answered with more than this client can hold/)
      expect(printed(error)).not.toContain(secret)
    } finally {
      proxy.intercept = undefined
      await s.close()
      await proxy.close()
      await secured.close()
    }
  })

  it('fails a write under id_scheme: infini with KV_BACKEND_UNAVAILABLE after 8 version conflicts in a row, saying to retry; it succeeds once they stop', async () => {
    // Every conditional write is answered 409 while the document stays absent, as when writes
    // and deletes of the id keep racing it: each attempt reads (absent), creates (409) and tries
    // again with a fresh read.
    await throughProxy({ id_scheme: 'infini' }, async (s, proxy) => {
      proxy.intercept = on('/_bulk', (req) =>
        failedBulkItems(
          req.body,
          409,
          'version_conflict_engine_exception',
          (id) => `[${id}]: version conflict, document already exists (current version [1])`,
        ),
      )
      standin.resetCounts()
      const error = await failure(s.addValue('b', 'k', 'v'))
      expect(error.code).toBe('KV_BACKEND_UNAVAILABLE')
      expect(error.message).toMatch(
        /^Writing document [0-9a-f]{32} in index \S+ gave up after 8 version conflicts with concurrent writers of this key; retry the call\./,
      )
      expect(error.message).toMatch(
        /HTTP 409 version_conflict_engine_exception: \[[0-9a-f]{32}\]: version conflict/,
      )
      expect(proxy.answered).toEqual(Array(8).fill('POST /_bulk'))
      expect(standin.counts()).toEqual({ total: 8, byEndpoint: { mget: 8 } })
      proxy.intercept = undefined
      await s.addValue('b', 'k', 'v')
      expect(await s.getValue('b', 'k')).toEqual(v)
    })
  })

  it('fails a delete under id_scheme: infini with KV_BACKEND_UNAVAILABLE after 8 version conflicts in a row, saying to retry, the value kept', async () => {
    // The document keeps changing between each read and its conditional delete: the delete is
    // not applied, so it must not resolve as if it were.
    await throughProxy({ id_scheme: 'infini' }, async (s, proxy) => {
      await s.addValue('b', 'k', 'v')
      proxy.intercept = on('/_bulk', (req) =>
        failedBulkItems(
          req.body,
          409,
          'version_conflict_engine_exception',
          (id) => `[${id}]: version conflict, required seqNo [0], primary term [1]`,
        ),
      )
      const error = await failure(s.deleteKey('b', 'k'))
      expect(error.code).toBe('KV_BACKEND_UNAVAILABLE')
      expect(error.message).toMatch(
        /^Deleting document [0-9a-f]{32} in index \S+ gave up after 8 version conflicts with concurrent writers of this key; retry the call\./,
      )
      expect(error.message).toMatch(/HTTP 409 version_conflict_engine_exception/)
      expect(proxy.answered).toEqual(Array(8).fill('POST /_bulk'))
      expect(await s.getValue('b', 'k')).toEqual(v)
      proxy.intercept = undefined
      await s.deleteKey('b', 'k')
      expect(await s.getValue('b', 'k')).toBeNull()
    })
  })

  // A failed delete-by-query answers with its own body, not an `error` envelope: the message
  // must come from its failures (a delete's `cause`, a shard search's `reason`) or its timeout.
  it.each([
    [
      'timed out (408)',
      failedByQuery(408, { timedOut: true, deleted: 1000, total: 5000 }),
      /\(HTTP 408: timed out\)/,
    ],
    [
      'a delete rejected (429)',
      failedByQuery(429, {
        deleted: 1000,
        total: 5000,
        failures: [
          {
            index: 'kv',
            id: 'x',
            cause: {
              type: 'es_rejected_execution_exception',
              reason: 'rejected execution of coordinating operation',
            },
            status: 429,
          },
        ],
      }),
      /\(HTTP 429 es_rejected_execution_exception: rejected execution of coordinating operation\)/,
    ],
    [
      'a shard search failed (503)',
      failedByQuery(503, {
        deleted: 1000,
        total: 5000,
        failures: [
          {
            shard: 0,
            index: 'kv',
            node: 'n1',
            reason: {
              type: 'no_shard_available_action_exception',
              reason: 'No shard available for [kv][0]',
            },
            status: 503,
          },
        ],
      }),
      /\(HTTP 503 no_shard_available_action_exception: No shard available for \[kv\]\[0\]\)/,
    ],
  ] as const)(
    'fails deleteBucket() whose delete-by-query %s with KV_BACKEND_UNAVAILABLE, its reason, how much it deleted, and to call again',
    async (_label, answer, reason) => {
      await throughProxy({}, async (s, proxy) => {
        await s.addValue('b', 'k', 'v')
        proxy.intercept = on('/_delete_by_query', () => answer)
        const error = await failure(s.deleteBucket('b'))
        expect(error.code).toBe('KV_BACKEND_UNAVAILABLE')
        expect(error.message).toMatch(reason)
        expect(error.message).toMatch(
          /; it deleted 1000 of 5000 documents: the bucket may be partly deleted; call deleteBucket again\.$/,
        )
        proxy.intercept = undefined
        await s.deleteBucket('b')
        expect(await s.getValue('b', 'k')).toBeNull()
      })
    },
  )
})

describe('damaged documents', () => {
  it.each([
    ['content that is not base64url', { content: 'not base64url!' }],
    ['no content', {}],
  ] as const)(
    'fails a read of a document with %s with KV_CORRUPT_STORE',
    async (_label, content) => {
      const index = freshIndexName('corrupt')
      const s = store({ endpoint: standin.url, index_name: index })
      await s.open()
      const admin = adminClient({ endpoint: standin.url })
      try {
        await s.addValue('b', 'k', 'v')
        // Find the entry's document and replace its content with a plain client.
        await admin.indices.refresh({ index })
        const found = await admin.search<Record<string, string>>({
          index,
          query: { term: { bucket: 'b' } },
        })
        const [hit] = found.hits.hits
        const { content: _, ...owner } = hit!._source!
        await admin.index({ index, id: hit!._id!, document: { ...owner, ...content } })
        const error = await failure(s.getValue('b', 'k'))
        expect(error.code).toBe('KV_CORRUPT_STORE')
        expect(error.message).toContain(
          `Document ${hit!._id} of index ${index} has no valid "content"`,
        )
      } finally {
        await admin.close()
        await s.close()
      }
    },
  )
})

describe('TLS', () => {
  let secure: Standin
  beforeAll(async () => {
    secure = await startStandin({ tls: await testTls() })
  })
  afterAll(async () => {
    await secure.close()
  })

  it('connects with ca_file', async () => {
    const s = store({ endpoint: secure.url, ca_file: TEST_TLS_FILES.cert })
    await s.open()
    await s.addValue('b', 'k', 'v')
    await s.close()
  })

  it('refuses an untrusted certificate unless tls_verify is false', async () => {
    const error = await failure(store({ endpoint: secure.url, request_timeout_ms: 3000 }).open())
    expect(error.code).toBe('KV_BACKEND_UNAVAILABLE')
    const s = store({ endpoint: secure.url, tls_verify: false })
    await s.open()
    await s.close()
  })

  it('names an unreadable ca_file', async () => {
    const error = await failure(store({ endpoint: secure.url, ca_file: '/no/such/ca.pem' }).open())
    expect(error.code).toBe('KV_INVALID_CONFIG')
    expect(error.message).toContain('/no/such/ca.pem')
  })
})
