/**
 * Index management: create, delete, exists, get, get/put mapping and refresh.
 *
 * @module
 */
import { EsError, notImplemented, parsingError } from '../errors.js'
import { isObject, type JsonObject } from '../json.js'
import { mergeMappings, parseMappings } from '../mapping.js'
import { boolParam, type Request, type Route } from '../route.js'
import { unavailableShard } from '../search-errors.js'

function create(request: Request) {
  const name = request.params.index!
  const body = request.body === undefined ? {} : request.body
  if (!isObject(body)) throw parsingError('request body is required')
  for (const key of Object.keys(body)) {
    if (key === 'aliases') throw notImplemented('aliases')
    if (key !== 'settings' && key !== 'mappings')
      throw parsingError(`unknown key [${key}] for create index`)
  }
  request.cluster.create(name, body)
  return { status: 200, body: { acknowledged: true, shards_acknowledged: true, index: name } }
}

function settingsOf(index: {
  name: string
  uuid: string
  creationDate: number
  settings: JsonObject
}): JsonObject {
  return {
    index: {
      ...Object.fromEntries(
        Object.entries(index.settings).map(([key, value]) => [key, String(value)]),
      ),
      provided_name: index.name,
      creation_date: String(index.creationDate),
      uuid: index.uuid,
      version: { created: '8000099' },
    },
  }
}

const GET_MAPPING_PARAMS = [
  'ignore_unavailable',
  'allow_no_indices',
  'expand_wildcards',
  'local',
  'master_timeout',
]

/** `GET /{index}/_mapping` and `GET /_mapping` (every index when the path names none). */
const getMapping: Route['handler'] = (request) => {
  const out: JsonObject = {}
  for (const index of request.cluster.resolve(request.params.index))
    out[index.name] = { mappings: index.mappings }
  return { status: 200, body: out }
}

/** The index management routes. */
export const indexRoutes: Route[] = [
  {
    methods: ['PUT'],
    path: '/{index}',
    endpoint: 'indices.create',
    params: ['wait_for_active_shards', 'timeout', 'master_timeout'],
    write: true,
    handler: create,
  },
  {
    methods: ['DELETE'],
    path: '/{index}',
    endpoint: 'indices.delete',
    params: [
      'ignore_unavailable',
      'allow_no_indices',
      'expand_wildcards',
      'timeout',
      'master_timeout',
    ],
    write: true,
    handler: (request) => {
      const expression = request.params.index!
      if (boolParam(request.query, 'ignore_unavailable', false)) {
        const existing = expression.split(',').filter((name) => request.cluster.indices.has(name))
        if (existing.length > 0) request.cluster.delete(existing.join(','))
      } else request.cluster.delete(expression)
      return { status: 200, body: { acknowledged: true } }
    },
  },
  {
    methods: ['HEAD'],
    path: '/{index}',
    endpoint: 'indices.exists',
    params: [
      'ignore_unavailable',
      'allow_no_indices',
      'expand_wildcards',
      'flat_settings',
      'include_defaults',
      'local',
    ],
    handler: (request) => {
      try {
        const found = request.cluster.resolve(request.params.index)
        return { status: found.length > 0 ? 200 : 404 }
      } catch (error) {
        if (error instanceof EsError && error.status === 404) return { status: 404 }
        throw error
      }
    },
  },
  {
    methods: ['GET'],
    path: '/{index}',
    endpoint: 'indices.get',
    params: [
      'ignore_unavailable',
      'allow_no_indices',
      'expand_wildcards',
      'flat_settings',
      'include_defaults',
      'local',
      'master_timeout',
      'features',
    ],
    handler: (request) => {
      const out: JsonObject = {}
      for (const index of request.cluster.resolve(request.params.index)) {
        out[index.name] = { aliases: {}, mappings: index.mappings, settings: settingsOf(index) }
      }
      return { status: 200, body: out }
    },
  },
  {
    methods: ['GET'],
    path: '/{index}/_mapping',
    endpoint: 'indices.get_mapping',
    params: GET_MAPPING_PARAMS,
    handler: getMapping,
  },
  {
    methods: ['GET'],
    path: '/_mapping',
    endpoint: 'indices.get_mapping',
    params: GET_MAPPING_PARAMS,
    handler: getMapping,
  },
  {
    methods: ['PUT', 'POST'],
    path: '/{index}/_mapping',
    endpoint: 'indices.put_mapping',
    params: [
      'ignore_unavailable',
      'allow_no_indices',
      'expand_wildcards',
      'timeout',
      'master_timeout',
      'write_index_only',
    ],
    write: true,
    handler: (request) => {
      const update = parseMappings(request.body)
      const indices = request.cluster.resolve(request.params.index)
      // Check every index first so that a refused update changes none.
      const merged = indices.map((index) => mergeMappings(index.mappings, update))
      indices.forEach((index, i) => {
        index.mappings = merged[i]!
      })
      return { status: 200, body: { acknowledged: true } }
    },
  },
  ...(['/_refresh', '/{index}/_refresh'] as const).map(
    (path): Route => ({
      methods: ['GET', 'POST'],
      path,
      endpoint: 'indices.refresh',
      params: ['ignore_unavailable', 'allow_no_indices', 'expand_wildcards'],
      handler: (request) => {
        const indices = request.cluster.resolve(request.params.index, {
          ignoreUnavailable: boolParam(request.query, 'ignore_unavailable', false),
        })
        // A shard whose refresh failed is counted in `failed` and listed in `failures`, and the
        // answer is still 200, as a broadcast action (BaseBroadcastResponse) reports it.
        let total = 0
        let successful = 0
        const failures: JsonObject[] = []
        for (const index of indices) {
          const failed = index.refresh()
          total += index.shardCopies
          successful += index.shardCount - failed.length
          for (const shard of failed) {
            failures.push({
              index: index.name,
              shard,
              status: 'SERVICE_UNAVAILABLE',
              reason: unavailableShard(index.name, shard),
            })
          }
        }
        const shards: JsonObject = { total, successful, failed: failures.length }
        if (failures.length > 0) shards.failures = failures
        return { status: 200, body: { _shards: shards } }
      },
    }),
  ),
]
