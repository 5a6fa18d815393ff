/**
 * The exchanges of the protocol notes, checked at the HTTP level (raw fetch, to see headers and
 * status codes) and through the official client: product header, media types, realtime GET
 * versus near-real-time search, refresh policies, bulk item results, delete-by-query, search_after
 * on keyword fields, error envelopes, the content-length limit, counters, stop/start and security.
 */
import { Client, errors } from '@elastic/elasticsearch'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../src/index.js'

let standin: Standin
let client: Client

beforeAll(async () => {
  standin = await startStandin({ maxContentLength: 64 * 1024 })
  client = new Client({ node: standin.url, maxRetries: 0 })
})
afterAll(async () => {
  await client.close()
  await standin.close()
})

const JSON_8 = 'application/vnd.elasticsearch+json; compatible-with=8'

async function http(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${standin.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body }),
  })
  const text = await response.text()
  return {
    status: response.status,
    headers: response.headers,
    text,
    // biome-ignore lint/suspicious/noExplicitAny: assertions read untyped JSON bodies.
    json: text ? (JSON.parse(text) as Record<string, any>) : undefined,
  }
}

const responseError = async (promise: Promise<unknown>): Promise<errors.ResponseError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(errors.ResponseError)
  return error as errors.ResponseError
}

describe('headers and media types', () => {
  it('sends X-elastic-product on successes, errors and HEAD answers', async () => {
    for (const [method, path] of [
      ['GET', '/'],
      ['HEAD', '/'],
      ['GET', '/missing/_doc/1'],
      ['HEAD', '/missing'],
      ['GET', '/_no_such_api'],
      ['PUT', '/_bulk'],
    ] as const) {
      const response = await http(method, path)
      expect(
        response.headers.get('x-elastic-product'),
        `${method} ${path} (${response.status})`,
      ).toBe('Elasticsearch')
    }
  })

  it('answers a compatible-with request with the vendored type and a plain one with application/json', async () => {
    const vendored = await http('GET', '/', undefined, { accept: `${JSON_8},text/plain` })
    expect(vendored.headers.get('content-type')).toBe(
      'application/vnd.elasticsearch+json;compatible-with=8',
    )
    const plain = await http('GET', '/')
    expect(plain.headers.get('content-type')).toBe('application/json')
  })

  it('refuses compatible-with outside the current and previous major, and mismatched versions', async () => {
    const nine = await http('GET', '/', undefined, {
      accept: 'application/vnd.elasticsearch+json; compatible-with=9',
    })
    expect(nine.status).toBe(400)
    expect(nine.json?.error.type).toBe('media_type_header_exception')
    expect(nine.json?.error.caused_by.reason).toMatch(
      /Accept version must be either version 8 or 7, but found 9/,
    )
    const mismatch = await http('PUT', '/mt/_doc/1', '{}', {
      accept: JSON_8,
      'content-type': 'application/vnd.elasticsearch+json; compatible-with=7',
    })
    expect(mismatch.status).toBe(400)
    expect(mismatch.json?.error.type).toBe('media_type_header_exception')
  })

  it('as a 9.x server, accepts compatible-with 8 and 9 and refuses 7', async () => {
    const nine = await startStandin({ version: '9.1.0' })
    try {
      for (const [version, status] of [
        [8, 200],
        [9, 200],
        [7, 400],
      ] as const) {
        const response = await fetch(`${nine.url}/`, {
          headers: { accept: `application/vnd.elasticsearch+json; compatible-with=${version}` },
        })
        expect(response.status, `compatible-with=${version}`).toBe(status)
      }
    } finally {
      await nine.close()
    }
  })

  it('refuses an unrecognized query parameter as Elasticsearch does', async () => {
    const response = await http('GET', '/?nonsense=1')
    expect(response.status).toBe(400)
    expect(response.json?.error.reason).toBe(
      'request [/] contains unrecognized parameter: [nonsense]',
    )
  })
})

