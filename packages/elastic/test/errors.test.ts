/**
 * Failures map to typed errors: an unreachable or silent cluster → KV_BACKEND_UNAVAILABLE within
 * request_timeout_ms; refused credentials or privileges → KV_AUTH_FAILED; a value whose request
 * would exceed http.max_content_length → KV_INVALID_ARGUMENT before anything is sent; an index
 * with an incompatible mapping → KV_INVALID_CONFIG. Secrets never appear in errors.
 */
import { createServer, type Server } from 'node:net'
import { inspect } from 'node:util'
import { isKVError, type KVError } from '@kv/core'
import { type Standin, startStandin, TEST_TLS_FILES, testTls } from '@kv/es-standin'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ElasticKV, type ElasticKVOptions, maxValueBytesFor } from '../src/index.js'
import { adminClient, freshIndexName } from './targets.js'

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
})

describe('values over the request size limit', () => {
  it('derives the value limit from max_content_length after base64 and the envelope', () => {
    expect(maxValueBytesFor(100 * 1024 * 1024)).toBe(78_446_592)
    expect(new ElasticKV({ max_content_length: '100mb' }).limits.maxValueBytes).toBe(78_446_592)
    expect(new ElasticKV({ max_content_length: '10mb' }).limits.maxValueBytes).toBe(
      maxValueBytesFor(10 * 1024 * 1024),
    )
  })

  it('rejects a value over the limit with KV_INVALID_ARGUMENT before sending anything', async () => {
    const small = await startStandin({ maxContentLength: 1024 * 1024 })
    const s = store({ endpoint: small.url, max_content_length: '1mb' })
    await s.open()
    try {
      const limit = s.limits.maxValueBytes
      expect(limit).toBe(maxValueBytesFor(1024 * 1024))
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

  it('reports a 413 from a cluster with a smaller limit than configured as KV_INVALID_ARGUMENT', async () => {
    const small = await startStandin({ maxContentLength: 64 * 1024 })
    const s = store({ endpoint: small.url, max_content_length: '1mb' })
    await s.open()
    try {
      const error = await failure(s.addValue('b', 'k', new Uint8Array(200 * 1024)))
      expect(error.code).toBe('KV_INVALID_ARGUMENT')
      expect(error.message).toMatch(/max_content_length/)
    } finally {
      await s.close()
      await small.close()
    }
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
    const proxy = await existsLiesProxy(standin.url)
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

  it('refuses an index whose mapping is incompatible, naming the field', async () => {
    const index = freshIndexName('incompatible')
    const admin = adminClient({ endpoint: standin.url })
    await admin.indices.create({ index, mappings: { properties: { bucket: { type: 'text' } } } })
    await admin.close()
    const error = await failure(store({ endpoint: standin.url, index_name: index }).open())
    expect(error.code).toBe('KV_INVALID_CONFIG')
    expect(error.message).toContain('field [bucket] is mapped as [text], expected [keyword]')
  })

  it('refuses an invalid index name as a configuration error', async () => {
    const error = await failure(store({ endpoint: standin.url, index_name: 'Upper_Case' }).open())
    expect(error.code).toBe('KV_INVALID_CONFIG')
    expect(error.message).toMatch(/index_name/)
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

  it('refuses a 7.x cluster with KV_NOT_SUPPORTED', async () => {
    const seven = await startStandin({ version: '7.17.0' })
    const error = await failure(store({ endpoint: seven.url }).open())
    expect(error.code).toBe('KV_NOT_SUPPORTED')
    await seven.close()
  })
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

/** A proxy to `target` that answers every `HEAD /{index}` with 404. */
async function existsLiesProxy(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const { createServer: createHttp, request } = await import('node:http')
  const server = createHttp((req, res) => {
    if (req.method === 'HEAD' && /^\/[^/_][^/]*$/.test(req.url ?? '')) {
      res.writeHead(404, { 'X-elastic-product': 'Elasticsearch', 'content-length': 0 }).end()
      return
    }
    const upstream = request(
      new URL(req.url ?? '/', target),
      { method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as import('node:net').AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
