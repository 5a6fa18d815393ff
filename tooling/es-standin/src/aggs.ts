/**
 * Aggregations: `composite` with `terms` sources (paginated with `after`, the way to list every
 * distinct value of a keyword field) and `value_count`. Other aggregation types get a 400 that
 * says the stand-in does not implement them.
 *
 * @module
 */

import { notImplemented, parsingError } from './errors.js'
import type { Doc, EsIndex } from './es-index.js'
import { compareUtf8, isObject, type JsonObject } from './json.js'
import { resolveField } from './mapping.js'
import { SortError } from './sort.js'

type Key = string | number | boolean | null

interface Source {
  name: string
  descending: boolean
  valuesOf(doc: Doc): Key[]
}

function compareKeys(a: Key, b: Key): number {
  if (a === b) return 0
  if (a === null) return -1
  if (b === null) return 1
  if (typeof a === 'string' && typeof b === 'string') return compareUtf8(a, b)
  return Number(a) - Number(b)
}

function parseSources(index: EsIndex, sources: unknown): Source[] {
  if (!Array.isArray(sources)) throw parsingError('[composite] sources must be an array')
  return sources.map((entry) => {
    if (!isObject(entry) || Object.keys(entry).length !== 1)
      throw parsingError('[composite] malformed source')
    const name = Object.keys(entry)[0]!
    const definition = entry[name]
    if (!isObject(definition) || !isObject(definition.terms))
      throw notImplemented('a composite source other than [terms]')
    const terms = definition.terms
    const field = String(terms.field)
    const resolved = resolveField(index.mappings, field)
    if (resolved?.field.type === 'text') {
      throw new SortError({
        type: 'illegal_argument_exception',
        reason: `Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [${field}] in order to load field data by uninverting the inverted index. Note that this can use significant memory.`,
      })
    }
    const missingBucket = terms.missing_bucket === true
    return {
      name,
      descending: String(terms.order ?? 'asc') === 'desc',
      valuesOf: (doc: Doc): Key[] => {
        const values: Key[] =
          resolved === undefined ? [] : [...new Set(resolved.values(doc.source))]
        return values.length === 0 && missingBucket ? [null] : values
      },
    }
  })
}

function composite(index: EsIndex, docs: Doc[], body: JsonObject): JsonObject {
  const sources = parseSources(index, body.sources)
  const size = Number(body.size ?? 10)
  const counts = new Map<string, { key: Key[]; count: number }>()
  for (const doc of docs) {
    // Every combination of the sources' values is one bucket (a cartesian product).
    let tuples: Key[][] = [[]]
    for (const source of sources) {
      const values = source.valuesOf(doc)
      tuples = tuples.flatMap((tuple) => values.map((value) => [...tuple, value]))
    }
    for (const tuple of tuples) {
      const id = JSON.stringify(tuple)
      const bucket = counts.get(id)
      if (bucket) bucket.count++
      else counts.set(id, { key: tuple, count: 1 })
    }
  }
  const compare = (a: Key[], b: Key[]): number => {
    for (let i = 0; i < sources.length; i++) {
      const order = compareKeys(a[i] ?? null, b[i] ?? null)
      if (order !== 0) return sources[i]!.descending ? -order : order
    }
    return 0
  }
  let buckets = [...counts.values()].sort((a, b) => compare(a.key, b.key))
  if (isObject(body.after)) {
    const after = body.after
    const afterKey = sources.map((source) => (after[source.name] ?? null) as Key)
    buckets = buckets.filter((bucket) => compare(bucket.key, afterKey) > 0)
  }
  const page = buckets.slice(0, size)
  const named = (key: Key[]): JsonObject =>
    Object.fromEntries(sources.map((source, i) => [source.name, key[i] ?? null]))
  const out: JsonObject = {}
  if (page.length > 0) out.after_key = named(page[page.length - 1]!.key)
  out.buckets = page.map((bucket) => ({ key: named(bucket.key), doc_count: bucket.count }))
  return out
}

/** Computes the `aggregations` of a search over `docs` (the matching documents of `index`). */
export function aggregate(index: EsIndex, docs: Doc[], aggs: unknown): JsonObject {
  if (!isObject(aggs)) throw parsingError('Expected [START_OBJECT] under [aggs]')
  const out: JsonObject = {}
  for (const [name, definition] of Object.entries(aggs)) {
    if (!isObject(definition)) throw parsingError(`Expected [START_OBJECT] under [${name}]`)
    const type = Object.keys(definition).find(
      (key) => key !== 'meta' && key !== 'aggs' && key !== 'aggregations',
    )
    if (type === 'composite') out[name] = composite(index, docs, definition.composite as JsonObject)
    else if (type === 'value_count') {
      const field = String((definition.value_count as JsonObject).field)
      const resolved = resolveField(index.mappings, field)
      out[name] = {
        value: docs.reduce((sum, doc) => sum + (resolved?.values(doc.source).length ?? 0), 0),
      }
    } else throw notImplemented(`the [${type}] aggregation`)
  }
  return out
}
