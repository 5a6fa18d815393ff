/**
 * The query DSL subset the stand-in evaluates: match_all, match_none, term, terms, ids, prefix,
 * range, exists, match and bool. Queries that Elasticsearch has but the stand-in does not get a
 * 400 that says so; unknown names get ES's `parsing_exception`.
 *
 * @module
 */

import { EsError, notImplemented, parsingError } from './errors.js'
import type { Doc, EsIndex } from './es-index.js'
import { compareUtf8, isObject, type JsonObject } from './json.js'
import { analyze, isNumeric, resolveField } from './mapping.js'
import { expensiveQuery } from './search-errors.js'

/** A compiled query: whether a document matches. */
export type Matcher = (doc: Doc) => boolean

const ES_QUERIES_NOT_IMPLEMENTED = new Set([
  'wildcard',
  'regexp',
  'fuzzy',
  'query_string',
  'simple_query_string',
  'match_phrase',
  'match_phrase_prefix',
  'multi_match',
  'nested',
  'constant_score',
  'function_score',
  'dis_max',
  'geo_distance',
  'script',
  'terms_set',
])

/**
 * Compiles `query` (a query DSL object, or undefined for match_all) for `index`. With
 * `allowExpensive` false (`search.allow_expensive_queries`), a prefix or range query on a keyword
 * or text field throws a {@link ShardQueryError}, as Elasticsearch refuses them.
 */
export function compileQuery(index: EsIndex, query: unknown, allowExpensive = true): Matcher {
  if (query === undefined || query === null) return () => true
  if (!isObject(query)) throw parsingError('[_na] query malformed, must start with start_object')
  const entries = Object.entries(query)
  if (entries.length !== 1) {
    throw parsingError(
      `[${entries[1]?.[0] ?? '_na'}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]`,
    )
  }
  const [name, body] = entries[0]!
  switch (name) {
    case 'match_all':
      return () => true
    case 'match_none':
      return () => false
    case 'bool':
      return compileBool(index, body, allowExpensive)
    case 'ids': {
      const values = isObject(body) && Array.isArray(body.values) ? body.values.map(String) : []
      const set = new Set(values)
      return (doc) => set.has(doc.id)
    }
    case 'term':
    case 'terms':
    case 'prefix':
    case 'range':
    case 'match':
      return compileFieldQuery(index, name, body, allowExpensive)
    case 'exists': {
      const field = isObject(body) ? String(body.field) : ''
      const resolved = resolveField(index.mappings, field)
      return (doc) => resolved !== undefined && resolved.values(doc.source).length > 0
    }
    default:
      if (ES_QUERIES_NOT_IMPLEMENTED.has(name)) throw notImplemented(`the [${name}] query`)
      throw new EsError(400, 'parsing_exception', `unknown query [${name}]`, {
        extra: { line: 1, col: 1 },
      })
  }
}

function compileBool(index: EsIndex, body: unknown, allowExpensive: boolean): Matcher {
  if (!isObject(body))
    throw parsingError('[bool] query malformed, no start_object after query name')
  const list = (key: string): Matcher[] => {
    const value = body[key]
    if (value === undefined) return []
    return (Array.isArray(value) ? value : [value]).map((clause) =>
      compileQuery(index, clause, allowExpensive),
    )
  }
  const must = [...list('must'), ...list('filter')]
  const mustNot = list('must_not')
  const should = list('should')
  const minimum =
    body.minimum_should_match !== undefined
      ? Number(body.minimum_should_match)
      : must.length > 0
        ? 0
        : 1
  return (doc) => {
    if (!must.every((matcher) => matcher(doc))) return false
    if (mustNot.some((matcher) => matcher(doc))) return false
    if (should.length === 0) return true
    return should.filter((matcher) => matcher(doc)).length >= Math.min(minimum, should.length)
  }
}

