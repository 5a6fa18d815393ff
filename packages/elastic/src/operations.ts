/**
 * The two coalesced request kinds: reads become one realtime `_mget`, writes one `_bulk`. Each
 * item's answer (a document, or a bulk item's status and error) goes back to its caller. Both
 * weigh their items exactly, so that a request body stays within `maxBytes`; a request the
 * cluster still refuses as too large (its `http.max_content_length` is smaller than configured)
 * is sent again in halves ({@link sendInParts}).
 *
 * @module
 */
import type { Client } from '@elastic/elasticsearch'
import { BackendError, BackendUnavailableError, InvalidConfigError, isKVError } from '@kv/core'
import { Batcher, ItemFailure } from './batcher.js'
import { showKey } from './collision.js'
import type { Connection } from './connection.js'
import { documentBytes, KEY_FIELDS, keyFromHex, type StoredSource } from './document.js'
import { AnswerTooLongError, RequestTooLargeError } from './errors.js'

/** One document to read: its id and which `_source` fields to fetch. */
export interface ReadItem {
  id: string
  /** `true` for the whole source, or the fields to include. */
  source: true | string[]
}

/** One `_mget` answer. */
export interface ReadResult {
  found?: boolean
  _source?: StoredSource
  _seq_no?: number
  _primary_term?: number
  error?: { type?: string; reason?: string }
}

/** One write: index (or create) a document, or delete one, optionally conditioned on its seq_no. */
export interface WriteItem {
  op: 'index' | 'create' | 'delete'
  id: string
  source?: Record<string, string>
  ifSeqNo?: number
  ifPrimaryTerm?: number
}

/** The `_bulk` action line of `item` in `index`. */
function actionOf(index: string, item: WriteItem): Record<string, unknown> {
  const conditions =
    item.ifSeqNo === undefined
      ? {}
      : { if_seq_no: item.ifSeqNo, if_primary_term: item.ifPrimaryTerm }
  return { [item.op]: { _index: index, _id: item.id, ...conditions } }
}

/**
 * The bytes `item` takes in a `_bulk` body: its action line and, unless it is a delete, its
 * document line, each followed by a newline (as the client's serializer writes them).
 */
export function bulkItemBytes(index: string, item: WriteItem): number {
  const action = Buffer.byteLength(JSON.stringify(actionOf(index, item))) + 1
  return item.source === undefined ? action : action + documentBytes(item.source) + 1
}

/** One `_bulk` item answer. */
export interface WriteResult {
  status: number
  error?: { type?: string; reason?: string }
}

/** Limits of the coalescing. */
export interface CoalescingLimits {
  /** Most operations in one request of either kind. */
  maxItems: number
  /** Most bytes of one `_bulk` body (`batch_max_bytes`, within the cluster's limit). */
  maxBytes: number
  /** Most bytes of one `_mget` body (the cluster's limit, less the envelope). */
  maxReadBytes: number
  refresh: 'true' | 'false' | 'wait_for'
  /** `max_content_length` as configured, for the message of a write the cluster refuses with 413. */
  maxContentLength: number
}

/** Requests in flight per kind; later operations wait and are coalesced into the next request. */
const MAX_IN_FLIGHT = 4

/** The `_mget` entry of `item` in `index`. */
function mgetEntryOf(
  index: string,
  item: ReadItem,
): { _index: string; _id: string; _source: true | string[] } {
  return { _index: index, _id: item.id, _source: item.source }
}

/** `{"_index":` `,"_id":` `,"_source":` `}` and the comma after the entry. */
const MGET_ENTRY_PUNCTUATION = 10 + 7 + 11 + 1 + 1
const sourceJsonBytes = new WeakMap<string[], number>()

/**
 * The bytes `item` takes in an `_mget` body: its entry and the comma after it. Counted rather
 * than serialized (every read is weighed): ids are hex, which JSON writes as it is, and the
 * field lists are a few constant arrays.
 */
export function mgetItemBytes(indexJsonBytes: number, item: ReadItem): number {
  let source = 4 // true
  if (item.source !== true) {
    source = sourceJsonBytes.get(item.source) ?? Buffer.byteLength(JSON.stringify(item.source))
    sourceJsonBytes.set(item.source, source)
  }
  return MGET_ENTRY_PUNCTUATION + indexJsonBytes + item.id.length + 2 + source
}

