/**
 * Matches a method and path to a route. Segments starting with `_` are literal API names; an
 * index name never starts with `_`, so `{index}` never matches them.
 *
 * @module
 */

import { bulkRoutes } from './handlers/bulk.js'
import { clusterRoutes } from './handlers/cluster.js'
import { deleteByQueryRoutes } from './handlers/delete-by-query.js'
import { documentRoutes } from './handlers/documents.js'
import { indexRoutes } from './handlers/indices.js'
import { mgetRoutes } from './handlers/mget.js'
import { searchRoutes } from './handlers/search.js'
import type { Route } from './route.js'

const ROUTES: Route[] = [
  ...clusterRoutes,
  ...indexRoutes,
  ...documentRoutes,
  ...mgetRoutes,
  ...bulkRoutes,
  ...searchRoutes,
  ...deleteByQueryRoutes,
]

/** The outcome of routing: a route with its path parameters, or the methods the path allows. */
export type RouteMatch =
  | { route: Route; params: Record<string, string> }
  | { route: undefined; allowed: string[] }

function matchPath(pattern: string, segments: string[]): Record<string, string> | undefined {
  const parts = pattern.split('/').filter(Boolean)
  if (parts.length !== segments.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!
    const segment = segments[i]!
    if (part.startsWith('{')) {
      if (part === '{index}' && segment.startsWith('_')) return undefined
      params[part.slice(1, -1)] = segment
    } else if (part !== segment) return undefined
  }
  return params
}

/** Finds the route for `method` and the raw (still percent-encoded) `path`. */
export function route(method: string, path: string): RouteMatch {
  const segments = path.split('/').filter(Boolean)
  const decoded = segments.map((segment) => {
    try {
      return decodeURIComponent(segment)
    } catch {
      return segment
    }
  })
  const allowed: string[] = []
  for (const candidate of ROUTES) {
    const params = matchPath(candidate.path, decoded)
    if (params === undefined) continue
    if (candidate.methods.includes(method)) return { route: candidate, params }
    allowed.push(...candidate.methods)
  }
  return { route: undefined, allowed: [...new Set(allowed)] }
}