/** `{field: value}` or `{field: {value | query | gt…, boost}}` → field name and parameters. */
function fieldAndParameters(
  name: string,
  body: unknown,
  valueKey: string,
): { field: string; parameters: JsonObject } {
  if (!isObject(body))
    throw parsingError(`[${name}] query malformed, no start_object after query name`)
  const fields = Object.keys(body).filter((key) => key !== 'boost' && key !== '_name')
  if (fields.length !== 1)
    throw parsingError(
      `[${name}] query doesn't support multiple fields, found [${fields.join('] and [')}]`,
    )
  const field = fields[0]!
  const raw = body[field]
  const parameters = isObject(raw) && name !== 'terms' ? raw : { [valueKey]: raw }
  return { field, parameters }
}

type Value = string | number | boolean

function compileFieldQuery(
  index: EsIndex,
  name: string,
  body: unknown,
  allowExpensive: boolean,
): Matcher {
  const valueKey = name === 'match' ? 'query' : name === 'terms' ? 'values' : 'value'
  const { field, parameters } = fieldAndParameters(name, body, valueKey)
  if (field === '_id' || field === '_index') {
    const own = (doc: Doc): string => (field === '_id' ? doc.id : index.name)
    const wanted =
      name === 'terms'
        ? (parameters.values as unknown[]).map(String)
        : [String(parameters[valueKey])]
    if (name === 'prefix') return (doc) => own(doc).startsWith(wanted[0]!)
    if (name !== 'term' && name !== 'terms' && name !== 'match')
      throw notImplemented(`the [${name}] query on [${field}]`)
    return (doc) => wanted.includes(own(doc))
  }
  const resolved = resolveField(index.mappings, field)
  if (resolved === undefined) return () => false
  const type = resolved.field.type
  if (
    !allowExpensive &&
    (name === 'prefix' || name === 'range') &&
    (type === 'keyword' || type === 'text')
  ) {
    throw expensiveQuery(name)
  }
  const normalise = (value: unknown): Value => {
    if (isNumeric(type)) return Number(value)
    if (type === 'boolean') return value === true || value === 'true'
    if (type === 'date') return typeof value === 'number' ? value : Date.parse(String(value))
    return String(value)
  }
  const compare = (a: Value, b: Value): number =>
    typeof a === 'string' && typeof b === 'string' ? compareUtf8(a, b) : Number(a) - Number(b)
  const has = (doc: Doc, test: (value: Value) => boolean): boolean =>
    resolved.values(doc.source).some(test)
  switch (name) {
    case 'term': {
      const wanted = normalise(parameters.value)
      const caseInsensitive = parameters.case_insensitive === true && typeof wanted === 'string'
      return (doc) =>
        has(doc, (value) =>
          caseInsensitive
            ? String(value).toLowerCase() === String(wanted).toLowerCase()
            : value === wanted,
        )
    }
    case 'terms': {
      if (!Array.isArray(parameters.values))
        throw parsingError(`[terms] query does not support [${field}]`)
      const wanted = new Set(parameters.values.map(normalise))
      return (doc) => has(doc, (value) => wanted.has(value))
    }
    case 'prefix': {
      const wanted = String(parameters.value)
      return (doc) => has(doc, (value) => typeof value === 'string' && value.startsWith(wanted))
    }
    case 'range': {
      const bounds = (['gt', 'gte', 'lt', 'lte'] as const).filter(
        (bound) => parameters[bound] !== undefined && parameters[bound] !== null,
      )
      const limits = bounds.map((bound) => [bound, normalise(parameters[bound])] as const)
      return (doc) =>
        has(doc, (value) =>
          limits.every(([bound, limit]) => {
            const order = compare(value, limit)
            return bound === 'gt'
              ? order > 0
              : bound === 'gte'
                ? order >= 0
                : bound === 'lt'
                  ? order < 0
                  : order <= 0
          }),
        )
    }
    default: {
      // match: analysed for text fields, exact otherwise; operator or (default) / and.
      const text = parameters.query
      const wanted = type === 'text' ? analyze(String(text)) : [normalise(text)]
      const all = String(parameters.operator ?? 'or').toLowerCase() === 'and'
      return (doc) => {
        const values = new Set(resolved.values(doc.source))
        return all
          ? wanted.every((value) => values.has(value))
          : wanted.some((value) => values.has(value))
      }
    }
  }
}
