/**
 * `ElasticKV`: the `elastic` backend (SPEC §2, §6). Each entry is one document in one index; see
 * document.ts for its shape and ids.ts for the id schemes. Reads and writes issued together are
 * coalesced into one `_mget` / `_bulk`; keys(), buckets() and deleteBucket() go through search
 * (`search_after`, a composite aggregation, delete-by-query): listings after refreshing what this
 * store wrote, deleteBucket() after a refresh every time.
 *
 * @module
 */
import { constants } from 'node:buffer'
import type { estypes } from '@elastic/elasticsearch'
import {
  AbstractKVStore,
  copyBytes,
  InvalidConfigError,
  type NormalizedKeysOptions,
  NotSupportedError,
} from '@kv/core'
import type { Batcher } from './batcher.js'
import { BucketGate } from './bucket-gate.js'
import { IdCollisionError } from './collision.js'
import { type ElasticKVConfig, type ElasticKVOptions, elasticSection } from './config.js'
import { Connection } from './connection.js'
import {
  buildSource,
  decodeContent,
  isOwner,
  KEY_FIELDS,
  keyFromHex,
  ownerOf,
  type StoredSource,
  sortValuesBelow,
} from './document.js'
import { contentionError, incompleteAnswerError, toKVError } from './errors.js'
import { IdSequencer } from './id-sequencer.js'
import { documentId, type IdScheme } from './ids.js'
import {
  checkMapping,
  createIndexBody,
  type FieldMapping,
  type SourceMapping,
  sourceProblem,
} from './mapping.js'
import {
  createBatchers,
  type ReadItem,
  type ReadResult,
  type WriteItem,
  type WriteResult,
} from './operations.js'
import { Refresher } from './refresher.js'

/** The name `elastic` registers under. */
export const ELASTIC = 'elastic'

/**
 * Bytes kept for everything in a request besides the base64 value: the bulk action line, the id,
 * the bucket (at most 255 bytes, JSON-escaped) and the key's hex (at most 128 KiB).
 */
export const REQUEST_ENVELOPE_BYTES = 256 * 1024

/**
 * The largest request body the client can send, whatever `max_content_length` says: it builds
 * each body as one string, and Node's strings hold at most `buffer.constants.MAX_STRING_LENGTH`
 * characters (536 870 888 on 64-bit Node 22 and 24). The bodies are mostly ASCII, so bytes count
 * at least as many as characters.
 */
export const MAX_REQUEST_BYTES = constants.MAX_STRING_LENGTH

/** The largest request body sent to a cluster whose `http.max_content_length` is `maxContentLength`. */
export function requestLimitFor(maxContentLength: number): number {
  return Math.min(maxContentLength, MAX_REQUEST_BYTES)
}

/**
 * The largest value whose request fits in `maxContentLength`, and in the longest string Node can
 * build, after base64 (4 bytes per 3).
 */
export function maxValueBytesFor(maxContentLength: number): number {
  return Math.max(
    0,
    Math.floor((requestLimitFor(maxContentLength) - REQUEST_ENVELOPE_BYTES) / 4) * 3,
  )
}

/**
 * Most keys asked for in one keys() page, whatever `page_size` says: the answer is read into one
 * string (at most {@link MAX_REQUEST_BYTES} long, like a request), and each hit may carry a 64 KiB
 * key as 128 KiB of hex in its sort values (plus 1 KiB for the JSON around them).
 */
export const MAX_KEYS_PER_PAGE = Math.floor(MAX_REQUEST_BYTES / (2 * 64 * 1024 + 1024))

/**
 * The longest close() waits for its refresh (at most `request_timeout_ms`, if that is shorter).
 * The refresh only makes this store's writes searchable sooner: they are already durable, and
 * the cluster's periodic refresh (`index.refresh_interval`, 1 s by default) makes them
 * searchable anyway, so its failure is ignored. A healthy cluster answers a refresh in well
 * under a second; waiting the full `request_timeout_ms` (30 s by default) for a cluster that does
 * not answer would hold up a process's shutdown for nothing. 5 s leaves a slow but working
 * cluster time to answer; the minimum keeps close() within the bound a user chose for requests.
 */
