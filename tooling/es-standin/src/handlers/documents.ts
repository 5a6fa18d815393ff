/**
 * Single-document APIs: index (with and without id, `_create`), get, exists, get_source,
 * exists_source and delete. GET and HEAD are realtime unless `realtime=false`.
 *
 * @module
 */

import {
  EsError,
  illegalArgument,
  indexNotFound,
  notImplemented,
  validationFailed,
} from '../errors.js'
import type { Doc, EsIndex, WriteResult } from '../es-index.js'
import { randomId } from '../es-index.js'
import { isObject, type JsonObject, utf8Length } from '../json.js'
import {
  boolParam,
  intParam,
  type Reply,
  type Request,
  type Route,
  refreshParam,
} from '../route.js'
import { filterSource, sourceFilterFromQuery } from '../source-filter.js'

const MAX_ID_BYTES = 512

/** Validates a document id as IndexRequest.validate does. */
export function checkId(id: string): string | undefined {
  if (utf8Length(id) > MAX_ID_BYTES) {
    return `id [${id}] is too long, must be no longer than ${MAX_ID_BYTES} bytes but was: ${utf8Length(id)}`
  }
  return undefined
}

/** The response skeleton of index and delete (DocWriteResponse.innerToXContent). */
export function writeResponse(
  index: EsIndex,
  id: string,
  outcome: WriteResult,
  forcedRefresh: boolean,
): JsonObject {
  const body: JsonObject = {
    _index: index.name,
    _id: id,
    _version: outcome.version,
    result: outcome.result,
  }
  if (forcedRefresh) body.forced_refresh = true
  body._shards = index.writeShards
  body._seq_no = outcome.seqNo
  body._primary_term = outcome.primaryTerm
  return body
}

/** Applies a write's `refresh` policy to the indices it touched; returns whether a refresh was forced. */
export async function applyRefresh(policy: string, indices: Iterable<EsIndex>): Promise<boolean> {
  if (policy === 'true') {
    for (const index of indices) index.refresh()
    return true
  }
  if (policy === 'wait_for') await Promise.all([...indices].map((index) => index.waitForRefresh()))
  return false
}

/** Reads `if_seq_no` / `if_primary_term` and refuses the versioning the stand-in does not implement. */
function conditions(query: Record<string, string>): { ifSeqNo?: number; ifPrimaryTerm?: number } {
  if (query.version !== undefined || query.version_type !== undefined)
    throw notImplemented('external versioning (version, version_type)')
  if (query.pipeline !== undefined) throw notImplemented('ingest pipelines')
  const ifSeqNo = intParam(query, 'if_seq_no')
  const ifPrimaryTerm = intParam(query, 'if_primary_term')
  if ((ifSeqNo === undefined) !== (ifPrimaryTerm === undefined)) {
    throw validationFailed(
      ifSeqNo === undefined
        ? `ifSeqNo is unassigned, but primary term is [${ifPrimaryTerm}]`
        : 'ifSeqNo is set, but primary term is [0]',
    )
  }
  return {
    ...(ifSeqNo === undefined ? {} : { ifSeqNo }),
    ...(ifPrimaryTerm === undefined ? {} : { ifPrimaryTerm }),
  }
}

async function indexDocument(request: Request, opType: 'index' | 'create'): Promise<Reply> {
  const { cluster, params, query } = request
  const id = params.id ?? randomId()
  if (request.body === undefined)
    throw validationFailed('source is missing', 'content type is missing')
  if (!isObject(request.body))
    throw new EsError(400, 'mapper_parsing_exception', 'failed to parse, document is empty')
  if (params.id === '') throw validationFailed('if _id is specified it must not be empty')
  const tooLong = checkId(id)
  if (tooLong) throw validationFailed(tooLong)
  const requested = query.op_type ?? opType
  if (requested !== 'index' && requested !== 'create') {
    throw illegalArgument(`opType must be 'create' or 'index', found: [${requested}]`)
  }
  const policy = refreshParam(query)
  const index = cluster.getOrCreate(params.index!)
  const outcome = index.write(id, request.body, { opType: requested, ...conditions(query) })
  const forced = await applyRefresh(policy, [index])
  return {
    status: outcome.result === 'created' ? 201 : 200,
    body: writeResponse(index, id, outcome, forced),
  }
}

