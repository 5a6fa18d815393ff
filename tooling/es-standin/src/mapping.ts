/**
 * Index mappings: the field types the stand-in knows, dynamic mapping of new fields, the checks
 * a document must pass before it is indexed, and the values each field holds for queries, sorts
 * and aggregations.
 *
 * Supported types: text, keyword, binary, long, integer, short, byte, double, float, half_float,
 * boolean, date and object. Text is analysed roughly like the standard analyzer (lower-cased
 * word tokens).
 *
 * @module
 */
import { EsError, illegalArgument } from './errors.js'
import { isObject, type JsonObject, utf8Length } from './json.js'

/** One field's mapping. */
export interface FieldMapping {
  type: string
  properties?: Record<string, FieldMapping>
  fields?: Record<string, FieldMapping>
  ignore_above?: number
  doc_values?: boolean
  store?: boolean
  index?: boolean
  [parameter: string]: unknown
}

/** An index's mappings. */
export interface Mappings {
  dynamic?: boolean | string
  properties: Record<string, FieldMapping>
  [parameter: string]: unknown
}

const NUMERIC = new Set(['long', 'integer', 'short', 'byte', 'double', 'float', 'half_float'])
const KNOWN = new Set(['text', 'keyword', 'binary', 'boolean', 'date', 'object', ...NUMERIC])
/** Lucene's limit on one indexed term (IndexWriter.MAX_TERM_LENGTH). */
export const MAX_TERM_BYTES = 32766

/** True for numeric field types. */
export function isNumeric(type: string): boolean {
  return NUMERIC.has(type)
}

function mapperParsing(reason: string): EsError {
  return new EsError(400, 'mapper_parsing_exception', reason)
}

/** Validates a `mappings` object from a create-index or put-mapping request. */
export function parseMappings(input: unknown): Mappings {
  if (input === undefined || input === null) return { properties: {} }
  if (!isObject(input)) throw mapperParsing('Failed to parse mapping: mappings must be an object')
  const { properties = {}, dynamic, ...rest } = input
  for (const key of Object.keys(rest)) {
    if (key === '_doc')
      throw mapperParsing(
        'The mapping definition cannot be nested under a type [_doc] unless include_type_name is set to true.',
      )
    if (
      ![
        '_source',
        '_meta',
        'date_detection',
        'numeric_detection',
        'dynamic_templates',
        '_routing',
      ].includes(key)
    ) {
      throw mapperParsing(
        `Root mapping definition has unsupported parameters:  [${key} : ${JSON.stringify(rest[key])}]`,
      )
    }
  }
  if (
    dynamic !== undefined &&
    ![true, false, 'true', 'false', 'strict'].includes(dynamic as never)
  ) {
    throw mapperParsing(
      `Failed to parse mapping: dynamic must be true, false or strict, got [${String(dynamic)}]`,
    )
  }
  return {
    ...rest,
    ...(dynamic === undefined ? {} : { dynamic: dynamic as boolean | string }),
    properties: parseProperties(properties, ''),
  }
}

function parseProperties(input: unknown, prefix: string): Record<string, FieldMapping> {
  if (!isObject(input))
    throw mapperParsing(
      `Failed to parse mapping: properties of [${prefix || '_doc'}] must be an object`,
    )
  const out: Record<string, FieldMapping> = {}
  for (const [name, definition] of Object.entries(input)) {
    const path = prefix ? `${prefix}.${name}` : name
    if (!isObject(definition))
      throw mapperParsing(
        `Expected map for property [fields] on field [${path}] but got a class java.lang.String`,
      )
    const type =
      (definition.type as string | undefined) ?? (definition.properties ? 'object' : undefined)
    if (type === undefined) throw mapperParsing(`No type specified for field [${path}]`)
    if (!KNOWN.has(type)) {
      throw mapperParsing(
        `[es-standin] No handler for type [${type}] declared on field [${name}] (the stand-in implements ${[...KNOWN].join(', ')})`,
      )
    }
    const field: FieldMapping = { ...definition, type }
    if (type === 'object') field.properties = parseProperties(definition.properties ?? {}, path)
    if (definition.fields !== undefined) field.fields = parseProperties(definition.fields, path)
    out[name] = field
  }
  return out
}

/** Adds `update`'s fields to `existing`; a field whose type would change is refused. */
export function mergeMappings(existing: Mappings, update: Mappings): Mappings {
  const merged: Mappings = {
    ...existing,
    ...update,
    properties: mergeProperties(existing.properties, update.properties, ''),
  }
  return merged
}