export const CLOSE_REFRESH_TIMEOUT_MS = 5_000

/** Attempts of a conditional write under `id_scheme: infini` before giving up on contention. */
const CONDITIONAL_ATTEMPTS = 8
/**
 * The pause after the n-th version conflict of a conditional write is random, up to n times this
 * many milliseconds. Without it, writers of one key that conflicted retry in lockstep: each round
 * only one of them wins, and a ninth writer loses all 8 attempts. Spread out, most succeed on the
 * next attempt. A write that meets no conflict never waits.
 */
const CONFLICT_BACKOFF_MS = 10

/** Waits a random time after the `attempt`-th version conflict (see CONFLICT_BACKOFF_MS). */
function conflictBackoff(attempt: number): Promise<void> {
  return new Promise((resolve) =>
    setTimeout(resolve, Math.random() * CONFLICT_BACKOFF_MS * attempt),
  )
}

const INFINI_OWNER_FIELDS = ['bucket', ...KEY_FIELDS]

/** Everything that exists only while the store is open. */
interface OpenState {
  connection: Connection
  index: string
  scheme: IdScheme
  reads: Batcher<ReadItem, ReadResult>
  writes: Batcher<WriteItem, WriteResult>
  refresher: Refresher
  /** Whether this store has written or deleted since open() (close() refreshes only then). */
  wrote: boolean
  /** `id_scheme: infini`: the read-then-write of each document id, one at a time, in issue order. */
  conditional: IdSequencer
  /**
   * Each bucket's writes and deletes in issue order with its deleteBucket() calls; under `infini`
   * also which deletions a write issued after them waits for (see #currentForWrite), and every
   * bucket's writes and deletes in issue order with every deleteBucket() call (a write of another
   * bucket issued before the call meets the entries it deletes).
   */
  gate: BucketGate
}

/**
 * The Elasticsearch backend. `new ElasticKV({ endpoint, index_name, … })` bypasses the
 * configuration file; importing `@kv/elastic` registers one configured from the `elastic` section.
 */
export class ElasticKV extends AbstractKVStore<ElasticKVConfig> {
  #state: OpenState | undefined

  /** @param options the `elastic` keys; when given, the configuration file is not read. */
  constructor(options?: ElasticKVOptions) {
    super(ELASTIC, {
      section: elasticSection,
      options,
      maxValueBytes: (config) => maxValueBytesFor(config.max_content_length),
    })
  }