function readDoc(request: Request): { index: EsIndex; doc: Doc | undefined } {
  const { cluster, params, query } = request
  const index = cluster.get(params.index!)
  if (query.stored_fields !== undefined) throw notImplemented('stored_fields')
  if (boolParam(query, 'refresh', false)) index.refresh()
  const realtime = boolParam(query, 'realtime', true)
  const doc = (realtime ? index.live : index.searchable).get(params.id!)
  return { index, doc }
}

/** The body of a found document (GetResult.toXContent). */
export function getResult(index: EsIndex, doc: Doc, source: JsonObject | undefined): JsonObject {
  const body: JsonObject = {
    _index: index.name,
    _id: doc.id,
    _version: doc.version,
    _seq_no: doc.seqNo,
    _primary_term: doc.primaryTerm,
    found: true,
  }
  if (source !== undefined) body._source = source
  return body
}

const READ_PARAMS = [
  'realtime',
  'refresh',
  'routing',
  'preference',
  '_source',
  '_source_includes',
  '_source_excludes',
  'stored_fields',
  'version',
  'version_type',
]
const WRITE_PARAMS = [
  'refresh',
  'routing',
  'timeout',
  'wait_for_active_shards',
  'if_seq_no',
  'if_primary_term',
  'version',
  'version_type',
  'pipeline',
  'require_alias',
  'require_data_stream',
  'op_type',
  'include_source_on_error',
  'list_executed_pipelines',
]

/** The single-document routes. */
export const documentRoutes: Route[] = [
  {
    methods: ['PUT', 'POST'],
    path: '/{index}/_doc/{id}',
    endpoint: 'index',
    params: WRITE_PARAMS,
    write: true,
    handler: (request) => indexDocument(request, 'index'),
  },
  {
    methods: ['POST'],
    path: '/{index}/_doc',
    endpoint: 'index',
    params: WRITE_PARAMS,
    write: true,
    handler: (request) => indexDocument(request, 'create'),
  },
  {
    methods: ['PUT', 'POST'],
    path: '/{index}/_create/{id}',
    endpoint: 'create',
    params: WRITE_PARAMS,
    write: true,
    handler: (request) => indexDocument(request, 'create'),
  },
  {
    methods: ['GET'],
    path: '/{index}/_doc/{id}',
    endpoint: 'get',
    params: READ_PARAMS,
    handler: (request) => {
      const { index, doc } = readDoc(request)
      if (doc === undefined)
        return { status: 404, body: { _index: index.name, _id: request.params.id, found: false } }
      return {
        status: 200,
        body: getResult(index, doc, filterSource(doc.source, sourceFilterFromQuery(request.query))),
      }
    },
  },
  {
    methods: ['HEAD'],
    path: '/{index}/_doc/{id}',
    endpoint: 'exists',
    params: READ_PARAMS,
    handler: (request) => {
      if (!request.cluster.indices.has(request.params.index!)) return { status: 404 }
      return { status: readDoc(request).doc === undefined ? 404 : 200 }
    },
  },
  {
    methods: ['GET'],
    path: '/{index}/_source/{id}',
    endpoint: 'get_source',
    params: READ_PARAMS,
    handler: (request) => {
      const { index, doc } = readDoc(request)
      if (doc === undefined) {
        throw new EsError(
          404,
          'resource_not_found_exception',
          `Document not found [${index.name}]/[${request.params.id}]`,
        )
      }
      return {
        status: 200,
        body: filterSource(doc.source, sourceFilterFromQuery(request.query)) ?? {},
      }
    },
  },
  {
    methods: ['HEAD'],
    path: '/{index}/_source/{id}',
    endpoint: 'exists_source',
    params: READ_PARAMS,
    handler: (request) => {
      if (!request.cluster.indices.has(request.params.index!)) return { status: 404 }
      return { status: readDoc(request).doc === undefined ? 404 : 200 }
    },
  },
  {
    methods: ['DELETE'],
    path: '/{index}/_doc/{id}',
    endpoint: 'delete',
    params: WRITE_PARAMS,
    write: true,
    handler: async (request) => {
      const { cluster, params, query } = request
      const policy = refreshParam(query)
      const index = cluster.indices.get(params.index!)
      if (index === undefined) throw indexNotFound(params.index!)
      const outcome = index.remove(params.id!, conditions(query))
      const forced = await applyRefresh(policy, [index])
      return {
        status: outcome.result === 'deleted' ? 200 : 404,
        body: writeResponse(index, params.id!, outcome, forced),
      }
    },
  },
]
