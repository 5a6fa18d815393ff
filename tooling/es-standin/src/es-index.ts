/**
 * One index: the realtime document map (what GET, HEAD and mget read) and the searchable
 * snapshot taken at the last refresh (what search, count and delete-by-query read), sequence
 * numbers, versions, and refresh waiters. Documents are spread over `number_of_shards` shards
 * (1 unless the index was created with more) only so that a test can make some shards fail
 * ({@link EsIndex.failing}); sequence numbers stay index-wide.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { EsError, versionConflict } from './errors.js'
import type { JsonObject } from './json.js'
import { applyDocument, type Mappings } from './mapping.js'

/** A stored document. */
export interface Doc {
  id: string
  source: JsonObject
  version: number
  seqNo: number
  primaryTerm: number
}

/** Conditions on a write. */
export interface WriteOptions {
  /** `create` fails with 409 when the document exists. */
  opType?: 'index' | 'create'
  ifSeqNo?: number | undefined
  ifPrimaryTerm?: number | undefined
}

/** The outcome of a write or delete, as the response skeleton needs it. */
export interface WriteResult {
  result: 'created' | 'updated' | 'deleted' | 'not_found'
  version: number
  seqNo: number
  primaryTerm: number
}

const PRIMARY_TERM = 1

/** A random 22-character id in the alphabet Elasticsearch uses for auto-generated ids and UUIDs. */
export function randomId(): string {
  return randomBytes(16).toString('base64url').slice(0, 22)
}

/** An index. */
export class EsIndex {
  readonly name: string
  readonly uuid = randomId()
  readonly creationDate = Date.now()
  readonly settings: JsonObject
  mappings: Mappings
  readonly live = new Map<string, Doc>()
  /** Versions of deleted documents, so a re-created document continues its version. */
  readonly #tombstones = new Map<string, number>()
  /** The documents as of the last refresh. */
  searchable = new Map<string, Doc>()
  #dirty = false
  #seqNo = -1
  #waiters: Array<() => void> = []
  #timer: NodeJS.Timeout | undefined
  readonly #refreshIntervalMs: number

  constructor(name: string, settings: JsonObject, mappings: Mappings, refreshIntervalMs: number) {
    this.name = name
    this.settings = settings
    this.mappings = mappings
    this.#refreshIntervalMs = refreshIntervalMs
  }

  /**
   * Fault injection for tests: the shards (numbered from 0) whose searches fail (query phase),
   * and those whose refreshes fail, as when a shard has no copy available. Reads by id (GET,
   * `_mget`), writes, count and delete-by-query are not affected.
   */
  readonly failing = { search: new Set<number>(), refresh: new Set<number>() }

  /** The number of primary shards (`number_of_shards`, 1 by default). */
  get shardCount(): number {
    return Math.max(1, Number(this.settings.number_of_shards ?? 1))
  }

  /**
   * The shard a document id lives on: a stable hash of the id modulo the shard count (not
   * Elasticsearch's murmur3 routing; tests need a spread, not the same one).
   */
  shardOf(id: string): number {
    let hash = 0
    for (const byte of Buffer.from(id)) hash = (hash * 31 + byte) >>> 0
    return hash % this.shardCount
  }

  /** The shards in `failing[kind]` this index has, in order. */
  failingShards(kind: 'search' | 'refresh'): number[] {
    return [...this.failing[kind]].filter((shard) => shard < this.shardCount).sort((a, b) => a - b)
  }

  /** Copies of each shard: the primary and its replicas. */
  get copiesPerShard(): number {
    return 1 + Number(this.settings.number_of_replicas ?? 1)
  }

  /** Number of shard copies in `_shards.total` (each primary plus its replicas). */
  get shardCopies(): number {
    return this.shardCount * this.copiesPerShard
  }

  /**
   * The `_shards` object of a write response (the copies of the document's shard): replicas are
   * unassigned on a one-node cluster.
   */
  get writeShards(): { total: number; successful: number; failed: number } {
    return { total: this.copiesPerShard, successful: 1, failed: 0 }
  }

