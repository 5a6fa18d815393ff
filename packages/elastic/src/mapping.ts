/**
 * The index mapping: `content` binary without doc values (never decoded by Elasticsearch, so the
 * base64url alphabet is kept as written), `bucket` and the key fields keyword. An existing index
 * must be compatible, and keep those fields in `_source`; fields it lacks (an index created by the
 * Go framework maps only `content`) are added.
 *
 * @module
 */
import { KEY_FIELDS } from './document.js'

/** One field's mapping as Elasticsearch reports it. */
export interface FieldMapping {
  type?: string
  doc_values?: boolean
  store?: boolean
  index?: boolean
  ignore_above?: number
  normalizer?: string
  [parameter: string]: unknown
}

/** The properties the backend needs. */
export const PROPERTIES: Record<string, FieldMapping> = {
  content: { type: 'binary', doc_values: false },
  bucket: { type: 'keyword' },
  ...Object.fromEntries(KEY_FIELDS.map((field) => [field, { type: 'keyword' }])),
}

/** The body of the create-index request. */
export function createIndexBody(): { mappings: { properties: Record<string, FieldMapping> } } {
  return { mappings: { properties: PROPERTIES } }
}

/** Why an existing field cannot serve, or `undefined` when it can. */
function incompatibility(name: string, actual: FieldMapping): string | undefined {
  const wanted = PROPERTIES[name]!.type
  if (actual.type !== wanted)
    return `field [${name}] is mapped as [${actual.type ?? 'object'}], expected [${wanted}]`
  if (wanted === 'binary') {
    // With doc values or store, Elasticsearch decodes the value as standard base64 and would
    // refuse base64url's '-' and '_'.
    if (actual.doc_values === true || actual.store === true)
      return `field [content] must have doc_values: false and store: false`
    return undefined
  }
  if (actual.index === false || actual.doc_values === false)
    return `field [${name}] must be indexed and have doc values`
  if (actual.normalizer !== undefined) return `field [${name}] must not have a normalizer`
  if (actual.ignore_above !== undefined && actual.ignore_above < 32_766)
    return `field [${name}] must not have ignore_above`
  return undefined
}

/** An index's `_source` mapping, as Elasticsearch reports it. */
export interface SourceMapping {
  enabled?: boolean
  mode?: string
  includes?: string[]
  excludes?: string[]
}

/** The fields every read needs back in `_source`: the value, and its owner's bucket and key. */
const SOURCE_FIELDS = ['content', 'bucket', ...KEY_FIELDS]

/** Whether a `_source` includes/excludes pattern (`*` a wildcard) names `field`. */
function names(pattern: string, field: string): boolean {
  const expression = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')
  return new RegExp(`^${expression}$`).test(field)
}

/**
 * Why an index's `_source` settings keep reads from getting documents back whole, or
 * `undefined`: reads take the value and its owner from `_source` (realtime `_mget`), so a
 * disabled `_source`, or one that leaves out any of {@link SOURCE_FIELDS}, would make every
 * entry read as absent or damaged.
 */
export function sourceProblem(source: SourceMapping | undefined): string | undefined {
  if (source === undefined) return undefined
  if (source.enabled === false || source.mode === 'disabled')
    return '_source is disabled, and reads take the values from it'
  const includes = source.includes ?? []
  const excludes = source.excludes ?? []
  const dropped = SOURCE_FIELDS.filter(
    (field) =>
      (includes.length > 0 && !includes.some((pattern) => names(pattern, field))) ||
      excludes.some((pattern) => names(pattern, field)),
  )
  if (dropped.length > 0)
    return `_source leaves out [${dropped.join(', ')}], and reads take the values and their keys from it`
  return undefined
}

/**
 * Compares an index's properties with {@link PROPERTIES}: the problems that make it unusable, and
 * the fields to add.
 */
export function checkMapping(properties: Record<string, FieldMapping>): {
  problems: string[]
  missing: Record<string, FieldMapping>
} {
  const problems: string[] = []
  const missing: Record<string, FieldMapping> = {}
  for (const name of Object.keys(PROPERTIES)) {
    const actual = properties[name]
    if (actual === undefined) missing[name] = PROPERTIES[name]!
    else {
      const problem = incompatibility(name, actual)
      if (problem !== undefined) problems.push(problem)
    }
  }
  return { problems, missing }
}
