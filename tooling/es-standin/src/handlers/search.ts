/**
 * Near-real-time reads: search (query, sort, `search_after`, `from`/`size` within
 * `index.max_result_window`, `_source`, `track_total_hits`, aggregations) and count. They see the
 * documents as of each index's last refresh.
 *
 * @module
 */
import { aggregate } from '../aggs.js'
import { illegalArgument, notImplemented, parsingError } from '../errors.js'
import { type Doc, type EsIndex, primaryShards } from '../es-index.js'
import { isObject, type JsonObject } from '../json.js'
import { compileQuery } from '../query.js'
import { boolParam, intParam, type Request, type Route } from '../route.js'
import {
  failedShardsJson,
  ShardQueryError,
  shardFailure,
  shardsFailed,
  unavailableShard,
} from '../search-errors.js'
import { compareTuples, parseSort, SortError, type SortKey, type SortValue } from '../sort.js'
import { filterSource, sourceFilterFromBody, sourceFilterFromQuery } from '../source-filter.js'

const MAX_RESULT_WINDOW = 10_000
/** Body keys of a search the stand-in implements. */
const IMPLEMENTED_BODY_KEYS = new Set([
  'query',
  'size',
  'from',
  'sort',
  'search_after',
  '_source',
  'track_total_hits',
  'aggs',
  'aggregations',
  'seq_no_primary_term',
  'version',
  'timeout',
  'track_scores',
])
/** Every body key Elasticsearch accepts: the implemented ones and those it refuses as not implemented. */
const BODY_KEYS = new Set([
  ...IMPLEMENTED_BODY_KEYS,
  'pit',
  'stored_fields',
  'docvalue_fields',
  'fields',
  'highlight',
  'post_filter',
  'min_score',
  'collapse',
  'runtime_mappings',
  'explain',
  'terminate_after',
])

function body(request: Request): JsonObject {
  if (request.body === undefined) return {}
  if (!isObject(request.body)) throw parsingError('Expected [START_OBJECT] but found [START_ARRAY]')
  for (const key of Object.keys(request.body)) {
    if (!BODY_KEYS.has(key)) throw parsingError(`Unknown key for a START_OBJECT in [${key}].`)
    if (!IMPLEMENTED_BODY_KEYS.has(key)) throw notImplemented(`the search option [${key}]`)
  }
  return request.body
}

/** The indices a search-like request names (`ignore_unavailable` honoured). */
export function targets(request: Request): EsIndex[] {
  const ignoreUnavailable = boolParam(request.query, 'ignore_unavailable', false)
  return request.cluster.resolve(request.params.index, { ignoreUnavailable })
}

interface Hit {
  index: EsIndex
  doc: Doc
  sort: SortValue[]
}

/** The searchable documents of `indices` that match `query`, with their sort values under `sort`. */
export function matching(
  request: Request,
  indices: EsIndex[],
  query: unknown,
  sort: unknown,
): { hits: Hit[]; keys: SortKey[] } {
  let keys: SortKey[] = []
  const hits: Hit[] = []
  for (const index of indices) {
    try {
      const matches = compileQuery(index, query, request.cluster.allowExpensiveQueries)
      keys = parseSort(index, sort)
      for (const doc of index.searchable.values()) {
        if (matches(doc)) hits.push({ index, doc, sort: keys.map((key) => key.valueOf(doc)) })
      }
    } catch (error) {
      if (error instanceof SortError)
        throw shardFailure(index.name, request.cluster.nodeId, error.detail)
      if (error instanceof ShardQueryError)
        throw shardFailure(index.name, request.cluster.nodeId, error.detail, error.status)
      throw error
    }
  }
  // Ties are broken by index order then document order, as ES breaks them by shard and doc id.
  const order = new Map(indices.map((index, i) => [index, i]))
  hits.sort(
    (a, b) =>
      compareTuples(keys, a.sort, b.sort) ||
      order.get(a.index)! - order.get(b.index)! ||
      a.doc.seqNo - b.doc.seqNo,
  )
  return { hits, keys }
}

