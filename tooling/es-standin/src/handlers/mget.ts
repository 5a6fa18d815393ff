/**
 * Multi-get (realtime): `{docs:[{_index,_id,_source?}]}` or `{ids:[…]}` with a default index.
 * A missing document is `{_index,_id,found:false}`; a missing index is an item with an `error`.
 *
 * @module
 */
import { EsError, notImplemented, validationFailed } from '../errors.js'
import { isObject } from '../json.js'
import { boolParam, type Route } from '../route.js'
import { filterSource, sourceFilterFromBody, sourceFilterFromQuery } from '../source-filter.js'
import { getResult } from './documents.js'

const PARAMS = [
  'realtime',
  'refresh',
  'routing',
  'preference',
  '_source',
  '_source_includes',
  '_source_excludes',
  'stored_fields',
  'force_synthetic_source',
]

function handler(request: Parameters<Route['handler']>[0]): ReturnType<Route['handler']> {
  const { cluster, params, query, body } = request
  if (query.stored_fields !== undefined) throw notImplemented('stored_fields')
  if (!isObject(body)) throw validationFailed('no documents to get')
  const defaultIndex = params.index
  const requested: Array<{ index: string | undefined; id: unknown; source: unknown }> = []
  if (Array.isArray(body.docs)) {
    for (const item of body.docs) {
      if (!isObject(item))
        throw new EsError(400, 'parsing_exception', 'docs array element should include an object')
      requested.push({
        index: (item._index as string | undefined) ?? defaultIndex,
        id: item._id,
        source: item._source,
      })
    }
  } else if (Array.isArray(body.ids)) {
    if (defaultIndex === undefined) throw validationFailed('index is missing for doc 0')
    for (const id of body.ids) requested.push({ index: defaultIndex, id, source: undefined })
  }
  if (requested.length === 0) throw validationFailed('no documents to get')
  const failures: string[] = []
  requested.forEach((item, i) => {
    if (item.index === undefined) failures.push(`index is missing for doc ${i}`)
    if (item.id === undefined || item.id === null) failures.push(`id is missing for doc ${i}`)
  })
  if (failures.length > 0) throw validationFailed(...failures)
  const realtime = boolParam(query, 'realtime', true)
  const refresh = boolParam(query, 'refresh', false)
  const queryFilter = sourceFilterFromQuery(query)
  const docs = requested.map(({ index: name, id: rawId, source }) => {
    const id = String(rawId)
    const index = cluster.indices.get(name!)
    if (index === undefined) {
      const error = new EsError(404, 'index_not_found_exception', `no such index [${name}]`, {
        extra: {
          'resource.type': 'index_expression',
          'resource.id': name,
          index_uuid: '_na_',
          index: name,
        },
      })
      return { _index: name, _id: id, error: error.toBody().error }
    }
    if (refresh) index.refresh()
    const doc = (realtime ? index.live : index.searchable).get(id)
    if (doc === undefined) return { _index: index.name, _id: id, found: false }
    return getResult(
      index,
      doc,
      filterSource(doc.source, sourceFilterFromBody(source) ?? queryFilter),
    )
  })
  return { status: 200, body: { docs } }
}

/** The mget routes. */
export const mgetRoutes: Route[] = [
  { methods: ['GET', 'POST'], path: '/_mget', endpoint: 'mget', params: PARAMS, handler },
  { methods: ['GET', 'POST'], path: '/{index}/_mget', endpoint: 'mget', params: PARAMS, handler },
]