describe('realtime reads and near-real-time search', () => {
  it('GET, HEAD and mget see a write at once; search only after a refresh', async () => {
    const index = 'nrt'
    await client.indices.create({ index, settings: { refresh_interval: '-1' } })
    const written = await client.index({ index, id: '1', document: { f: 'v' } })
    expect(written.result).toBe('created')
    expect(written.forced_refresh).toBeUndefined()
    expect((await client.get({ index, id: '1' }))._source).toEqual({ f: 'v' })
    expect(await client.exists({ index, id: '1' })).toBe(true)
    expect((await client.mget({ index, ids: ['1'] })).docs[0]).toMatchObject({ found: true })
    expect((await client.count({ index })).count).toBe(0)
    expect((await client.search({ index })).hits.hits).toEqual([])
    expect(await client.get({ index, id: '1', realtime: false }, { ignore: [404] })).toMatchObject({
      found: false,
    })
    const refreshed = await client.indices.refresh({ index })
    expect(refreshed._shards?.successful).toBe(1)
    expect((await client.count({ index })).count).toBe(1)
  })

  it('refresh=true forces a refresh and says so; wait_for returns once searchable', async () => {
    const index = 'refresh-policies'
    await client.indices.create({ index, settings: { refresh_interval: '50ms' } })
    const forced = await client.index({ index, id: '1', document: { f: 1 }, refresh: true })
    expect(forced.forced_refresh).toBe(true)
    expect((await client.count({ index })).count).toBe(1)
    const waited = await client.index({ index, id: '2', document: { f: 2 }, refresh: 'wait_for' })
    expect(waited.forced_refresh).toBeUndefined()
    expect((await client.count({ index })).count).toBe(2)
  })

  it('refreshes periodically', async () => {
    const fast = await startStandin({ refreshIntervalMs: 20 })
    const fastClient = new Client({ node: fast.url, maxRetries: 0 })
    try {
      await fastClient.index({ index: 'periodic', id: '1', document: { f: 1 } })
      let count = 0
      for (let i = 0; i < 200 && count === 0; i++) {
        count = (await fastClient.count({ index: 'periodic' })).count
        if (count === 0) await new Promise((resolve) => setTimeout(resolve, 10))
      }
      expect(count).toBe(1)
    } finally {
      await fastClient.close()
      await fast.close()
    }
  })
})

describe('documents', () => {
  it('answers index, get and delete with the documented skeletons and status codes', async () => {
    const index = 'docs'
    const created = await client.index({ index, id: 'a', document: { n: 1 } }, { meta: true })
    expect(created.statusCode).toBe(201)
    expect(Object.keys(created.body)).toEqual([
      '_index',
      '_id',
      '_version',
      'result',
      '_shards',
      '_seq_no',
      '_primary_term',
    ])
    const updated = await client.index({ index, id: 'a', document: { n: 2 } }, { meta: true })
    expect(updated.statusCode).toBe(200)
    expect(updated.body).toMatchObject({ result: 'updated', _version: 2 })
    const missing = await http('GET', '/docs/_doc/nope')
    expect(missing.status).toBe(404)
    expect(missing.json).toEqual({ _index: 'docs', _id: 'nope', found: false })
    const deleted = await http('DELETE', '/docs/_doc/nope')
    expect(deleted.status).toBe(404)
    expect(deleted.json?.result).toBe('not_found')
    const conflict = await responseError(
      client.index({ index, id: 'a', document: {}, op_type: 'create' }),
    )
    expect(conflict.statusCode).toBe(409)
    expect(conflict.body).toMatchObject({ error: { type: 'version_conflict_engine_exception' } })
  })

  it('applies if_seq_no / if_primary_term', async () => {
    const index = 'cas'
    const first = await client.index({ index, id: '1', document: { v: 1 } })
    await client.index({
      index,
      id: '1',
      document: { v: 2 },
      if_seq_no: first._seq_no,
      if_primary_term: first._primary_term,
    })
    const stale = await responseError(
      client.index({
        index,
        id: '1',
        document: { v: 3 },
        if_seq_no: first._seq_no,
        if_primary_term: first._primary_term,
      }),
    )
    expect(stale.statusCode).toBe(409)
  })

  it('refuses an id over 512 bytes', async () => {
    const error = await responseError(
      client.index({ index: 'ids', id: 'x'.repeat(513), document: {} }),
    )
    expect(error.statusCode).toBe(400)
    expect(error.message).toMatch(/is too long, must be no longer than 512 bytes but was: 513/)
  })

  it('refuses a keyword term over 32766 bytes, as Lucene does', async () => {
    await client.indices.create({
      index: 'terms',
      mappings: { properties: { k: { type: 'keyword' } } },
    })
    const error = await responseError(
      client.index({ index: 'terms', id: '1', document: { k: 'x'.repeat(32_767) } }),
    )
    expect(error.body).toMatchObject({
      error: {
        type: 'illegal_argument_exception',
        caused_by: { type: 'max_bytes_length_exceeded_exception' },
      },
    })
    await client.index({ index: 'terms', id: '2', document: { k: 'x'.repeat(32_766) } })
  })
})

describe('error envelopes', () => {
  it('answers a missing index with index_not_found_exception', async () => {
    const response = await http('GET', '/absent/_doc/1')
    expect(response.status).toBe(404)
    expect(response.json).toMatchObject({
      error: {
        root_cause: [{ type: 'index_not_found_exception', reason: 'no such index [absent]' }],
        type: 'index_not_found_exception',
        reason: 'no such index [absent]',
        'resource.type': 'index_or_alias',
        'resource.id': 'absent',
        index_uuid: '_na_',
        index: 'absent',
      },
      status: 404,
    })
    const mget = await client.mget({ docs: [{ _index: 'absent', _id: '1' }] })
    expect(mget.docs[0]).toMatchObject({
      _index: 'absent',
      _id: '1',
      error: { type: 'index_not_found_exception' },
    })
  })

  it('answers creating an existing index with resource_already_exists_exception', async () => {
    await client.indices.create({ index: 'twice' })
    const error = await responseError(client.indices.create({ index: 'twice' }))
    expect(error.statusCode).toBe(400)
    expect(error.body).toMatchObject({
      error: {
        type: 'resource_already_exists_exception',
        index: 'twice',
        reason: expect.stringMatching(/^index \[twice\/.+\] already exists$/),
      },
    })
  })
})

