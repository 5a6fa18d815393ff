/**
 * `_bulk`: NDJSON action/source pairs, each item answered on its own (status, result or error),
 * `errors` true when any item has an error. A delete of a missing document is a 404 item that is
 * not an error. A malformed body (a negative `if_seq_no` other than the unassigned -2, or a
 * negative `if_primary_term`, included), and an item that fails validation (an id over 512 bytes,
 * `if_seq_no` without `if_primary_term` or with the unassigned primary term 0, or the reverse,
 * `create` with either), are a whole-request 400: nothing is applied.
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
import type { EsIndex, WriteOptions } from '../es-index.js'
import { randomId } from '../es-index.js'
import { isObject, type JsonObject } from '../json.js'
import { type Request, type Route, refreshParam } from '../route.js'
import { applyRefresh, checkId, writeResponse } from './documents.js'

const ACTIONS = ['index', 'create', 'delete', 'update'] as const
/** Elasticsearch's SequenceNumbers.UNASSIGNED_SEQ_NO and UNASSIGNED_PRIMARY_TERM. */
const UNASSIGNED_SEQ_NO = -2
const UNASSIGNED_PRIMARY_TERM = 0
type Action = (typeof ACTIONS)[number]

interface Operation {
  action: Action
  index: string | undefined
  id: string | undefined
  options: WriteOptions
  source: JsonObject | undefined
}

function parseLines(text: string, defaultIndex: string | undefined): Operation[] {
  if (text.length > 0 && !text.endsWith('\n')) {
    throw illegalArgument('The bulk request must be terminated by a newline [\\n]')
  }
  const lines = text.split('\n')
  lines.pop()
  const operations: Operation[] = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.trim() === '') continue
    let meta: unknown
    try {
      meta = JSON.parse(line)
    } catch {
      throw new EsError(
        400,
        'x_content_parse_exception',
        `[1:1] Malformed action/metadata line [${i + 1}]`,
      )
    }
    if (!isObject(meta)) {
      throw illegalArgument(
        `Malformed action/metadata line [${i + 1}], expected START_OBJECT or END_OBJECT but found [VALUE_STRING]`,
      )
    }
    const names = Object.keys(meta)
    if (names.length === 0) {
      throw illegalArgument(
        `Malformed action/metadata line [${i + 1}], expected FIELD_NAME but found [END_OBJECT]`,
      )
    }
    const action = names[0] as Action
    if (!ACTIONS.includes(action)) {
      throw illegalArgument(
        `Malformed action/metadata line [${i + 1}], expected field [create], [delete], [index] or [update] but found [${action}]`,
      )
    }
    const parameters = meta[action]
    if (!isObject(parameters))
      throw illegalArgument(
        `Malformed action/metadata line [${i + 1}], expected START_OBJECT but found [VALUE_STRING]`,
      )
    for (const name of Object.keys(parameters)) {
      if (
        ![
          '_index',
          '_id',
          'routing',
          'if_seq_no',
          'if_primary_term',
          'require_alias',
          'pipeline',
          'retry_on_conflict',
          'dynamic_templates',
          'op_type',
          'version',
          'version_type',
        ].includes(name)
      ) {
        throw illegalArgument(
          `Action/metadata line [${i + 1}] contains an unknown parameter [${name}]`,
        )
      }
    }
    if (parameters.version !== undefined || parameters.pipeline !== undefined)
      throw notImplemented('versioned or pipelined bulk items')
    // As BulkRequestParser passes them to setIfSeqNo / setIfPrimaryTerm: a negative value (but
    // the unassigned seq_no, -2) refuses the whole request while it is parsed; the unassigned
    // values (seq_no -2, primary term 0) are as if not given, for the validation below.
    const options: WriteOptions = {}
    if (parameters.if_seq_no !== undefined) {
      const ifSeqNo = Number(parameters.if_seq_no)
      if (ifSeqNo < 0 && ifSeqNo !== UNASSIGNED_SEQ_NO)
        throw illegalArgument(`sequence numbers must be non negative. got [${ifSeqNo}].`)
      if (ifSeqNo !== UNASSIGNED_SEQ_NO) options.ifSeqNo = ifSeqNo
    }
    if (parameters.if_primary_term !== undefined) {
      const ifPrimaryTerm = Number(parameters.if_primary_term)
      if (ifPrimaryTerm < 0)
        throw illegalArgument(`primary term must be non negative. got [${ifPrimaryTerm}]`)
      if (ifPrimaryTerm !== UNASSIGNED_PRIMARY_TERM) options.ifPrimaryTerm = ifPrimaryTerm
    }
    let source: JsonObject | undefined
    if (action !== 'delete') {
      const sourceLine = lines[++i]
      if (sourceLine === undefined)
        throw illegalArgument(
          `Malformed action/metadata line [${i}], expected a source line after it`,
        )
      let parsed: unknown
      try {
        parsed = JSON.parse(sourceLine)
      } catch {
        throw new EsError(
          400,
          'x_content_parse_exception',
          `[1:1] Malformed source line [${i + 1}]`,
        )
      }
      if (!isObject(parsed)) throw new EsError(400, 'mapper_parsing_exception', 'failed to parse')
      source = parsed
    }
    const rawIndex = parameters._index ?? defaultIndex
    operations.push({
      action,
      index: rawIndex === undefined ? undefined : String(rawIndex),
      id:
        parameters._id === undefined || parameters._id === null
          ? undefined
          : String(parameters._id),
      options: { ...options, opType: action === 'create' ? 'create' : 'index' },
      source,
    })
  }
  return operations
}