/** The bytes of `index` as a JSON string. */
export function jsonBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text))
}

/**
 * Sends `items` as one request; when `inParts(error)` says that smaller requests may succeed
 * where it failed, sends them again as two halves, the first before the second, and so on down
 * to single items, so that only an item that fails alone fails (with `alone(item, error)`).
 * The cases: a request refused as too large (413), which the cluster refuses before applying
 * any of it, so resending it applies nothing twice; an `_mget` answer too long for the client
 * (a read applies nothing). The halves go one after the other, in order: the batcher sends the
 * writes of one document issued together in one request so that they are applied in issue
 * order, and they still are. Once a part fails for another reason (no answer, refused
 * credentials, …) the items not sent yet fail without being sent — the same would most likely
 * befall them, each after its own wait — with an error that says they were not sent
 * ({@link notSent}). A part answered with a different number of results than it has items
 * fails alone (its results cannot be told apart), so that no result reaches another caller.
 */
export async function sendInParts<Item, Result>(
  items: Item[],
  send: (items: Item[]) => Promise<Result[]>,
  inParts: (error: unknown) => boolean,
  alone: (item: Item, error: unknown) => unknown,
): Promise<Array<Result | ItemFailure>> {
  const outcomes: Array<Result | ItemFailure> = []
  let stopped: { error: unknown } | undefined
  const sendPart = async (part: Item[]): Promise<void> => {
    if (stopped !== undefined) {
      for (const _ of part) outcomes.push(new ItemFailure(stopped.error))
      return
    }
    try {
      const results = await send(part)
      if (results.length !== part.length) {
        const wrong = new BackendError(
          `Elasticsearch answered a request of ${part.length} operation(s) with ${results.length} result(s); none of them can be told apart, so each of these operations fails (it may have been applied). Check the cluster or the proxy in front of it.`,
        )
        for (const _ of part) outcomes.push(new ItemFailure(wrong))
        return
      }
      for (const result of results) outcomes.push(result)
    } catch (error) {
      if (!inParts(error)) {
        stopped = { error: notSent(error) }
        for (const _ of part) outcomes.push(new ItemFailure(error))
      } else if (part.length === 1) {
        outcomes.push(new ItemFailure(alone(part[0]!, error)))
      } else {
        const half = Math.ceil(part.length / 2)
        await sendPart(part.slice(0, half))
        await sendPart(part.slice(half))
      }
    }
  }
  await sendPart(items)
  return outcomes
}

/**
 * The error of an operation that was not sent because an earlier part of its request failed
 * with `error`. A failure without an answer (`KV_BACKEND_UNAVAILABLE`) means for the operations
 * sent that they may have been applied; these were not, and say so. Other errors (refused
 * credentials, …) apply to them as they are.
 */
function notSent(error: unknown): unknown {
  if (!isKVError(error, 'KV_BACKEND_UNAVAILABLE')) return error
  return new BackendUnavailableError(
    `This operation was not sent, so nothing of it was applied: an earlier part of its request failed (${error.message}). Retrying later may work.`,
    { cause: error },
  )
}

/**
 * The error of a write whose request alone the cluster refused as too large (413). The value is
 * within the store's limit (core checks it against the one derived from `max_content_length`
 * before anything is sent), so the input is not bad: the cluster's `http.max_content_length` is
 * smaller than configured. KV_INVALID_CONFIG naming `elastic.max_content_length`, the document's
 * bucket and key, and the request's size. A delete (which carries no document) keeps the error.
 */
function writeTooLarge(index: string, where: string, maxContentLength: number) {
  return (item: WriteItem, error: unknown): unknown => {
    const source = item.source
    if (!(error instanceof RequestTooLargeError) || source === undefined) return error
    const key = keyFromHex(KEY_FIELDS.map((field) => source[field]))
    return new InvalidConfigError(
      `Elasticsearch at ${where} refused to write bucket ${JSON.stringify(source.bucket ?? '')} key ${showKey(key)} to index ${index} as too large (HTTP 413), although its value is within this store's limit: the request, sent alone, was ${bulkItemBytes(index, item)} bytes, over the cluster's http.max_content_length, which is smaller than elastic.max_content_length (${maxContentLength} bytes) from which that limit is derived. Set elastic.max_content_length to the cluster's http.max_content_length (a value too large for the cluster is then refused with KV_INVALID_ARGUMENT before anything is sent), or raise http.max_content_length on the cluster. Nothing of this write was applied.`,
      { key: 'elastic.max_content_length', cause: error },
    )
  }
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null
}