  #open(): OpenState {
    // Core calls the protected methods only while the store is open.
    return this.#state!
  }

  protected async _open(): Promise<void> {
    const config = this.config
    const connection = await Connection.create(config)
    const index = config.index_name
    try {
      await this.#checkCluster(connection)
      await this.#ensureIndex(connection, index)
    } catch (error) {
      await connection.close().catch(() => {})
      throw error
    }
    const envelope = requestLimitFor(config.max_content_length) - REQUEST_ENVELOPE_BYTES
    const { reads, writes } = createBatchers(connection, index, {
      maxItems: config.batch_max_ops,
      maxBytes: Math.max(1, Math.min(config.batch_max_bytes, envelope)),
      maxReadBytes: Math.max(1, envelope),
      refresh: config.refresh,
      maxContentLength: config.max_content_length,
    })
    const refresher = new Refresher(async (timeoutMs) => {
      const what = `refreshing index ${index}`
      const response = await connection.call(
        what,
        (options) => connection.client.indices.refresh({ index }, options),
        'maintenance or manage',
        timeoutMs,
      )
      // A refresh that failed on some shards still answers 200, with `_shards.failed` > 0: the
      // writes on those shards are not searchable, so a listing, or deleteBucket(), would miss
      // them.
      checkShards(response, what, connection)
    })
    // Another store (or process) may have written without a refresh yet: the first listing
    // refreshes. (close() does not: it refreshes only for this store's own writes.)
    refresher.markDirty()
    this.#state = {
      connection,
      index,
      scheme: config.id_scheme,
      reads,
      writes,
      refresher,
      wrote: false,
      conditional: new IdSequencer(),
      gate: new BucketGate({ acrossBuckets: config.id_scheme === 'infini' }),
    }
  }

  protected async _close(): Promise<void> {
    const state = this.#state
    this.#state = undefined
    if (state === undefined) return
    // Make this store's writes searchable for whoever lists next (a store that wrote nothing
    // sends nothing). They are already durable, so a failure here (the cluster went away) does not
    // fail close(), and close() does not wait long for it: see CLOSE_REFRESH_TIMEOUT_MS. Its
    // deadline aborts the request, so no socket or timer of it outlives close().
    if (this.config.refresh === 'false' && state.wrote) {
      const timeoutMs = Math.min(this.config.request_timeout_ms, CLOSE_REFRESH_TIMEOUT_MS)
      await state.refresher.ensureFresh(timeoutMs).catch(() => {})
    }
    await state.connection.close()
  }

  /** Refuses clusters older than 8 (the 8.x client cannot talk to them) or newer than 9. */
  async #checkCluster(connection: Connection): Promise<void> {
    // `GET /` is the cluster action cluster:monitor/main, which the `monitor` cluster privilege
    // grants (elastic/elasticsearch#83179): a user with only index privileges is refused it.
    const info = await connection.call(
      'reading the cluster version (GET /)',
      (options) => connection.client.info({}, options),
      { cluster: 'monitor', action: 'cluster:monitor/main' },
    )
    const version = info.version?.number ?? ''
    const major = Number.parseInt(version, 10)
    if (!(major === 8 || major === 9)) {
      throw new NotSupportedError(
        `Elasticsearch at ${connection.where} is version ${version || 'unknown'}; @kv/elastic supports 8.x and 9.x clusters.`,
      )
    }
  }

  /** Creates the index when missing (a concurrent creator is fine) and checks its mapping. */
  async #ensureIndex(connection: Connection, index: string): Promise<void> {
    const { client } = connection
    const exists = await connection.call(
      `checking index ${index}`,
      (options) => client.indices.exists({ index }, options),
      'view_index_metadata or manage',
    )
    if (!exists) {
      await connection.call(
        `creating index ${index}`,
        (options) =>
          client.indices
            .create({ index, ...createIndexBody() }, options)
            .catch((error: { body?: { error?: { type?: string; reason?: string } } }) => {
              const type = error.body?.error?.type
              if (type === 'resource_already_exists_exception') return undefined
              if (type === 'invalid_index_name_exception') {
                throw new InvalidConfigError(
                  `elastic.index_name: ${error.body?.error?.reason ?? `invalid index name [${index}]`}`,
                  {
                    key: 'elastic.index_name',
                  },
                )
              }
              throw error
            }),
        'create_index or manage',
      )
    }
    const mappings = await connection.call(
      `reading the mapping of index ${index}`,
      (options) => client.indices.getMapping({ index }, options),
      'view_index_metadata or manage',
    )
    // The name is valid (config.ts), so no wildcard: several entries mean an alias of several
    // indices. Writes through it fail (no single index to write to) and `_mget` through it is
    // refused, while searches and delete-by-query would span every one of them: refuse it.
    const names = Object.keys(mappings)
    if (names.length !== 1) {
      throw new InvalidConfigError(
        `elastic.index_name: [${index}] names ${names.length} indices (${names.join(', ')}), not one. Set index_name to one index, or to an alias of exactly one index.`,
        { key: 'elastic.index_name' },
      )
    }
    for (const [name, entry] of Object.entries(mappings)) {
      const properties = (entry.mappings?.properties ?? {}) as Record<string, FieldMapping>
      const { problems, missing } = checkMapping(properties)
      const source = sourceProblem(entry.mappings?._source as SourceMapping | undefined)
      if (source !== undefined) problems.push(source)
      if (problems.length > 0) {
        throw new InvalidConfigError(
          `elastic.index_name: index [${name}] has a mapping kv cannot use: ${problems.join('; ')}. Choose another index_name, or create the index with the mapping in the @kv/elastic README.`,
          { key: 'elastic.index_name' },
        )
      }
      if (Object.keys(missing).length > 0) {
        // An index created by the Go framework maps only `content`: add the fields kv needs.
        await connection.call(
          `adding fields to the mapping of index ${name}`,
          (options) =>
            client.indices.putMapping({ index: name, properties: missing as never }, options),
          'manage',
        )
      }
    }
  }

  // ---- reads ---------------------------------------------------------------------------------

  async #read(id: string, source: true | string[]): Promise<ReadResult | undefined> {
    const state = this.#open()
    const result = await state.reads.add({ id, source })
    if (result.error !== undefined) {
      if (result.error.type === 'index_not_found_exception') return undefined
      throw this.#itemError(undefined, result.error, `reading document ${id}`, 'read')
    }
    return result.found ? result : undefined
  }

  /** Whether a stored document is (`bucket`, `key`)'s; a Go-written one counts under `infini`. */
  #accepts(source: StoredSource, bucket: string, key: Uint8Array): boolean {
    const owner = ownerOf(source)
    if (owner.kind === 'unknown') return this.#open().scheme === 'infini'
    return isOwner(owner, bucket, key)
  }

  // The protected methods that use `key` after an await work on a copy: core's contract lets
  // the caller, and core itself, reuse the buffer as soon as the method returns. A real copy
  // (copyBytes): `slice()` of a Node.js Buffer is a view of the same memory.

  protected async _get(bucket: string, given: Uint8Array): Promise<Uint8Array | null> {
    const key = copyBytes(given)
    const { scheme, index } = this.#open()
    const id = documentId(scheme, bucket, key)
    const doc = await this.#read(id, true)
    if (doc?._source === undefined || !this.#accepts(doc._source, bucket, key)) return null
    return decodeContent(doc._source.content, () => `Document ${id} of index ${index}`)
  }

  protected override async _has(bucket: string, given: Uint8Array): Promise<boolean> {
    const key = copyBytes(given)
    const id = documentId(this.#open().scheme, bucket, key)
    const doc = await this.#read(id, INFINI_OWNER_FIELDS)
    return doc?._source !== undefined && this.#accepts(doc._source, bucket, key)
  }

  // ---- writes --------------------------------------------------------------------------------

  #itemError(
    status: number | undefined,
    error: { type?: string; reason?: string },
    what: string,
    privilege: string,
  ) {
    const { connection, index } = this.#open()
    return toKVError(
      { name: 'ResponseError', statusCode: status, body: { error } },
      `${what} in index ${index}`,
      connection.where,
      connection.scrub,
      privilege,
    )
  }

  /** The error of a conditional write or delete whose every attempt met a version conflict. */
  #contention(id: string, doing: 'Writing' | 'Deleting', last: WriteResult) {
    const what = `${doing.toLowerCase()} document ${id}`
    return contentionError(
      `${doing} document ${id} in index ${this.#open().index}`,
      CONDITIONAL_ATTEMPTS,
      this.#itemError(409, last.error ?? {}, what, 'write'),
    )
  }

  /** Sends one write; returns its item result, or throws for a failure other than a 409. */
  async #write(item: WriteItem): Promise<WriteResult> {
    const state = this.#open()
    const result = await state.writes.add(item)
    if (result.status === 409 && item.ifSeqNo !== undefined) return result
    if (result.status === 409 && item.op === 'create') return result
    const ok =
      result.error === undefined &&
      (result.status < 300 || (item.op === 'delete' && result.status === 404))
    if (!ok && !(item.op === 'delete' && result.error?.type === 'index_not_found_exception')) {
      throw this.#itemError(
        result.status,
        result.error ?? {},
        `${item.op === 'delete' ? 'deleting' : 'writing'} document ${item.id}`,
        'write',
      )
    }
    if (this.config.refresh === 'false') {
      state.refresher.markDirty()
      state.wrote = true
    }
    return result
  }

  /** The seq_no, primary term and owner of a stored document, for a conditional write. */
  async #current(id: string) {
    const doc = await this.#read(id, INFINI_OWNER_FIELDS)
    if (doc === undefined) return undefined
    return {
      ifSeqNo: doc._seq_no!,
      ifPrimaryTerm: doc._primary_term!,
      owner: ownerOf(doc._source ?? {}),
    }
  }

  /**
   * The stored document of `id`, for a write of (`bucket`, `key`) issued when the gate's mark was
   * `mark`. A document of another entry whose bucket a deleteBucket() issued before the write is
   * deleting is, in issue order, deleted before the write: wait for that deletion to settle
   * (failed or not) and read again, rather than refuse the write. A deleteBucket() issued after
   * the write is not waited for: in issue order the write came first and met the entry (and that
   * deletion waits for this write, see bucket-gate.ts, so the entry is still there to meet).
   */
  async #currentForWrite(id: string, bucket: string, key: Uint8Array, mark: number) {
    const waited = new Set<Promise<void>>()
    for (;;) {
      const current = await this.#current(id)
      if (current?.owner.kind !== 'entry' || isOwner(current.owner, bucket, key)) return current
      const deletion = this.#open().gate.deletionIssuedBefore(current.owner.bucket, mark)
      if (deletion === undefined || waited.has(deletion)) return current
      waited.add(deletion)
      await deletion
    }
  }

  protected async _put(bucket: string, given: Uint8Array, value: Uint8Array): Promise<void> {
    // `value` is consumed before the first await (buildSource encodes it); `key` is not.
    const key = copyBytes(given)
    const { scheme, conditional, gate } = this.#open()
    const id = documentId(scheme, bucket, key)
    const source = buildSource(bucket, key, value)
    if (scheme === 'default') {
      await gate.write(bucket, () => this.#write({ op: 'index', id, source }))
      return
    }
    // infini: never overwrite another entry that shares the id. Read the owner, then write only
    // if the document is still the one read (if_seq_no), or still absent (create). One write of
    // an id at a time, in issue order (the write joins the id's queue now, even when it waits for
    // a deletion of its bucket), so that of this store's writes of a key the one issued last wins,
    // and of two colliding entries the one issued first is the one kept.
    const mark = gate.mark()
    await gate.write(
      bucket,
      () => this.#putConditional(id, bucket, key, source, mark),
      (start) => conditional.run(id, start),
    )
  }

  async #putConditional(
    id: string,
    bucket: string,
    key: Uint8Array,
    source: ReturnType<typeof buildSource>,
    mark: number,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.#currentForWrite(id, bucket, key, mark)
      if (
        current !== undefined &&
        current.owner.kind === 'entry' &&
        !isOwner(current.owner, bucket, key)
      ) {
        throw new IdCollisionError(
          id,
          bucket,
          key,
          current.owner.bucket,
          keyFromHex([current.owner.keyHex]),
        )
      }
      const item: WriteItem =
        current === undefined
          ? { op: 'create', id, source }
          : {
              op: 'index',
              id,
              source,
              ifSeqNo: current.ifSeqNo,
              ifPrimaryTerm: current.ifPrimaryTerm,
            }
      const result = await this.#write(item)
      if (result.status !== 409) return
      // The document changed since it was read: by another process, or by a write of this store
      // that failed without an answer and reached the cluster late (this store no longer runs
      // it, so the sequencer let this write go). Either way this write has not been applied:
      // read again and write on top of what is there now (the next read also catches another
      // entry that took the id meanwhile). Returning without writing would resolve a write whose
      // value is not stored, and let the late one win.
      if (attempt >= CONDITIONAL_ATTEMPTS) throw this.#contention(id, 'Writing', result)
      await conflictBackoff(attempt)
    }
  }

  protected async _delete(bucket: string, given: Uint8Array): Promise<void> {
    const key = copyBytes(given)
    const { scheme, conditional, gate } = this.#open()
    const id = documentId(scheme, bucket, key)
    if (scheme === 'default') {
      await gate.write(bucket, () => this.#write({ op: 'delete', id }))
      return
    }
    // In the id's queue in issue order, as a write (see _put). It never waits for a deletion of
    // another bucket: an entry of that bucket under the id means this key holds nothing to
    // delete, whether or not that entry is being deleted.
    await gate.write(
      bucket,
      () => this.#deleteConditional(id, bucket, key),
      (start) => conditional.run(id, start),
    )
  }

  async #deleteConditional(id: string, bucket: string, key: Uint8Array): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.#current(id)
      // Absent, or another entry's document: this key holds nothing to delete.
      if (current === undefined) return
      if (current.owner.kind === 'entry' && !isOwner(current.owner, bucket, key)) return
      // Deleted only if unchanged since it was read (never another entry that took the id
      // meanwhile). A 409: it changed (another process, or a late write of this store, see
      // #putConditional); read again and delete what is there now.
      const result = await this.#write({
        op: 'delete',
        id,
        ifSeqNo: current.ifSeqNo,
        ifPrimaryTerm: current.ifPrimaryTerm,
      })
      if (result.status !== 409) return
      if (attempt >= CONDITIONAL_ATTEMPTS) throw this.#contention(id, 'Deleting', result)
      await conflictBackoff(attempt)
    }
  }

  // ---- listings ------------------------------------------------------------------------------

  async #beforeListing(): Promise<void> {
    if (this.config.refresh_before_listing) await this.#open().refresher.ensureFresh()
  }

  protected async _deleteBucket(bucket: string): Promise<void> {
    // In issue order with this store's writes and deletes of the bucket (see bucket-gate.ts):
    // those issued before are sent and answered first, so that the refresh below makes them
    // searchable and they are deleted; those issued after wait until the deletion is over. Under
    // `infini` it also waits for the writes and deletes of other buckets issued before it: they
    // meet the colliding entries of this bucket, which it must not delete under them.
    await this.#open().gate.deleteBucket(bucket, () => this.#deleteByQuery(bucket))
  }

  async #deleteByQuery(bucket: string): Promise<void> {
    const { connection, index, refresher } = this.#open()
    // Delete-by-query deletes only what its search sees, which is the index as of its last
    // refresh: refresh first, whoever wrote and whatever refresh_before_listing says, so that
    // every entry acknowledged before this call is deleted. (Its own `refresh: true` comes after
    // the deletion, so that listings stop showing the deleted entries.)
    await refresher.refreshNow()
    await connection.call(
      `deleting bucket ${JSON.stringify(bucket)} from index ${index}`,
      (options) =>
        connection.client.deleteByQuery(
          { index, query: { term: { bucket } }, conflicts: 'proceed', refresh: true },
          options,
        ),
      'read, and delete or write,',
    )
  }

  protected async *_keys(
    bucket: string,
    { prefix, limit }: NormalizedKeysOptions,
  ): AsyncIterable<Uint8Array> {
    await this.#beforeListing()
    const { connection, index } = this.#open()
    const size = Math.min(this.config.page_size, MAX_KEYS_PER_PAGE, limit)
    // A prefix is not a `prefix` query: a cluster with `search.allow_expensive_queries: false`
    // refuses prefix (and keyword range) queries. The keys that start with it are adjacent in key
    // order: start just below them and stop at the first key that does not start with it.
    const hasPrefix = prefix !== undefined && prefix.length > 0
    const prefixHex = hasPrefix ? Buffer.from(prefix).toString('hex') : ''
    let after: string[] | undefined = hasPrefix ? sortValuesBelow(prefix) : undefined
    // The sort values of the last key yielded. Two documents can hold one (bucket, key) when
    // stores of both id schemes wrote it to one index (their ids differ); sorted, they are
    // adjacent, and the key is listed once.
    let last: string | undefined
    for (;;) {
      const what = `listing keys of bucket ${JSON.stringify(bucket)} in index ${index}`
      const response = await connection.call(
        what,
        (options) =>
          connection.client.search(
            {
              index,
              query: { bool: { filter: [{ term: { bucket } }] } },
              sort: KEY_FIELDS.map((field) => ({ [field]: 'asc' as const })),
              size,
              _source: false,
              track_total_hits: false,
              ...(after === undefined ? {} : { search_after: after }),
              allow_partial_search_results: false,
              filter_path: ['hits.hits.sort', ...COMPLETENESS_FIELDS],
            },
            options,
          ),
        'read',
      )
      checkShards(response, what, connection)
      const hits = response.hits?.hits ?? []
      for (const hit of hits) {
        const sort = hit.sort ?? []
        if (hasPrefix && !sort.join('').startsWith(prefixHex)) return
        const joined = sort.join(',')
        if (joined === last) continue
        last = joined
        yield keyFromHex(sort)
      }
      if (hits.length < size) return
      after = hits[hits.length - 1]!.sort as string[]
    }
  }

  protected async *_buckets(): AsyncIterable<string> {
    await this.#beforeListing()
    const { connection, index } = this.#open()
    const size = this.config.page_size
    let after: Record<string, string> | undefined
    for (;;) {
      const what = `listing buckets of index ${index}`
      const response = await connection.call(
        what,
        (options) =>
          connection.client.search(
            {
              index,
              size: 0,
              track_total_hits: false,
              aggs: {
                buckets: {
                  composite: {
                    size,
                    sources: [{ bucket: { terms: { field: 'bucket' } } }],
                    ...(after ? { after } : {}),
                  },
                },
              },
              allow_partial_search_results: false,
              filter_path: ['aggregations.buckets.buckets.key', ...COMPLETENESS_FIELDS],
            },
            options,
          ),
        'read',
      )
      checkShards(response, what, connection)
      const page =
        (
          response.aggregations?.buckets as
            | { buckets?: Array<{ key: { bucket: string } }> }
            | undefined
        )?.buckets ?? []
      for (const entry of page) yield entry.key.bucket
      if (page.length < size) return
      after = page[page.length - 1]!.key
    }
  }
}

/**
 * What a search or refresh answer says about its completeness, kept by `filter_path`. Searches
 * send `allow_partial_search_results: false`, so that Elasticsearch fails them (a
 * `search_phase_execution_exception`) rather than answer 200 with the hits of the shards that
 * did not fail; the default, true, returns "partial results if there are request timeouts or
 * shard failures" (search API, https://www.elastic.co/guide/en/elasticsearch/reference/current/search-search.html).
 * `_shards.failed` and `timed_out` are checked as well: a refresh has no such parameter and
 * answers 200 when some shards failed.
 */
const COMPLETENESS_FIELDS = ['_shards.failed', '_shards.total', '_shards.failures', 'timed_out']

/** Throws when a search or refresh answer says some shards failed or it timed out. */
function checkShards(
  response: { _shards?: estypes.ShardStatistics; timed_out?: boolean },
  what: string,
  connection: Connection,
): void {
  const failed = response._shards?.failed ?? 0
  if (failed === 0 && response.timed_out !== true) return
  throw incompleteAnswerError(response, what, connection.where, connection.scrub)
}