describe('bulk', () => {
  it('answers each item on its own; a delete of a missing document is not an error', async () => {
    const response = await client.bulk({
      operations: [
        { index: { _index: 'bulk', _id: '1' } },
        { f: 1 },
        { index: { _index: 'bulk', _id: '1' } },
        { f: 2 },
        { delete: { _index: 'bulk', _id: 'missing' } },
        { create: { _index: 'bulk', _id: '1' } },
        { f: 3 },
        { index: { _index: 'bulk', _id: '' } },
        { f: 4 },
      ],
    })
    expect(response.errors).toBe(true)
    const items = response.items.map((item) => Object.values(item)[0]!)
    expect(items.map((item) => item.status)).toEqual([201, 200, 404, 409, 400])
    expect(items.map((item) => item.result ?? item.error?.type)).toEqual([
      'created',
      'updated',
      'not_found',
      'version_conflict_engine_exception',
      'illegal_argument_exception',
    ])
    const clean = await client.bulk({
      operations: [{ delete: { _index: 'bulk', _id: 'missing' } }],
    })
    expect(clean.errors).toBe(false)
  })

  it('refuses a malformed body as a whole', async () => {
    const unterminated = await http('POST', '/_bulk', '{"index":{"_index":"b"}}\n{"f":1}', {
      'content-type': 'application/x-ndjson',
    })
    expect(unterminated.status).toBe(400)
    const emptyAction = await http('POST', '/_bulk', '{}\n', {
      'content-type': 'application/x-ndjson',
    })
    expect(emptyAction.status).toBe(400)
    expect(emptyAction.json?.error.reason).toMatch(/expected FIELD_NAME but found \[END_OBJECT\]/)
  })

  it('refuses the whole request when an item fails validation, naming every failure, and applies nothing', async () => {
    const error = await responseError(
      client.bulk({
        operations: [
          { index: { _index: 'validated', _id: 'fine' } },
          { f: 1 },
          { index: { _index: 'validated', _id: 'x'.repeat(513) } },
          { f: 2 },
          { index: { _index: 'validated', _id: 'a', if_seq_no: 0 } },
          { f: 3 },
          { delete: { _index: 'validated', _id: 'b', if_primary_term: 1 } },
          { create: { _index: 'validated', _id: 'c', if_seq_no: 0, if_primary_term: 1 } },
          { f: 4 },
        ],
      }),
    )
    expect(error.statusCode).toBe(400)
    const reason = (error.body as { error: { type: string; reason: string } }).error
    expect(reason.type).toBe('action_request_validation_exception')
    expect(reason.reason).toContain('is too long, must be no longer than 512 bytes but was: 513')
    expect(reason.reason).toContain('ifSeqNo is set, but primary term is [0]')
    expect(reason.reason).toContain('ifSeqNo is unassigned, but primary term is [1]')
    expect(reason.reason).toContain('create operations do not support compare and set')
    expect(await client.indices.exists({ index: 'validated' })).toBe(false)
  })

  it('refuses the whole request when if_seq_no comes with the unassigned if_primary_term 0, or the unassigned if_seq_no -2 with a primary term, and applies nothing', async () => {
    const error = await responseError(
      client.bulk({
        operations: [
          { index: { _index: 'unassigned', _id: 'fine' } },
          { f: 1 },
          { index: { _index: 'unassigned', _id: 'a', if_seq_no: 0, if_primary_term: 0 } },
          { f: 2 },
          { delete: { _index: 'unassigned', _id: 'b', if_seq_no: -2, if_primary_term: 1 } },
        ],
      }),
    )
    expect(error.statusCode).toBe(400)
    expect(error.body).toMatchObject({
      error: {
        type: 'action_request_validation_exception',
        reason:
          'Validation Failed: 1: ifSeqNo is set, but primary term is [0];2: ifSeqNo is unassigned, but primary term is [1];',
      },
    })
    expect(await client.indices.exists({ index: 'unassigned' })).toBe(false)
  })

  it.each([
    [{ if_seq_no: -1, if_primary_term: 1 }, 'sequence numbers must be non negative. got [-1].'],
    [{ if_seq_no: -3, if_primary_term: -1 }, 'sequence numbers must be non negative. got [-3].'],
    [{ if_seq_no: 0, if_primary_term: -1 }, 'primary term must be non negative. got [-1]'],
    [{ if_seq_no: -2, if_primary_term: -5 }, 'primary term must be non negative. got [-5]'],
  ])(
    'refuses the whole request with illegal_argument_exception for %o, as Elasticsearch does while parsing it, and applies nothing',
    async (conditions, reason) => {
      const index = 'negative-cas'
      for (const item of [
        [{ index: { _index: index, _id: 'a', ...conditions } }, { f: 2 }],
        [{ delete: { _index: index, _id: 'b', ...conditions } }],
      ]) {
        const error = await responseError(
          client.bulk({
            operations: [{ index: { _index: index, _id: 'fine' } }, { f: 1 }, ...item],
          }),
        )
        expect(error.statusCode).toBe(400)
        expect(error.body).toMatchObject({ error: { type: 'illegal_argument_exception', reason } })
        expect(await client.indices.exists({ index })).toBe(false)
      }
    },
  )

  it('takes if_seq_no -2 and if_primary_term 0 alone as unassigned, as if not given', async () => {
    const response = await client.bulk({
      operations: [
        { index: { _index: 'unassigned-alone', _id: 'a', if_seq_no: -2 } },
        { f: 1 },
        { create: { _index: 'unassigned-alone', _id: 'b', if_primary_term: 0 } },
        { f: 2 },
      ],
    })
    expect(response.errors).toBe(false)
    expect(response.items.map((item) => Object.values(item)[0]!.status)).toEqual([201, 201])
  })

  it('marks items forced_refresh with refresh=true', async () => {
    const response = await client.bulk({
      refresh: true,
      operations: [{ index: { _index: 'bulk-r', _id: '1' } }, { f: 1 }],
    })
    expect(Object.values(response.items[0]!)[0]!.forced_refresh).toBe(true)
  })
})