/** Creates the read and write batchers for `index`. */
export function createBatchers(connection: Connection, index: string, limits: CoalescingLimits) {
  const client: Client = connection.client
  const indexJsonBytes = jsonBytes(index)
  /** One `_mget`. */
  const mget = async (items: ReadItem[]): Promise<ReadResult[]> => {
    const response = await connection.call(
      `reading ${items.length} document(s) from index ${index}`,
      (options) =>
        client.mget<StoredSource>({ docs: items.map((item) => mgetEntryOf(index, item)) }, options),
      'read',
    )
    // An answer without a `docs` array (a proxy's, say), or with a doc that is not an object, has
    // no results: sendInParts reports the count that does not match the request's.
    const docs: unknown = response.docs
    return Array.isArray(docs) && docs.every(isObject) ? (docs as ReadResult[]) : []
  }
  /**
   * One `_mget`, read again in halves if its answer is longer than the client can hold (a few
   * large values can make it so) or the cluster refuses it as too large (its
   * `http.max_content_length` is smaller than configured): see {@link sendInParts}. A document
   * whose read fails alone fails with the error that says why (never as a bad `value`: a read
   * has none). Reads of small values keep their large batches.
   */
  const read = (items: ReadItem[]) =>
    sendInParts(
      items,
      mget,
      (error) => error instanceof AnswerTooLongError || error instanceof RequestTooLargeError,
      (_item, error) => error,
    )
  const reads = new Batcher<ReadItem, ReadResult>(read, {
    maxItems: limits.maxItems,
    maxBytes: limits.maxReadBytes,
    maxInFlight: MAX_IN_FLIGHT,
    // Exact, so that thousands of reads under a long index name still fit in one request.
    weigh: (item) => mgetItemBytes(indexJsonBytes, item),
  })
  /** One `_bulk`. */
  const bulk = async (items: WriteItem[]): Promise<WriteResult[]> => {
    const operations: unknown[] = []
    for (const item of items) {
      operations.push(actionOf(index, item))
      if (item.source !== undefined) operations.push(item.source)
    }
    const response = await connection.call(
      `writing ${items.length} document(s) to index ${index}`,
      (options) =>
        client.bulk(
          {
            operations,
            ...(limits.refresh === 'false' ? {} : { refresh: limits.refresh }),
            filter_path: 'items.*.status,items.*.error.type,items.*.error.reason',
          },
          options,
        ),
      'write',
    )
    // As for `_mget`: an answer without an `items` array has no results, and neither has one
    // with an item that is not `{ <action>: { …result } }` — its results cannot be matched up.
    const answered: unknown = response.items
    if (!Array.isArray(answered)) return []
    const results: WriteResult[] = []
    for (const item of answered) {
      const result: unknown = isObject(item) ? Object.values(item)[0] : undefined
      if (!isObject(result)) return []
      results.push(result as WriteResult)
    }
    return results
  }
  const writes = new Batcher<WriteItem, WriteResult>(
    // A `_bulk` the cluster refuses as too large is sent again in halves (see sendInParts): a
    // small write coalesced with a large one no longer fails with it.
    (items) =>
      sendInParts(
        items,
        bulk,
        (error) => error instanceof RequestTooLargeError,
        writeTooLarge(index, connection.where, limits.maxContentLength),
      ),
    {
      maxItems: limits.maxItems,
      maxBytes: limits.maxBytes,
      maxInFlight: MAX_IN_FLIGHT,
      // Exact, so that a batch of small documents under a long index name still fits.
      weigh: (item) => bulkItemBytes(index, item),
      // Requests in flight together may be applied in any order, and the client re-sends one
      // after a 502/503/504 or a lost connection even if the cluster applied it: a write of a
      // document waits until no earlier write of it is in flight, so the last issued wins.
      orderKey: (item) => item.id,
    },
  )
  return { reads, writes }
}