function search(request: Request) {
  const started = Date.now()
  const { query: params } = request
  if (params.q !== undefined) throw notImplemented('the q= query-string search')
  if (params.scroll !== undefined) throw notImplemented('scroll')
  const search = body(request)
  const indices = targets(request)
  const size = Number(search.size ?? intParam(params, 'size') ?? 10)
  const from = Number(search.from ?? intParam(params, 'from') ?? 0)
  const sortSpec = search.sort ?? (params.sort === undefined ? undefined : params.sort.split(','))
  if (from + size > MAX_RESULT_WINDOW) {
    const cause = {
      type: 'illegal_argument_exception',
      reason: `Result window is too large, from + size must be less than or equal to: [${MAX_RESULT_WINDOW}] but was [${from + size}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.`,
    }
    throw shardFailure(indices[0]?.name ?? '_all', request.cluster.nodeId, cause)
  }
  const matched = matching(request, indices, search.query, sortSpec)
  const { keys } = matched
  // Shards a test made fail: their hits are missing. By default (allow_partial_search_results
  // true) the answer is still 200, with the failures in `_shards`; with false, or when every
  // shard failed, the search fails ("If false, returns an error with no partial results", search
  // API, https://www.elastic.co/guide/en/elasticsearch/reference/8.3/search-search.html).
  const failures = indices.flatMap((index) =>
    index
      .failingShards('search')
      .map((shard) => ({ index: index.name, shard, reason: unavailableShard(index.name, shard) })),
  )
  const shardTotal = primaryShards(indices)
  if (failures.length > 0) {
    const all = failures.length === shardTotal
    if (all || !boolParam(params, 'allow_partial_search_results', true))
      throw shardsFailed(request.cluster.nodeId, failures, all)
  }
  // Only a failing shard's hits are dropped: with none failing, no hit needs its shard.
  const all =
    failures.length === 0
      ? matched.hits
      : matched.hits.filter((hit) => !hit.index.failing.search.has(hit.index.shardOf(hit.doc.id)))
  let hits = all
  if (search.search_after !== undefined) {
    if (!Array.isArray(search.search_after)) throw parsingError('[search_after] must be an array')
    if (keys.length === 0) throw illegalArgument('Sort must contain at least one field.')
    if (search.search_after.length !== keys.length) {
      throw illegalArgument(
        `search_after has ${search.search_after.length} value(s) but sort has ${keys.length}.`,
      )
    }
    if (from > 0)
      throw illegalArgument('`from` parameter must be set to 0 when `search_after` is used.')
    const after = search.search_after as SortValue[]
    hits = hits.filter((hit) => compareTuples(keys, hit.sort, after) > 0)
  }
  const filter = sourceFilterFromBody(search._source) ?? sourceFilterFromQuery(params)
  const sorted = keys.length > 0 && !(keys.length === 1 && keys[0]!.field === '_score')
  const seqNo =
    search.seq_no_primary_term === true || boolParam(params, 'seq_no_primary_term', false)
  const version = search.version === true || boolParam(params, 'version', false)
  const page = hits.slice(from, from + size).map(({ index, doc, sort }) => {
    const hit: JsonObject = { _index: index.name, _id: doc.id }
    if (version) hit._version = doc.version
    if (seqNo) {
      hit._seq_no = doc.seqNo
      hit._primary_term = doc.primaryTerm
    }
    hit._score = sorted ? null : 1.0
    const source = filterSource(doc.source, filter)
    if (source !== undefined) hit._source = source
    if (keys.length > 0) hit.sort = sort
    return hit
  })
  const hitsBody: JsonObject = {}
  const track = search.track_total_hits ?? params.track_total_hits ?? true
  if (track !== false && track !== 'false') {
    const limit = track === true || track === 'true' ? Number.POSITIVE_INFINITY : Number(track)
    const value = Math.min(all.length, Number.isFinite(limit) ? limit : all.length)
    const relation = all.length > value ? 'gte' : 'eq'
    hitsBody.total = boolParam(params, 'rest_total_hits_as_int', false)
      ? all.length
      : { value, relation }
  }
  hitsBody.max_score = sorted || page.length === 0 ? null : 1.0
  hitsBody.hits = page
  const response: JsonObject = {
    took: Date.now() - started,
    timed_out: false,
    _shards: {
      total: shardTotal,
      successful: shardTotal - failures.length,
      skipped: 0,
      failed: failures.length,
      ...(failures.length === 0
        ? {}
        : {
            failures: failedShardsJson(request.cluster.nodeId, failures),
          }),
    },
    hits: hitsBody,
  }
  const aggs = search.aggs ?? search.aggregations
  if (aggs !== undefined) {
    try {
      response.aggregations = Object.assign(
        {},
        ...indices.map((index) =>
          aggregate(
            index,
            all.filter((hit) => hit.index === index).map((hit) => hit.doc),
            aggs,
          ),
        ),
      )
    } catch (error) {
      if (error instanceof SortError)
        throw shardFailure(indices[0]!.name, request.cluster.nodeId, error.detail)
      throw error
    }
  }
  return { status: 200, body: response }
}