describe('delete by query', () => {
  it('deletes only refreshed documents and reports version conflicts', async () => {
    const index = 'dbq'
    await client.indices.create({
      index,
      settings: { refresh_interval: '-1' },
      mappings: { properties: { b: { type: 'keyword' } } },
    })
    await client.bulk({
      refresh: true,
      operations: [1, 2, 3].flatMap((i) => [
        { index: { _index: index, _id: String(i) } },
        { b: 'x' },
      ]),
    })
    await client.index({ index, id: '4', document: { b: 'x' } }) // not refreshed: invisible
    await client.index({ index, id: '3', document: { b: 'x', changed: true } }) // changed since the refresh
    const conflict = await responseError(
      client.deleteByQuery({ index, query: { term: { b: 'x' } } }),
    )
    expect(conflict.statusCode).toBe(409)
    expect(conflict.body).toMatchObject({
      version_conflicts: 1,
      failures: [{ id: '3', status: 409 }],
    })
    await client.index({ index, id: '1', document: { b: 'x' } })
    await client.indices.refresh({ index })
    await client.index({ index, id: '5', document: { b: 'x' } }) // not refreshed again
    await client.index({ index, id: '4', document: { b: 'x', again: true } })
    const proceeded = await client.deleteByQuery({
      index,
      query: { term: { b: 'x' } },
      conflicts: 'proceed',
      refresh: true,
    })
    expect(proceeded).toMatchObject({ total: 3, deleted: 2, version_conflicts: 1, failures: [] })
    expect(await client.exists({ index, id: '4' })).toBe(true)
    expect(await client.exists({ index, id: '5' })).toBe(true)
  })
})

describe('search', () => {
  it('sorts keyword fields in UTF-8 byte order and pages with search_after', async () => {
    const index = 'sorting'
    await client.indices.create({
      index,
      mappings: { properties: { k: { type: 'keyword' }, t: { type: 'text' } } },
    })
    const values = ['b', 'a', '\uffff', '😀', 'é', 'A', '']
    await client.bulk({
      refresh: true,
      operations: values.flatMap((k, i) => [
        { index: { _index: index, _id: String(i) } },
        { k, t: k },
      ]),
    })
    const expected = [...values].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
    const seen: string[] = []
    let after: unknown[] | undefined
    for (;;) {
      const page = await client.search({
        index,
        sort: [{ k: 'asc' }],
        size: 3,
        ...(after ? { search_after: after as string[] } : {}),
      })
      if (page.hits.hits.length === 0) break
      for (const hit of page.hits.hits) seen.push(hit.sort![0] as string)
      after = page.hits.hits.at(-1)!.sort
    }
    expect(seen).toEqual(expected)
    const text = await responseError(client.search({ index, sort: [{ t: 'asc' }] }))
    expect(text.body).toMatchObject({
      error: {
        type: 'search_phase_execution_exception',
        root_cause: [{ type: 'illegal_argument_exception' }],
      },
    })
    const id = await responseError(client.search({ index, sort: [{ _id: 'asc' }] }))
    expect(JSON.stringify(id.body)).toContain('Fielddata access on the _id field is disallowed')
    const window = await responseError(client.search({ index, from: 9_999, size: 2 }))
    expect(JSON.stringify(window.body)).toContain(
      'Result window is too large, from + size must be less than or equal to: [10000] but was [10001]',
    )
  })

  it('pages a composite aggregation with after', async () => {
    const index = 'composite'
    await client.indices.create({ index, mappings: { properties: { b: { type: 'keyword' } } } })
    await client.bulk({
      refresh: true,
      operations: ['x', 'y', 'x', 'z'].flatMap((b) => [{ index: { _index: index } }, { b }]),
    })
    const page = await client.search({
      index,
      size: 0,
      aggs: { names: { composite: { size: 2, sources: [{ b: { terms: { field: 'b' } } }] } } },
    })
    expect(page.aggregations?.names).toEqual({
      after_key: { b: 'y' },
      buckets: [
        { key: { b: 'x' }, doc_count: 2 },
        { key: { b: 'y' }, doc_count: 1 },
      ],
    })
    const next = await client.search({
      index,
      size: 0,
      aggs: {
        names: {
          composite: { size: 2, after: { b: 'y' }, sources: [{ b: { terms: { field: 'b' } } }] },
        },
      },
    })
    expect(next.aggregations?.names).toEqual({
      after_key: { b: 'z' },
      buckets: [{ key: { b: 'z' }, doc_count: 1 }],
    })
  })
})

