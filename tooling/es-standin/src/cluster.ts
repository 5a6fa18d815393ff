/**
 * The cluster: a single node holding named indices, index-name rules, index expressions
 * (comma lists, wildcards, `_all`) and auto-creation on write.
 *
 * @module
 */
import { EsError, indexNotFound } from './errors.js'
import { EsIndex, parseInterval, randomId } from './es-index.js'
import { isObject, type JsonObject } from './json.js'
import { type Mappings, parseMappings } from './mapping.js'

/** Identity of the emulated cluster. */
export interface ClusterIdentity {
  /** Elasticsearch version reported by `GET /` (the major decides which `compatible-with` is accepted). */
  version: string
  clusterName: string
  nodeName: string
}

/** All the state of the stand-in. It survives stop/start of the HTTP server. */
export class Cluster {
  readonly indices = new Map<string, EsIndex>()
  readonly identity: ClusterIdentity
  readonly clusterUuid = randomId()
  readonly nodeId = randomId()
  readonly refreshIntervalMs: number
  /** `search.allow_expensive_queries`: false refuses prefix and range queries on strings. */
  readonly allowExpensiveQueries: boolean

  constructor(identity: ClusterIdentity, refreshIntervalMs: number, allowExpensiveQueries = true) {
    this.identity = identity
    this.refreshIntervalMs = refreshIntervalMs
    this.allowExpensiveQueries = allowExpensiveQueries
  }

  /** The major version, which decides the accepted `compatible-with` values. */
  get major(): number {
    return Number(this.identity.version.split('.')[0])
  }

  /** The index called `name`, or a 404 `index_not_found_exception`. */
  get(name: string): EsIndex {
    const index = this.indices.get(name)
    if (index === undefined) throw indexNotFound(name)
    return index
  }

  /** The index called `name`, created with dynamic mappings when missing (auto-create on write). */
  getOrCreate(name: string): EsIndex {
    return this.indices.get(name) ?? this.create(name, {})
  }

  /** Creates an index; 400 `resource_already_exists_exception` when it exists. */
  create(name: string, body: JsonObject): EsIndex {
    checkIndexName(name)
    const existing = this.indices.get(name)
    if (existing !== undefined) {
      throw new EsError(
        400,
        'resource_already_exists_exception',
        `index [${name}/${existing.uuid}] already exists`,
        {
          extra: { index_uuid: existing.uuid, index: name },
        },
      )
    }
    const settings = flattenSettings(body.settings)
    if (settings.refresh_interval !== undefined) parseInterval(String(settings.refresh_interval))
    const mappings: Mappings = parseMappings(body.mappings)
    const index = new EsIndex(
      name,
      { number_of_shards: '1', number_of_replicas: '1', ...settings },
      mappings,
      this.refreshIntervalMs,
    )
    this.indices.set(name, index)
    return index
  }

  /**
   * Deletes the indices an expression names; 404 for a missing name. Wildcards and `_all` are
   * refused, as `action.destructive_requires_name` (default true since 8.0) does.
   */
  delete(expression: string): void {
    if (expression.split(',').some((part) => part === '_all' || part.includes('*'))) {
      throw new EsError(
        400,
        'illegal_argument_exception',
        'Wildcard expressions or all indices are not allowed',
      )
    }
    for (const index of this.resolve(expression)) {
      index.dispose()
      this.indices.delete(index.name)
    }
  }

  /**
   * The indices an expression names: comma-separated names, `*` wildcards, `_all`. A missing
   * concrete name is a 404 unless `ignoreUnavailable`; wildcards that match nothing are fine.
   */
  resolve(
    expression: string | undefined,
    options: { ignoreUnavailable?: boolean } = {},
  ): EsIndex[] {
    const parts = expression === undefined || expression === '' ? ['_all'] : expression.split(',')
    const out = new Map<string, EsIndex>()
    for (const part of parts) {
      if (part === '_all' || part === '*') {
        for (const index of this.indices.values()) out.set(index.name, index)
      } else if (part.includes('*')) {
        const pattern = new RegExp(`^${part.split('*').map(escapeRegExp).join('.*')}$`)
        for (const index of this.indices.values())
          if (pattern.test(index.name)) out.set(index.name, index)
      } else {
        const index = this.indices.get(part)
        if (index !== undefined) out.set(index.name, index)
        else if (!options.ignoreUnavailable) throw indexNotFound(part)
      }
    }
    return [...out.values()]
  }

  /** Removes every index (used between YAML tests and by `reset()`). */
  clear(): void {
    for (const index of this.indices.values()) index.dispose()
    this.indices.clear()
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Accepts `{index: {number_of_shards}}`, `{number_of_shards}` and `{"index.number_of_shards"}`. */
function flattenSettings(settings: unknown): JsonObject {
  if (settings === undefined || settings === null) return {}
  if (!isObject(settings))
    throw new EsError(400, 'settings_exception', 'Failed to load settings from [settings]')
  const out: JsonObject = {}
  for (const [key, value] of Object.entries(settings)) {
    if (key === 'index' && isObject(value)) Object.assign(out, flattenSettings(value))
    else out[key.startsWith('index.') ? key.slice('index.'.length) : key] = value
  }
  return out
}

/** Elasticsearch's index-name rules (MetadataCreateIndexService.validateIndexOrAliasName). */
export function checkIndexName(name: string): void {
  const invalid = (why: string): EsError =>
    new EsError(400, 'invalid_index_name_exception', `Invalid index name [${name}], ${why}`, {
      extra: { index_uuid: '_na_', index: name },
    })
  if (name !== name.toLowerCase()) throw invalid('must be lowercase')
  for (const character of ['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':']) {
    if (name.includes(character))
      throw invalid(
        `must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?, #, :]`,
      )
  }
  if (/^[_\-+]/.test(name)) throw invalid("must not start with '_', '-', or '+'")
  if (name === '.' || name === '..') throw invalid("must not be '.' or '..'")
  if (Buffer.byteLength(name) > 255)
    throw invalid(`index name is too long, (${Buffer.byteLength(name)} > 255)`)
}