function mergeProperties(
  existing: Record<string, FieldMapping>,
  update: Record<string, FieldMapping>,
  prefix: string,
): Record<string, FieldMapping> {
  const out = { ...existing }
  for (const [name, field] of Object.entries(update)) {
    const path = prefix ? `${prefix}.${name}` : name
    const current = existing[name]
    if (current === undefined) {
      out[name] = field
      continue
    }
    if (current.type !== field.type) {
      throw illegalArgument(
        `mapper [${path}] cannot be changed from type [${current.type}] to [${field.type}]`,
      )
    }
    out[name] = {
      ...current,
      ...field,
      ...(current.properties || field.properties
        ? { properties: mergeProperties(current.properties ?? {}, field.properties ?? {}, path) }
        : {}),
      ...(current.fields || field.fields
        ? { fields: mergeProperties(current.fields ?? {}, field.fields ?? {}, path) }
        : {}),
    }
  }
  return out
}

const DATE =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/
const DATE_SLASH = /^\d{4}\/\d{2}\/\d{2}(?: \d{2}:\d{2}:\d{2})?$/

/** The mapping dynamic mapping gives a new JSON value, or `undefined` for null (no mapping). */
function inferField(value: unknown): FieldMapping | undefined {
  if (value === null) return undefined
  if (Array.isArray(value)) {
    for (const item of value) {
      const inferred = inferField(item)
      if (inferred !== undefined) return inferred
    }
    return undefined
  }
  if (typeof value === 'boolean') return { type: 'boolean' }
  if (typeof value === 'number') return { type: Number.isInteger(value) ? 'long' : 'float' }
  if (typeof value === 'string') {
    if (DATE.test(value) || DATE_SLASH.test(value)) return { type: 'date' }
    return { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } }
  }
  if (isObject(value)) return { type: 'object', properties: {} }
  return undefined
}

/**
 * Checks `source` against `mappings` and returns the mappings with any new fields added by
 * dynamic mapping (`dynamic: true`), or throws the error Elasticsearch gives for the document.
 */
export function applyDocument(mappings: Mappings, source: JsonObject, id: string): Mappings {
  const properties = walkObject(mappings.properties, source, '', mappings.dynamic ?? true, id)
  return properties === mappings.properties ? mappings : { ...mappings, properties }
}

function walkObject(
  properties: Record<string, FieldMapping>,
  object: JsonObject,
  prefix: string,
  dynamic: boolean | string,
  id: string,
): Record<string, FieldMapping> {
  let out = properties
  for (const [name, value] of Object.entries(object)) {
    const path = prefix ? `${prefix}.${name}` : name
    let field = out[name]
    if (field === undefined) {
      if (dynamic === 'strict') {
        throw new EsError(
          400,
          'strict_dynamic_mapping_exception',
          `[1:2] mapping set to strict, dynamic introduction of [${name}] within [${prefix || '_doc'}] is not allowed`,
        )
      }
      if (dynamic === false || dynamic === 'false') continue
      const inferred = inferField(value)
      if (inferred === undefined) continue
      field = inferred
      out = { ...out, [name]: field }
    }
    const values = Array.isArray(value) ? value : [value]
    for (const item of values) {
      if (item === null) continue
      if (field.type === 'object') {
        if (!isObject(item)) {
          throw new EsError(
            400,
            'document_parsing_exception',
            `[1:2] object mapping for [${path}] tried to parse field [${name}] as object, but found a concrete value`,
          )
        }
        const nested = walkObject(
          field.properties ?? {},
          item,
          path,
          (field.dynamic as boolean | string | undefined) ?? dynamic,
          id,
        )
        if (nested !== field.properties) {
          field = { ...field, properties: nested }
          out = { ...out, [name]: field }
        }
      } else {
        checkValue(field, item, path, id)
        for (const sub of Object.values(field.fields ?? {})) checkValue(sub, item, path, id)
      }
    }
  }
  return out
}

