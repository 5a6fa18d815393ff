/**
 * Delete-by-query: deletes the documents a search sees now (only refreshed ones), counting a
 * document changed since that snapshot as a version conflict (409 unless `conflicts=proceed`);
 * and its rethrottle.
 *
 * @module
 */
import { EsError, illegalArgument, notImplemented, versionConflict } from '../errors.js'
import { isObject, type JsonObject } from '../json.js'
import { intParam, type Request, type Route, refreshParam } from '../route.js'
import { matching, targets } from './search.js'

function deleteByQuery(request: Request) {
  const started = Date.now()
  const { query: params } = request
  if (params.q !== undefined) throw notImplemented('the q= query-string delete_by_query')
  if (params.wait_for_completion === 'false')
    throw notImplemented('delete_by_query with wait_for_completion=false')
  const conflicts = params.conflicts ?? 'abort'
  if (conflicts !== 'abort' && conflicts !== 'proceed') {
    throw illegalArgument(`conflicts may only be "proceed" or "abort" but was [${conflicts}]`)
  }
  const search = request.body
  if (!isObject(search)) throw validationFailedBody()
  const maxDocs =
    intParam(params, 'max_docs') ??
    (search.max_docs === undefined ? undefined : Number(search.max_docs))
  const indices = targets(request)
  // The snapshot is what a search sees now: only refreshed documents.
  let { hits } = matching(request, indices, search.query, undefined)
  if (maxDocs !== undefined) hits = hits.slice(0, maxDocs)
  let deleted = 0
  let versionConflicts = 0
  const failures: JsonObject[] = []
  for (const { index, doc } of hits) {
    if (failures.length > 0) break
    const current = index.live.get(doc.id)
    if (current === undefined || current.seqNo !== doc.seqNo) {
      versionConflicts++
      if (conflicts === 'abort') {
        const error = versionConflict(
          index.name,
          index.uuid,
          doc.id,
          current === undefined
            ? `required seqNo [${doc.seqNo}], primary term [${doc.primaryTerm}] but no document was found`
            : `required seqNo [${doc.seqNo}], primary term [${doc.primaryTerm}]. current document has seqNo [${current.seqNo}] and primary term [${current.primaryTerm}]`,
        )
        failures.push({ index: index.name, id: doc.id, cause: error.toCause(), status: 409 })
      }
      continue
    }
    index.remove(doc.id)
    deleted++
  }
  if (refreshParam(params) === 'true') for (const index of indices) index.refresh()
  const body = {
    took: Date.now() - started,
    timed_out: false,
    total: hits.length,
    deleted,
    batches: hits.length === 0 ? 0 : Math.ceil(hits.length / Number(params.scroll_size ?? 1000)),
    version_conflicts: versionConflicts,
    noops: 0,
    retries: { bulk: 0, search: 0 },
    throttled_millis: 0,
    requests_per_second: -1.0,
    throttled_until_millis: 0,
    failures,
  }
  return { status: failures.length > 0 ? 409 : 200, body }
}

function validationFailedBody(): EsError {
  return new EsError(
    400,
    'action_request_validation_exception',
    'Validation Failed: 1: query is missing;',
  )
}

/**
 * Rethrottling a task on another node reports a `no_such_node_exception` node failure; the
 * stand-in runs delete-by-query synchronously, so a task of its own node is never running.
 */
function rethrottle(request: Request) {
  const taskId = request.params.task_id!
  const [node = '', id = ''] = taskId.split(':')
  if (request.query.requests_per_second === undefined) {
    throw new EsError(
      400,
      'action_request_validation_exception',
      'Validation Failed: 1: requests_per_second must be set;',
    )
  }
  if (node !== request.cluster.nodeId) {
    return {
      status: 200,
      body: {
        node_failures: [
          {
            type: 'failed_node_exception',
            reason: `Failed node [${node}]`,
            node_id: node,
            caused_by: {
              type: 'no_such_node_exception',
              reason: `No such node [${node}]`,
              node_id: node,
            },
          },
        ],
        nodes: {},
      },
    }
  }
  return {
    status: 200,
    body: {
      task_failures: [
        {
          task_id: Number(id),
          node_id: node,
          status: 'NOT_FOUND',
          reason: { type: 'resource_not_found_exception', reason: `task [${taskId}] is missing` },
        },
      ],
      nodes: {},
    },
  }
}

const DBQ_PARAMS = [
  'conflicts',
  'refresh',
  'max_docs',
  'slices',
  'scroll_size',
  'wait_for_completion',
  'requests_per_second',
  'timeout',
  'wait_for_active_shards',
  'q',
  'ignore_unavailable',
  'allow_no_indices',
  'expand_wildcards',
  'routing',
  'scroll',
  'search_timeout',
  'search_type',
  'preference',
  'request_cache',
  'analyzer',
  'analyze_wildcard',
  'default_operator',
  'df',
  'lenient',
  'from',
  'sort',
  'stats',
  'terminate_after',
  'version',
]

/** The delete-by-query routes. */
export const deleteByQueryRoutes: Route[] = [
  {
    methods: ['POST'],
    path: '/{index}/_delete_by_query',
    endpoint: 'delete_by_query',
    params: DBQ_PARAMS,
    write: true,
    handler: deleteByQuery,
  },
  {
    methods: ['POST'],
    path: '/_delete_by_query/{task_id}/_rethrottle',
    endpoint: 'delete_by_query_rethrottle',
    params: ['requests_per_second'],
    write: true,
    handler: rethrottle,
  },
]