/**
 * The exchanges `@kv/elastic` builds its listings and reads on (packages/elastic/src/elastic-kv.ts,
 * operations.ts), on an index mapped as the backend maps it. Expected values come from
 * Elasticsearch's reference documentation, cited per test, not from the stand-in.
 */
describe('exchanges the elastic backend relies on', () => {
  /** id → [bucket, key, key2]: key2 is "" unless the key is longer, as the backend writes it. */
  const DOCS: Record<string, [string, string, string]> = {
    '1': ['b1', 'ab', ''],
    '2': ['b1', 'ab', '00'],
    '3': ['b1', 'a', ''],
    '4': ['b2', 'abc', ''],
    '5': ['b1', 'b', ''],
    '6': ['b1', 'AB', ''],
    '7': ['b1', 'abff', ''],
  }

  /** A fresh index with the backend's mapping holding DOCS, refreshed. */
  async function seeded(index: string): Promise<void> {
    await client.indices.create({
      index,
      mappings: {
        properties: {
          content: { type: 'binary', doc_values: false },
          bucket: { type: 'keyword' },
          key: { type: 'keyword' },
          key2: { type: 'keyword' },
        },
      },
    })
    await client.bulk({
      refresh: true,
      operations: Object.entries(DOCS).flatMap(([id, [bucket, key, key2]]) => [
        { index: { _index: index, _id: id } },
        { content: 'aGk=', bucket, key, key2 },
      ]),
    })
  }

  const ids = (hits: Array<{ _id?: string | null }>): string[] =>
    hits.map((hit) => hit._id ?? '').sort()

  // Response filtering (reference: "Common options" → "Response Filtering"): filter_path keeps
  // only the dotted paths listed, through arrays; nothing else of the response remains. When no
  // path matches (no hits), Elasticsearch answers `{}` (curl output quoted in
  // elastic/elasticsearch-dsl-py#1605: `_search?filter_path=hits.hits._id` on no match → `{}`).
  it('filter_path=hits.hits.sort keeps only the sort values, and is {} without hits', async () => {
    const index = 'fp-hits'
    await seeded(index)
    const search = (bucket: string) =>
      http(
        'POST',
        `/${index}/_search?filter_path=hits.hits.sort`,
        JSON.stringify({
          query: { term: { bucket } },
          sort: [{ key: 'asc' }, { key2: 'asc' }],
          _source: false,
          track_total_hits: false,
        }),
      )
    const some = await search('b2')
    expect(some.status).toBe(200)
    expect(some.json).toEqual({ hits: { hits: [{ sort: ['abc', ''] }] } })
    const none = await search('no-such-bucket')
    expect(none.status).toBe(200)
    expect(none.text).toBe('{}')
  })

  // Composite aggregation (reference: "Composite aggregation" → "Pagination") under the same
  // response filtering: only each bucket's key remains; no buckets at all leaves `{}`.
  it('filter_path=aggregations.buckets.buckets.key keeps only the bucket keys, and is {} without buckets', async () => {
    const index = 'fp-aggs'
    await seeded(index)
    const aggs = (query: unknown) =>
      http(
        'POST',
        `/${index}/_search?filter_path=aggregations.buckets.buckets.key`,
        JSON.stringify({
          size: 0,
          track_total_hits: false,
          query,
          aggs: {
            buckets: {
              composite: { size: 10, sources: [{ bucket: { terms: { field: 'bucket' } } }] },
            },
          },
        }),
      )
    expect((await aggs({ match_all: {} })).json).toEqual({
      aggregations: {
        buckets: { buckets: [{ key: { bucket: 'b1' } }, { key: { bucket: 'b2' } }] },
      },
    })
    expect((await aggs({ term: { bucket: 'no-such-bucket' } })).text).toBe('{}')
  })

  // Bulk API (reference: "Bulk API" → "Response body": items.<action>.status, .error.type,
  // .error.reason) under response filtering with `*` matching the action name: took and errors
  // are gone, a success keeps only its status, a failure its status and error type and reason.
  it('filter_path=items.*.status,items.*.error.type,items.*.error.reason on _bulk', async () => {
    const response = await http(
      'POST',
      '/_bulk?filter_path=items.*.status,items.*.error.type,items.*.error.reason',
      [
        { index: { _index: 'fp-bulk', _id: '1' } },
        { f: 1 },
        { create: { _index: 'fp-bulk', _id: '1' } },
        { f: 2 },
        { delete: { _index: 'fp-bulk', _id: 'missing' } },
      ]
        .map((line) => `${JSON.stringify(line)}\n`)
        .join(''),
      { 'content-type': 'application/x-ndjson' },
    )
    expect(response.status).toBe(200)
    expect(response.json).toEqual({
      items: [
        { index: { status: 201 } },
        {
          create: {
            status: 409,
            error: {
              type: 'version_conflict_engine_exception',
              reason: expect.stringMatching(/version conflict, document already exists/),
            },
          },
        },
        { delete: { status: 404 } },
      ],
    })
  })

  // Prefix query (reference: Query DSL → "Prefix query": "Returns documents that contain a
  // specific prefix in a provided field", with the short form `{prefix: {field: value}}`). On a
  // keyword field the prefix is matched against the exact term: case-sensitive, no analysis.
  it('prefix matches keyword terms that start with the value, in both forms, case-sensitively', async () => {
    const index = 'prefix'
    await seeded(index)
    const expected = ['1', '2', '4', '7'] // ab, ab, abc, abff; not a, b, AB
    for (const query of [{ prefix: { key: 'ab' } }, { prefix: { key: { value: 'ab' } } }]) {
      const response = await client.search({ index, query, size: 100 })
      expect(ids(response.hits.hits), JSON.stringify(query)).toEqual(expected)
    }
    expect(
      (await client.search({ index, query: { prefix: { key: 'abc' } } })).hits.hits,
    ).toHaveLength(1)
  })

  // search.allow_expensive_queries: false (reference: Query DSL, "Allow expensive queries";
  // messages from StringFieldType): prefix and range queries on keyword fields are refused when
  // the shard builds them, a plain ElasticsearchException (`exception`, 500) failing every shard.
  it('with allowExpensiveQueries: false refuses prefix and range queries on keyword fields, not term or search_after', async () => {
    const strict = await startStandin({ allowExpensiveQueries: false })
    const other = new Client({ node: strict.url, maxRetries: 0 })
    try {
      const index = 'expensive'
      await other.indices.create({ index, mappings: { properties: { key: { type: 'keyword' } } } })
      await other.index({ index, id: '1', document: { key: 'ab' }, refresh: true })
      for (const [query, reason] of [
        [
          { prefix: { key: 'a' } },
          /^\[prefix\] queries cannot be executed when 'search\.allow_expensive_queries' is set to false\./,
        ],
        [
          { range: { key: { gte: 'a' } } },
          /^\[range\] queries on \[text\] or \[keyword\] fields cannot be executed when 'search\.allow_expensive_queries' is set to false\.$/,
        ],
      ] as const) {
        const error = await responseError(
          other.search({ index, query: { bool: { filter: [{ term: { key: 'ab' } }, query] } } }),
        )
        expect(error.statusCode, JSON.stringify(query)).toBe(500)
        expect(error.body).toMatchObject({
          error: {
            root_cause: [{ type: 'exception', reason: expect.stringMatching(reason) }],
            type: 'search_phase_execution_exception',
            reason: 'all shards failed',
            failed_shards: [{ shard: 0, index, reason: { type: 'exception' } }],
          },
          status: 500,
        })
      }
      const allowed = await other.search({
        index,
        query: { term: { key: 'ab' } },
        sort: [{ key: 'asc' }],
        search_after: ['a'],
      })
      expect(ids(allowed.hits.hits)).toEqual(['1'])
    } finally {
      await other.close()
      await strict.close()
    }
  })

  // Boolean query (reference: Query DSL → "Boolean query": `filter` — "The clause (query) must
  // appear in matching documents"), as one clause or an array of clauses, all of which must match.
  it('bool.filter keeps the documents every clause matches', async () => {
    const index = 'bool-filter'
    await seeded(index)
    const search = async (filter: unknown) =>
      ids(
        (await client.search({ index, size: 100, query: { bool: { filter: filter as never } } }))
          .hits.hits,
      )
    expect(await search([{ term: { bucket: 'b1' } }, { prefix: { key: 'ab' } }])).toEqual([
      '1',
      '2',
      '7',
    ])
    expect(
      await search([
        { term: { bucket: 'b1' } },
        { term: { key: 'ab' } },
        { prefix: { key2: '0' } },
      ]),
    ).toEqual(['2'])
    expect(await search({ term: { bucket: 'b2' } })).toEqual(['4'])
  })

  // Sort (reference: "Sort search results": several fields sort by the first, then the next for
  // ties; a keyword sorts by its terms, and "" is a term like any other — only a missing value
  // is `missing`, `_last` by default) and search_after (reference: "Paginate search results" →
  // "Search after": the next page starts after the previous page's last `sort` values).
  it('sorts on several keyword fields whose later ones are "", and pages with search_after', async () => {
    const index = 'multi-sort'
    await seeded(index)
    const sort: Array<Record<string, 'asc'>> = [{ key: 'asc' }, { key2: 'asc' }]
    const expected = [
      ['AB', ''],
      ['a', ''],
      ['ab', ''],
      ['ab', '00'],
      ['abc', ''],
      ['abff', ''],
      ['b', ''],
    ]
    const all = await client.search({ index, sort, size: 100, _source: false })
    expect(all.hits.hits.map((hit) => hit.sort)).toEqual(expected)
    const paged: unknown[] = []
    let after: string[] | undefined
    for (;;) {
      const page = await client.search({
        index,
        sort,
        size: 2,
        _source: false,
        ...(after === undefined ? {} : { search_after: after }),
      })
      if (page.hits.hits.length === 0) break
      paged.push(...page.hits.hits.map((hit) => hit.sort))
      after = page.hits.hits.at(-1)!.sort as string[]
    }
    expect(paged).toEqual(expected)
    // A page that starts after ["ab", ""] begins with the tie broken by key2.
    const next = await client.search({ index, sort, size: 1, search_after: ['ab', ''] })
    expect(next.hits.hits[0]?.sort).toEqual(['ab', '00'])
  })

  // Source filtering (reference: "Retrieve selected fields from a search" → "Source filtering":
  // `_source: false` returns hits without their source).
  it('_source: false returns hits without _source', async () => {
    const index = 'no-source'
    await seeded(index)
    const response = await client.search({
      index,
      query: { term: { bucket: 'b2' } },
      _source: false,
    })
    expect(response.hits.hits).toHaveLength(1)
    expect(response.hits.hits[0]).not.toHaveProperty('_source')
    expect(response.hits.hits[0]?._id).toBe('4')
  })

  // Multi get (reference: "Multi get API" → "Filter source fields": `_source` per document, as
  // true, false or a list of fields to include). A list that matches no field of the document
  // gives an empty `_source` object, not none (elastic/elasticsearch#29622 shows `"_source": {}`
  // when a source filter leaves nothing).
  it('mget filters _source per document: a field list, true, false, and {} when nothing matches', async () => {
    const index = 'mget-source'
    await seeded(index)
    await client.index({ index, id: 'go', document: { content: 'aGk=' }, refresh: true })
    const fields = ['bucket', 'key', 'key2']
    const { docs } = await client.mget({
      docs: [
        { _index: index, _id: '2', _source: fields },
        { _index: index, _id: '2', _source: true },
        { _index: index, _id: '2', _source: false },
        { _index: index, _id: 'go', _source: fields },
      ],
    })
    expect(docs.map((doc) => ('_source' in doc ? doc._source : 'absent'))).toEqual([
      { bucket: 'b1', key: 'ab', key2: '00' },
      { content: 'aGk=', bucket: 'b1', key: 'ab', key2: '00' },
      'absent',
      {},
    ])
    expect(docs.map((doc) => ('found' in doc ? doc.found : undefined))).toEqual([
      true,
      true,
      true,
      true,
    ])
  })
})