  #checkConditions(id: string, current: Doc | undefined, options: WriteOptions): void {
    if (options.opType === 'create' && current !== undefined) {
      throw versionConflict(
        this.name,
        this.uuid,
        id,
        `document already exists (current version [${current.version}])`,
      )
    }
    if (options.ifSeqNo !== undefined || options.ifPrimaryTerm !== undefined) {
      const seqNo = current?.seqNo ?? -2
      const term = current?.primaryTerm ?? 0
      if (current === undefined || seqNo !== options.ifSeqNo || term !== options.ifPrimaryTerm) {
        const now =
          current === undefined
            ? 'document does not exist'
            : `current document has seqNo [${seqNo}] and primary term [${term}]`
        throw versionConflict(
          this.name,
          this.uuid,
          id,
          `required seqNo [${options.ifSeqNo}], primary term [${options.ifPrimaryTerm}]. ${now}`,
        )
      }
    }
  }

  /** Indexes `source` under `id`; throws an {@link EsError} when the document or a condition is refused. */
  write(id: string, source: JsonObject, options: WriteOptions = {}): WriteResult {
    const current = this.live.get(id)
    this.#checkConditions(id, current, options)
    this.mappings = applyDocument(this.mappings, source, id)
    const version = (current?.version ?? this.#tombstones.get(id) ?? 0) + 1
    const doc: Doc = { id, source, version, seqNo: ++this.#seqNo, primaryTerm: PRIMARY_TERM }
    this.live.set(id, doc)
    this.#tombstones.delete(id)
    this.#markDirty()
    return {
      result: current === undefined ? 'created' : 'updated',
      version,
      seqNo: doc.seqNo,
      primaryTerm: PRIMARY_TERM,
    }
  }

  /** Deletes `id`. A missing document still takes a sequence number, as in Elasticsearch. */
  remove(id: string, options: WriteOptions = {}): WriteResult {
    const current = this.live.get(id)
    this.#checkConditions(id, current, options)
    const version = (current?.version ?? this.#tombstones.get(id) ?? 0) + 1
    const seqNo = ++this.#seqNo
    this.live.delete(id)
    this.#tombstones.set(id, version)
    this.#markDirty()
    return {
      result: current === undefined ? 'not_found' : 'deleted',
      version,
      seqNo,
      primaryTerm: PRIMARY_TERM,
    }
  }

  /**
   * Makes every write so far searchable and wakes `refresh=wait_for` waiters; returns the shards
   * whose refresh failed ({@link failing}): their documents stay as of their last refresh.
   */
  refresh(): number[] {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    const failed = this.failingShards('refresh')
    if (this.#dirty && failed.length === 0) {
      this.searchable = new Map(this.live)
      this.#dirty = false
    } else if (this.#dirty) {
      const stale = (id: string): boolean => failed.includes(this.shardOf(id))
      const next = new Map<string, Doc>()
      for (const [id, doc] of this.searchable) if (stale(id)) next.set(id, doc)
      for (const [id, doc] of this.live) if (!stale(id)) next.set(id, doc)
      this.searchable = next
    }
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
    return failed
  }

  /** Resolves at the next refresh (periodic or requested), as `refresh=wait_for` does. */
  waitForRefresh(): Promise<void> {
    if (!this.#dirty) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  /** The refresh interval in force: the index's `refresh_interval` setting, else the server's. */
  get refreshIntervalMs(): number {
    const setting = this.settings.refresh_interval
    if (setting === undefined) return this.#refreshIntervalMs
    return parseInterval(String(setting))
  }

  #markDirty(): void {
    this.#dirty = true
    const interval = this.refreshIntervalMs
    if (this.#timer === undefined && interval > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        this.refresh()
      }, interval)
      this.#timer.unref()
    }
  }

  /** Stops the periodic refresh timer (the index is being deleted or the server disposed). */
  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.refresh()
  }
}

/** Parses an Elasticsearch time value (`1s`, `500ms`, `-1`) into milliseconds; -1 disables. */
/** The primary shards of `indices`, together. */
export function primaryShards(indices: readonly EsIndex[]): number {
  return indices.reduce((sum, index) => sum + index.shardCount, 0)
}

export function parseInterval(value: string): number {
  if (value === '-1') return -1
  const match = /^(\d+)(ms|s|m|h)?$/.exec(value.trim())
  if (match === null) {
    throw new EsError(
      400,
      'illegal_argument_exception',
      `failed to parse setting [index.refresh_interval] with value [${value}] as a time value`,
    )
  }
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 'ms') as 'ms']
  return Number(match[1]) * unit
}