function count(request: Request) {
  if (request.query.q !== undefined) throw notImplemented('the q= query-string count')
  const search = request.body === undefined ? {} : request.body
  if (!isObject(search)) throw parsingError('request body must be an object')
  for (const key of Object.keys(search))
    if (key !== 'query') throw parsingError(`request does not support [${key}]`)
  const indices = targets(request)
  const { hits } = matching(request, indices, search.query, undefined)
  const shards = primaryShards(indices)
  return {
    status: 200,
    body: {
      count: hits.length,
      _shards: { total: shards, successful: shards, skipped: 0, failed: 0 },
    },
  }
}

const SEARCH_PARAMS = [
  'q',
  'size',
  'from',
  'sort',
  '_source',
  '_source_includes',
  '_source_excludes',
  'track_total_hits',
  'rest_total_hits_as_int',
  'search_type',
  'ignore_unavailable',
  'allow_no_indices',
  'expand_wildcards',
  'typed_keys',
  'seq_no_primary_term',
  'version',
  'preference',
  'routing',
  'request_cache',
  'timeout',
  'pre_filter_shard_size',
  'batched_reduce_size',
  'ccs_minimize_roundtrips',
  'allow_partial_search_results',
  'scroll',
  'max_concurrent_shard_requests',
  'track_scores',
  'explain',
  'stored_fields',
  'docvalue_fields',
  'terminate_after',
  'stats',
  'suggest_field',
  'analyzer',
  'analyze_wildcard',
  'default_operator',
  'df',
  'lenient',
]
const COUNT_PARAMS = [
  'q',
  'ignore_unavailable',
  'allow_no_indices',
  'expand_wildcards',
  'preference',
  'routing',
  'min_score',
  'terminate_after',
  'analyzer',
  'analyze_wildcard',
  'default_operator',
  'df',
  'lenient',
  'ignore_throttled',
]
/** The search and count routes. */
export const searchRoutes: Route[] = [
  {
    methods: ['GET', 'POST'],
    path: '/_search',
    endpoint: 'search',
    params: SEARCH_PARAMS,
    handler: search,
  },
  {
    methods: ['GET', 'POST'],
    path: '/{index}/_search',
    endpoint: 'search',
    params: SEARCH_PARAMS,
    handler: search,
  },
  {
    methods: ['GET', 'POST'],
    path: '/_count',
    endpoint: 'count',
    params: COUNT_PARAMS,
    handler: count,
  },
  {
    methods: ['GET', 'POST'],
    path: '/{index}/_count',
    endpoint: 'count',
    params: COUNT_PARAMS,
    handler: count,
  },
]
