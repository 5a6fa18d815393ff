/**
 * The two coalesced request kinds: reads become one realtime `_mget`, writes one `_bulk`. Each
 * item's answer (a document, or a bulk item's status and error) goes back to its caller. Both
 * weigh their items exactly, so that a request body stays within `maxBytes`.
 *
 * @module
 */
import type { Client } from '@elastic/elasticsearch'
import { Batcher } from './batcher.js'
import type { Connection } from './connection.js'
import { documentBytes, type StoredSource } from './document.js'
import { AnswerTooLongError } from './errors.js'

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

/** Creates the read and write batchers for `index`. */
export function createBatchers(connection: Connection, index: string, limits: CoalescingLimits) {
  const client: Client = connection.client
  const indexJsonBytes = jsonBytes(index)
  /**
   * One `_mget`; if its answer is longer than the client can hold (a few large values can make
   * it so), the same documents read in two halves, one after the other, and so on down to one
   * document, whose failure then says why. Reads of small values keep their large batches.
   */
  const read = async (items: ReadItem[]): Promise<ReadResult[]> => {
    try {
      const response = await connection.call(
        `reading ${items.length} document(s) from index ${index}`,
        (options) =>
          client.mget<StoredSource>(
            { docs: items.map((item) => mgetEntryOf(index, item)) },
            options,
          ),
        'read',
      )
      return response.docs as ReadResult[]
    } catch (error) {
      if (!(error instanceof AnswerTooLongError) || items.length === 1) throw error
      const half = Math.ceil(items.length / 2)
      const first = await read(items.slice(0, half))
      return [...first, ...(await read(items.slice(half)))]
    }
  }
  const reads = new Batcher<ReadItem, ReadResult>(read, {
    maxItems: limits.maxItems,
    maxBytes: limits.maxReadBytes,
    maxInFlight: MAX_IN_FLIGHT,
    // Exact, so that thousands of reads under a long index name still fit in one request.
    weigh: (item) => mgetItemBytes(indexJsonBytes, item),
  })
  const writes = new Batcher<WriteItem, WriteResult>(
    async (items) => {
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
      return response.items.map((item) => Object.values(item)[0] as WriteResult)
    },
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