describe('http.max_content_length', () => {
  it('answers 413 with an empty body and no product header above the limit', async () => {
    const body = JSON.stringify({ f: 'x'.repeat(64 * 1024) })
    const raw = await http('PUT', '/big/_doc/1', body)
    expect(raw.status).toBe(413)
    expect(raw.text).toBe('')
    expect(raw.headers.get('x-elastic-product')).toBeNull()
    const error = await responseError(
      client.index({ index: 'big', id: '1', document: { f: 'x'.repeat(64 * 1024) } }),
    )
    expect(error.statusCode).toBe(413)
    await client.index({ index: 'big', id: '1', document: { f: 'x'.repeat(60 * 1024) } })
  })
})

describe('shards a test makes fail', () => {
  /** A two-shard index holding documents 0…19, refreshed; its stand-in index. */
  const twoShards = async (index: string) => {
    await client.indices.create({
      index,
      settings: { number_of_shards: 2, refresh_interval: '-1' },
    })
    await client.bulk({
      operations: Array.from({ length: 20 }, (_, i) => [
        { index: { _index: index, _id: String(i) } },
        { n: i },
      ]).flat(),
    })
    await client.indices.refresh({ index })
    const es = standin.cluster.get(index)
    const onShard = (shard: number) =>
      Array.from({ length: 20 }, (_, i) => String(i)).filter((id) => es.shardOf(id) === shard)
    // Both shards hold documents, or the failures below would hide nothing.
    expect(onShard(0).length).toBeGreaterThan(0)
    expect(onShard(1).length).toBeGreaterThan(0)
    return { es, onShard }
  }
  const ids = (hits: Array<{ _id?: string }>) => hits.map((hit) => hit._id).sort()

  it("answers a search 200 with the other shards' hits and the failure in _shards, by default", async () => {
    const { es, onShard } = await twoShards('shard-fail-partial')
    es.failing.search.add(1)
    const response = await client.search({ index: 'shard-fail-partial', size: 100 })
    expect(response._shards).toMatchObject({ total: 2, successful: 1, skipped: 0, failed: 1 })
    expect(response._shards.failures?.[0]).toMatchObject({
      shard: 1,
      index: 'shard-fail-partial',
      reason: { type: 'no_shard_available_action_exception' },
    })
    expect(ids(response.hits.hits)).toEqual(onShard(0).sort())
    // filter_path=hits.hits._id hides the failure, as in Elasticsearch.
    const filtered = await http(
      'GET',
      '/shard-fail-partial/_search?size=100&filter_path=hits.hits._id',
    )
    expect(filtered.status).toBe(200)
    expect(Object.keys(filtered.json!)).toEqual(['hits'])
  })

  it('fails a search with 503 search_phase_execution_exception when allow_partial_search_results=false, or when every shard failed', async () => {
    const { es } = await twoShards('shard-fail-strict')
    es.failing.search.add(1)
    const strict = await responseError(
      client.search({ index: 'shard-fail-strict', allow_partial_search_results: false }),
    )
    expect(strict.statusCode).toBe(503)
    expect(strict.body).toMatchObject({
      error: {
        type: 'search_phase_execution_exception',
        reason: 'Partial shards failure',
        failed_shards: [{ shard: 1, reason: { type: 'no_shard_available_action_exception' } }],
      },
    })
    es.failing.search.add(0)
    const all = await responseError(client.search({ index: 'shard-fail-strict' }))
    expect(all.statusCode).toBe(503)
    expect(all.body).toMatchObject({ error: { reason: 'all shards failed' } })
    es.failing.search.clear()
    expect(
      (
        await client.search({
          index: 'shard-fail-strict',
          allow_partial_search_results: false,
          size: 100,
        })
      ).hits.hits,
    ).toHaveLength(20)
  })

  it("answers a refresh that failed on a shard 200 with _shards.failed; that shard's new documents stay unsearchable", async () => {
    const { es, onShard } = await twoShards('shard-fail-refresh')
    await client.bulk({
      operations: Array.from({ length: 20 }, (_, i) => [
        { index: { _index: 'shard-fail-refresh', _id: String(i) } },
        { n: i + 100 },
      ]).flat(),
    })
    es.failing.refresh.add(1)
    const refreshed = await client.indices.refresh({ index: 'shard-fail-refresh' })
    expect(refreshed._shards).toMatchObject({ total: 4, successful: 1, failed: 1 })
    expect(refreshed._shards?.failures?.[0]).toMatchObject({
      index: 'shard-fail-refresh',
      shard: 1,
    })
    const updated = await client.search({
      index: 'shard-fail-refresh',
      size: 100,
      query: { range: { n: { gte: 100 } } },
    })
    expect(ids(updated.hits.hits)).toEqual(onShard(0).sort())
    es.failing.refresh.clear()
    expect((await client.indices.refresh({ index: 'shard-fail-refresh' }))._shards?.failed).toBe(0)
    expect(
      (await client.count({ index: 'shard-fail-refresh', query: { range: { n: { gte: 100 } } } }))
        .count,
    ).toBe(20)
  })
})

