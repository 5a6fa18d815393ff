/**
 * Sorting of search hits and `search_after`: by keyword (in UTF-8 byte order, as Lucene), numeric,
 * date and boolean fields, `_doc` and `_score`; text and `_id` are refused as Elasticsearch does.
 *
 * @module
 */

import { type ErrorCause, illegalArgument } from './errors.js'
import type { Doc, EsIndex } from './es-index.js'
import { compareUtf8, isObject } from './json.js'
import { resolveField } from './mapping.js'

/** A sort value as it appears in a hit's `sort` array. */
export type SortValue = string | number | null

/** One parsed sort key. */
export interface SortKey {
  field: string
  descending: boolean
  missingFirst: boolean
  /** The document's value for this key. */
  valueOf(doc: Doc): SortValue
}

/** A query-phase error to be wrapped by the caller into a shard failure. */
export class SortError extends Error {
  readonly detail: ErrorCause
  constructor(detail: ErrorCause) {
    super(detail.reason)
    this.detail = detail
  }
}

function parseOne(index: EsIndex, spec: unknown): SortKey {
  let field: string
  let options: Record<string, unknown> = {}
  if (typeof spec === 'string') {
    const [name = '', order] = spec.split(':')
    field = name
    if (order !== undefined) options = { order }
  } else if (isObject(spec) && Object.keys(spec).length === 1) {
    field = Object.keys(spec)[0]!
    const value = spec[field]
    options = typeof value === 'string' ? { order: value } : isObject(value) ? value : {}
  } else {
    throw illegalArgument('[sort] malformed sort, expected a field name or an object')
  }
  const order = String(options.order ?? (field === '_score' ? 'desc' : 'asc')).toLowerCase()
  if (order !== 'asc' && order !== 'desc') throw illegalArgument(`Unknown SortOrder [${order}]`)
  const descending = order === 'desc'
  const missingFirst = options.missing === '_first'
  if (field === '_doc') return { field, descending, missingFirst, valueOf: (doc) => doc.seqNo }
  if (field === '_score') return { field, descending, missingFirst, valueOf: () => 1 }
  if (field === '_id') {
    throw new SortError({
      type: 'illegal_argument_exception',
      reason:
        'Fielddata access on the _id field is disallowed, you can re-enable it by updating the dynamic cluster setting: indices.id_field_data.enabled',
    })
  }
  const resolved = resolveField(index.mappings, field)
  if (resolved === undefined) {
    if (options.unmapped_type !== undefined)
      return { field, descending, missingFirst, valueOf: () => null }
    throw new SortError({
      type: 'query_shard_exception',
      reason: `No mapping found for [${field}] in order to sort on`,
      index_uuid: index.uuid,
      index: index.name,
    })
  }
  if (resolved.field.type === 'text' || resolved.field.type === 'binary') {
    throw new SortError({
      type: 'illegal_argument_exception',
      reason:
        resolved.field.type === 'text'
          ? `Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [${field}] in order to load field data by uninverting the inverted index. Note that this can use significant memory.`
          : `Field [${field}] of type [binary] does not support sorting`,
    })
  }
  return {
    field,
    descending,
    missingFirst,
    valueOf: (doc) => {
      const values = resolved
        .values(doc.source)
        .map((value) => (typeof value === 'boolean' ? Number(value) : value))
      if (values.length === 0) return null
      // Multi-valued fields sort by their minimum ascending and their maximum descending.
      return values.reduce((best, value) =>
        compareValues(value, best) * (descending ? -1 : 1) < 0 ? value : best,
      )
    },
  }
}

function compareValues(a: string | number, b: string | number): number {
  if (typeof a === 'string' && typeof b === 'string') return compareUtf8(a, b)
  return Number(a) - Number(b)
}

/** Parses a search's `sort` (a string, an object or an array of them). */
export function parseSort(index: EsIndex, sort: unknown): SortKey[] {
  if (sort === undefined || sort === null) return []
  return (Array.isArray(sort) ? sort : [sort]).map((spec) => parseOne(index, spec))
}

/** Compares two sort tuples under `keys`; missing values go last unless `missing: _first`. */
export function compareTuples(keys: SortKey[], a: SortValue[], b: SortValue[]): number {
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    const x = a[i] ?? null
    const y = b[i] ?? null
    if (x === null && y === null) continue
    if (x === null) return key.missingFirst ? -1 : 1
    if (y === null) return key.missingFirst ? 1 : -1
    const order = compareValues(x, y)
    if (order !== 0) return key.descending ? -order : order
  }
  return 0
}