function execute(request: Request, operation: Operation, touched: Set<EsIndex>): JsonObject {
  const { cluster } = request
  const { action, id: givenId } = operation
  const name = operation.index!
  const id = givenId ?? (action === 'delete' ? '' : randomId())
  try {
    if (givenId === '') throw illegalArgument('if _id is specified it must not be empty')
    if (action === 'update') throw notImplemented('the bulk [update] action')
    if (action === 'delete') {
      const index = cluster.indices.get(name)
      if (index === undefined) throw indexNotFound(name)
      const outcome = index.remove(id, operation.options)
      touched.add(index)
      return {
        ...writeResponse(index, id, outcome, false),
        status: outcome.result === 'deleted' ? 200 : 404,
      }
    }
    const index = cluster.getOrCreate(name)
    const outcome = index.write(id, operation.source!, operation.options)
    touched.add(index)
    return {
      ...writeResponse(index, id, outcome, false),
      status: outcome.result === 'created' ? 201 : 200,
    }
  } catch (error) {
    if (!(error instanceof EsError)) throw error
    return { _index: name, _id: givenId ?? null, status: error.status, error: error.toCause() }
  }
}

async function handler(request: Request) {
  const { query, params } = request
  if (query.pipeline !== undefined) throw notImplemented('ingest pipelines')
  const policy = refreshParam(query)
  const operations = parseLines(request.text, params.index)
  if (operations.length === 0) throw validationFailed('no requests added')
  // As Elasticsearch's BulkRequest.validate(): every item's validation errors, collected, refuse
  // the whole request (400), and nothing of it is applied.
  const failures: string[] = []
  operations.forEach((operation, i) => {
    if (operation.index === undefined) failures.push(`index is missing for doc ${i}`)
    if (operation.action === 'delete' && operation.id === undefined)
      failures.push(`id is missing for doc ${i}`)
    const tooLong = operation.id === undefined ? undefined : checkId(operation.id)
    if (tooLong) failures.push(tooLong)
    const { ifSeqNo, ifPrimaryTerm } = operation.options
    if (operation.action === 'create' && (ifSeqNo !== undefined || ifPrimaryTerm !== undefined))
      failures.push('create operations do not support compare and set. use index instead')
    else if (ifSeqNo !== undefined && ifPrimaryTerm === undefined)
      failures.push('ifSeqNo is set, but primary term is [0]')
    else if (ifSeqNo === undefined && ifPrimaryTerm !== undefined)
      failures.push(`ifSeqNo is unassigned, but primary term is [${ifPrimaryTerm}]`)
  })
  if (failures.length > 0) throw validationFailed(...failures)
  const started = Date.now()
  const touched = new Set<EsIndex>()
  const items = operations.map((operation) => ({
    [operation.action]: execute(request, operation, touched),
  }))
  const forced = await applyRefresh(policy, touched)
  if (forced) {
    for (const item of items) {
      const result = Object.values(item)[0]!
      if (result.error === undefined) {
        // forced_refresh goes right after `result`, as DocWriteResponse writes it.
        const { _shards, _seq_no, _primary_term, status, ...head } = result
        Object.assign(item, {
          [Object.keys(item)[0]!]: {
            ...head,
            forced_refresh: true,
            _shards,
            _seq_no,
            _primary_term,
            status,
          },
        })
      }
    }
  }
  const errors = items.some((item) => Object.values(item)[0]!.error !== undefined)
  return { status: 200, body: { errors, took: Date.now() - started, items } }
}

const PARAMS = [
  'refresh',
  'routing',
  'timeout',
  'wait_for_active_shards',
  'require_alias',
  'require_data_stream',
  'pipeline',
  '_source',
  '_source_includes',
  '_source_excludes',
  'list_executed_pipelines',
  'include_source_on_error',
]

/** The bulk routes. */
export const bulkRoutes: Route[] = [
  {
    methods: ['POST', 'PUT'],
    path: '/_bulk',
    endpoint: 'bulk',
    params: PARAMS,
    write: true,
    ndjson: true,
    handler,
  },
  {
    methods: ['POST', 'PUT'],
    path: '/{index}/_bulk',
    endpoint: 'bulk',
    params: PARAMS,
    write: true,
    ndjson: true,
    handler,
  },
]