function parseFailure(
  path: string,
  type: string,
  id: string,
  value: unknown,
  cause: string,
): EsError {
  return new EsError(
    400,
    'document_parsing_exception',
    `[1:2] failed to parse field [${path}] of type [${type}] in document with id '${id}'. Preview of field's value: '${String(value)}'`,
    { causedBy: { type: 'illegal_argument_exception', reason: cause } },
  )
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

function checkValue(field: FieldMapping, value: unknown, path: string, id: string): void {
  if (isObject(value) && field.type !== 'object') {
    throw parseFailure(
      path,
      field.type,
      id,
      JSON.stringify(value),
      `Can't get text on a START_OBJECT`,
    )
  }
  switch (field.type) {
    case 'keyword': {
      const text = String(value)
      const skipped = field.ignore_above !== undefined && text.length > field.ignore_above
      if (!skipped && field.index !== false && utf8Length(text) > MAX_TERM_BYTES) {
        throw new EsError(
          400,
          'illegal_argument_exception',
          `Document contains at least one immense term in field="${path}" (whose UTF8 encoding is longer than the max length ${MAX_TERM_BYTES}), all of which were skipped.  Please correct the analyzer to not produce such terms.  The prefix of the first immense term is: '${text.slice(0, 30)}...', original message: bytes can be at most ${MAX_TERM_BYTES} in length; got ${utf8Length(text)}`,
          {
            causedBy: {
              type: 'max_bytes_length_exceeded_exception',
              reason: `bytes can be at most ${MAX_TERM_BYTES} in length; got ${utf8Length(text)}`,
            },
          },
        )
      }
      return
    }
    case 'binary':
      // BinaryFieldMapper decodes the value only when it is stored or has doc values.
      if (
        (field.doc_values === true || field.store === true) &&
        (typeof value !== 'string' || !BASE64.test(value))
      ) {
        throw parseFailure(
          path,
          'binary',
          id,
          value,
          'Failed to decode VALUE_STRING as base64 (MIME-NO-LINEFEEDS)',
        )
      }
      return
    case 'boolean':
      if (typeof value !== 'boolean' && value !== 'true' && value !== 'false' && value !== '') {
        throw parseFailure(
          path,
          'boolean',
          id,
          value,
          `Failed to parse value [${String(value)}] as only [true] or [false] are allowed.`,
        )
      }
      return
    case 'date':
      if (typeof value === 'string' && !DATE.test(value) && !DATE_SLASH.test(value)) {
        throw parseFailure(
          path,
          'date',
          id,
          value,
          `failed to parse date field [${value}] with format [strict_date_optional_time||epoch_millis]`,
        )
      }
      return
    default:
      if (isNumeric(field.type) && (typeof value === 'boolean' || Number.isNaN(Number(value)))) {
        throw parseFailure(path, field.type, id, value, `For input string: "${String(value)}"`)
      }
  }
}

/** The mapping of a field path (`name`, `user.name`, or a multi-field such as `name.keyword`). */
export function lookupField(mappings: Mappings, path: string): FieldMapping | undefined {
  const parts = path.split('.')
  let properties: Record<string, FieldMapping> | undefined = mappings.properties
  let field: FieldMapping | undefined
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!
    const next: FieldMapping | undefined = properties?.[part] ?? field?.fields?.[part]
    if (next === undefined) return undefined
    field = next
    properties = next.properties
  }
  return field
}

/** The raw `_source` values at `path`, following objects and flattening arrays. */
export function sourceValues(source: unknown, path: string): unknown[] {
  const out: unknown[] = []
  const visit = (node: unknown, parts: string[]): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item, parts)
      return
    }
    if (parts.length === 0) {
      if (node !== null && node !== undefined) out.push(node)
      return
    }
    if (!isObject(node)) return
    // A source may hold `a.b` as one dotted key or as nested objects; try every split.
    for (let take = 1; take <= parts.length; take++) {
      const key = parts.slice(0, take).join('.')
      if (key in node) visit(node[key], parts.slice(take))
    }
  }
  visit(source, path.split('.'))
  return out
}

/** Lower-cased word tokens, close to the standard analyzer. */
export function analyze(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}\p{M}_]+(?:['’.][\p{L}\p{N}\p{M}_]+)*/gu) ?? []
}

/** A field as seen by queries: its mapping and how to get its indexed values from a source. */
export interface ResolvedField {
  field: FieldMapping
  /** The values the field indexes for `source` (tokens for text, strings for keyword, numbers…). */
  values(source: JsonObject): Array<string | number | boolean>
}

/** Resolves a field path for querying, or `undefined` when it is not mapped. */
export function resolveField(mappings: Mappings, path: string): ResolvedField | undefined {
  const field = lookupField(mappings, path)
  if (field === undefined || field.type === 'object') return undefined
  // For a multi-field (`name.keyword`) the values come from the parent's source path.
  let sourcePath = path
  if (lookupSourcePath(mappings, path) === false) sourcePath = path.slice(0, path.lastIndexOf('.'))
  return {
    field,
    values: (source) => {
      const raw = sourceValues(source, sourcePath)
      const out: Array<string | number | boolean> = []
      for (const value of raw) {
        if (isObject(value)) continue
        switch (field.type) {
          case 'text':
            out.push(...analyze(String(value)))
            break
          case 'keyword': {
            const text = String(value)
            if (field.ignore_above === undefined || text.length <= field.ignore_above)
              out.push(text)
            break
          }
          case 'boolean':
            out.push(value === true || value === 'true')
            break
          case 'date':
            out.push(typeof value === 'number' ? value : Date.parse(String(value)))
            break
          case 'binary':
            break
          default:
            out.push(Number(value))
        }
      }
      return out
    },
  }
}

/** Whether `path` names a field that appears in `_source` under that path (false for multi-fields). */
function lookupSourcePath(mappings: Mappings, path: string): boolean {
  const parts = path.split('.')
  let properties: Record<string, FieldMapping> | undefined = mappings.properties
  for (const part of parts) {
    const next: FieldMapping | undefined = properties?.[part]
    if (next === undefined) return false
    properties = next.properties
  }
  return true
}
