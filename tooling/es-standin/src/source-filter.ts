/**
 * `_source` filtering (`_source: false`, a list of fields, `{includes, excludes}`, and the
 * `_source`, `_source_includes`, `_source_excludes` query parameters) and the `filter_path`
 * response filter. Patterns are dotted paths where `*` matches within a name and `**` any depth.
 *
 * @module
 */
import { isObject, type JsonObject } from './json.js'

/** A source filter: `false` for no source, else include and exclude patterns. */
export type SourceFilter = false | { includes: string[]; excludes: string[] }

const list = (value: unknown): string[] =>
  value === undefined
    ? []
    : Array.isArray(value)
      ? value.map(String)
      : String(value).split(',').filter(Boolean)

/** Reads a filter from a body's `_source` value. */
export function sourceFilterFromBody(value: unknown): SourceFilter | undefined {
  if (value === undefined) return undefined
  if (value === false || value === 'false') return false
  if (value === true || value === 'true') return { includes: [], excludes: [] }
  if (isObject(value)) {
    return {
      includes: list(value.includes ?? value.include),
      excludes: list(value.excludes ?? value.exclude),
    }
  }
  return { includes: list(value), excludes: [] }
}

/** Reads a filter from query parameters (`_source`, `_source_includes`, `_source_excludes`). */
export function sourceFilterFromQuery(query: Record<string, string>): SourceFilter | undefined {
  const { _source: source, _source_includes: includes, _source_excludes: excludes } = query
  if (source === undefined && includes === undefined && excludes === undefined) return undefined
  if (source === 'false') return false
  const base = source === undefined || source === 'true' || source === '' ? [] : list(source)
  return { includes: [...base, ...list(includes)], excludes: list(excludes) }
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('.')
    .map((part) =>
      part === '**'
        ? '.*'
        : part
            .split('*')
            .map((piece) => piece.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
            .join('[^.]*'),
    )
    .join('\\.')
  return new RegExp(`^${body}$`)
}

/** Applies a filter to a source; returns `undefined` when the source is not to be returned. */
export function filterSource(
  source: JsonObject,
  filter: SourceFilter | undefined,
): JsonObject | undefined {
  if (filter === undefined) return source
  if (filter === false) return undefined
  if (filter.includes.length === 0 && filter.excludes.length === 0) return source
  const includes = filter.includes.map(globToRegExp)
  const excludes = filter.excludes.map(globToRegExp)
  const keep = (path: string): boolean => !excludes.some((re) => re.test(path))
  // An include names a path or one of its ancestors; objects are entered when a pattern may
  // still match something below them.
  const included = (path: string): boolean =>
    includes.length === 0 || includes.some((re) => re.test(path))
  const mayContain = (path: string): boolean =>
    includes.length === 0 ||
    filter.includes.some((pattern) => pattern.startsWith(`${path}.`) || pattern.includes('*'))
  const walk = (node: JsonObject, prefix: string): JsonObject => {
    const out: JsonObject = {}
    for (const [key, value] of Object.entries(node)) {
      const path = prefix ? `${prefix}.${key}` : key
      if (!keep(path)) continue
      if (included(path)) {
        out[key] = isObject(value) && excludes.length > 0 ? walk(value, path) : value
      } else if (isObject(value) && mayContain(path)) {
        const inner = walk(value, path)
        if (Object.keys(inner).length > 0) out[key] = inner
      }
    }
    return out
  }
  return walk(source, '')
}

/**
 * Applies `filter_path` to a response body: only the paths that match one of the comma-separated
 * patterns are kept; arrays are transparent. A body with nothing left is `{}`.
 */
export function applyFilterPath(body: unknown, filterPath: string | undefined): unknown {
  if (filterPath === undefined || filterPath === '' || !isObject(body)) return body
  const patterns = filterPath.split(',').map((pattern) => pattern.trim().split('.'))
  const walk = (node: unknown, active: string[][]): unknown => {
    if (Array.isArray(node)) {
      const items = node.map((item) => walk(item, active)).filter((item) => item !== undefined)
      return items.length > 0 ? items : undefined
    }
    if (!isObject(node)) return undefined
    const out: JsonObject = {}
    for (const [key, value] of Object.entries(node)) {
      const next: string[][] = []
      let whole = false
      for (const pattern of active) {
        const [head, ...rest] = pattern
        if (head === '**') {
          next.push(pattern)
          if (rest.length > 0 && matches(rest[0]!, key)) {
            if (rest.length === 1) whole = true
            else next.push(rest.slice(1))
          }
        } else if (head !== undefined && matches(head, key)) {
          if (rest.length === 0) whole = true
          else next.push(rest)
        }
      }
      if (whole) out[key] = value
      else if (next.length > 0) {
        const inner = walk(value, next)
        if (inner !== undefined) out[key] = inner
      }
    }
    return Object.keys(out).length > 0 ? out : undefined
  }
  return walk(body, patterns) ?? {}
}

function matches(pattern: string, key: string): boolean {
  if (!pattern.includes('*')) return pattern === key
  return new RegExp(
    `^${pattern
      .split('*')
      .map((piece) => piece.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(key)
}