describe('counters and lifecycle', () => {
  it('counts requests by endpoint', async () => {
    standin.resetCounts()
    await client.info()
    await client.bulk({ operations: [{ index: { _index: 'count' } }, {}] })
    await client.mget({ index: 'count', ids: ['x'] })
    await client.mget({ index: 'count', ids: ['y'] })
    expect(standin.counts()).toEqual({ total: 4, byEndpoint: { info: 1, bulk: 1, mget: 2 } })
  })

  it('stops and starts again on the same port, keeping its data', async () => {
    const local = await startStandin()
    const port = local.port
    const localClient = new Client({ node: local.url, maxRetries: 0 })
    try {
      await localClient.index({ index: 'kept', id: '1', document: { f: 1 } })
      await local.stop()
      expect(local.running).toBe(false)
      await expect(localClient.info()).rejects.toBeInstanceOf(errors.ConnectionError)
      await local.start()
      expect(local.port).toBe(port)
      expect((await localClient.get({ index: 'kept', id: '1' }))._source).toEqual({ f: 1 })
    } finally {
      await localClient.close()
      await local.close()
    }
  })
})

describe('security', () => {
  it('answers missing credentials with 401 and a challenge, and a read-only user writing with 403', async () => {
    const secured = await startStandin({
      auth: { users: { reader: { password: 'pw', readOnly: true } } },
    })
    try {
      const anonymous = await fetch(`${secured.url}/`)
      expect(anonymous.status).toBe(401)
      expect(anonymous.headers.get('www-authenticate')).toMatch(/Basic realm="security"/)
      expect(((await anonymous.json()) as { error: { type: string } }).error.type).toBe(
        'security_exception',
      )
      const reader = new Client({
        node: secured.url,
        auth: { username: 'reader', password: 'pw' },
        maxRetries: 0,
      })
      expect((await reader.info()).tagline).toBe('You Know, for Search')
      const denied = await responseError(reader.index({ index: 'x', document: {} }))
      expect(denied.statusCode).toBe(403)
      await reader.close()
    } finally {
      await secured.close()
    }
  })
})
