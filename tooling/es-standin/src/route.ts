/**
 * What a route handler receives and returns, and the query-parameter parsing Elasticsearch does
 * (booleans, integers, `refresh`), including its refusal of unknown parameters.
 *
 * @module
 */
import type { Cluster } from './cluster.js'
import { illegalArgument } from './errors.js'

/** A parsed request. */
export interface Request {
  method: string
  /** The decoded path without the query string. */
  path: string
  /** Path parameters (`index`, `id`, `task_id`). */
  params: Record<string, string>
  query: Record<string, string>
  /** The body parsed as JSON, or `undefined` when there is none (NDJSON routes read `text`). */
  body: unknown
  text: string
  cluster: Cluster
}

/** A handler's answer. */
export interface Reply {
  status: number
  /** A JSON body; absent for HEAD answers and empty bodies. */
  body?: unknown
}

/** One REST endpoint. */
export interface Route {
  methods: string[]
  /** A path pattern: literal segments and `{name}` parameters. */
  path: string
  /** The API name (`bulk`, `indices.refresh`, …), used for request counts. */
  endpoint: string
  /** Query parameters accepted besides the common ones. */
  params: string[]
  /** Whether the route writes (a read-only user gets 403). */
  write?: boolean
  /** Whether the body is NDJSON (bulk). */
  ndjson?: boolean
  handler(request: Request): Reply | Promise<Reply>
}

/** Parameters every endpoint accepts. */
export const COMMON_PARAMS = ['pretty', 'human', 'error_trace', 'filter_path', 'format']

/** Refuses a query parameter the endpoint does not know, with Elasticsearch's message. */
export function checkParams(route: Route, request: Request): void {
  for (const name of Object.keys(request.query)) {
    if (!COMMON_PARAMS.includes(name) && !route.params.includes(name)) {
      throw illegalArgument(`request [${request.path}] contains unrecognized parameter: [${name}]`)
    }
  }
}

/** A boolean parameter: `true`, `false` or empty (true), as Booleans.parseBoolean. */
export function boolParam(query: Record<string, string>, name: string, fallback: boolean): boolean {
  const value = query[name]
  if (value === undefined) return fallback
  if (value === '' || value === 'true') return true
  if (value === 'false') return false
  throw illegalArgument(`Failed to parse value [${value}] as only [true] or [false] are allowed.`)
}

/** An integer parameter. */
export function intParam(query: Record<string, string>, name: string): number | undefined {
  const value = query[name]
  if (value === undefined) return undefined
  if (!/^-?\d+$/.test(value))
    throw illegalArgument(`Failed to parse int parameter [${name}] with value [${value}]`)
  return Number(value)
}

/** The `refresh` parameter: `true`/empty, `false`, or `wait_for`. */
export type RefreshPolicy = 'true' | 'false' | 'wait_for'

/** Parses `refresh` as WriteRequest.RefreshPolicy.parse does. */
export function refreshParam(query: Record<string, string>): RefreshPolicy {
  const value = query.refresh
  if (value === undefined || value === 'false') return 'false'
  if (value === '' || value === 'true') return 'true'
  if (value === 'wait_for') return 'wait_for'
  throw illegalArgument(`Unknown value for refresh: [${value}].`)
}
