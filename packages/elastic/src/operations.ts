/**
 * The two coalesced request kinds: reads become one realtime `_mget`, writes one `_bulk`. Each
 * item's answer (a document, or a bulk item's status and error) goes back to its caller.
 *
 * @module
 */
import type { Client } from '@elastic/elasticsearch'
import { Batcher } from './batcher.js'
import type { Connection } from './connection.js'
import type { StoredSource } from './document.js'

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
  /** An upper bound of the item's size in the request body. */
  bytes: number
}

/** One `_bulk` item answer. */
export interface WriteResult {
  status: number
  error?: { type?: string; reason?: string }
}

/** Limits of the coalescing. */
export interface CoalescingLimits {
  maxItems: number
  maxBytes: number
  refresh: 'true' | 'false' | 'wait_for'
}

/** Requests in flight per kind; later operations wait and are coalesced into the next request. */
const MAX_IN_FLIGHT = 4

/** Creates the read and write batchers for `index`. */
export function createBatchers(connection: Connection, index: string, limits: CoalescingLimits) {
  const client: Client = connection.client
  const reads = new Batcher<ReadItem, ReadResult>(
    async (items) => {
      const response = await connection.call(
        `reading ${items.length} document(s) from index ${index}`,
        (options) =>
          client.mget<StoredSource>(
            { docs: items.map((item) => ({ _index: index, _id: item.id, _source: item.source })) },
            options,
          ),
      )
      return response.docs as ReadResult[]
    },
    {
      maxItems: limits.maxItems,
      maxBytes: Number.POSITIVE_INFINITY,
      maxInFlight: MAX_IN_FLIGHT,
      weigh: () => 0,
    },
  )
  const writes = new Batcher<WriteItem, WriteResult>(
    async (items) => {
      const operations: unknown[] = []
      for (const item of items) {
        const conditions =
          item.ifSeqNo === undefined
            ? {}
            : { if_seq_no: item.ifSeqNo, if_primary_term: item.ifPrimaryTerm }
        operations.push({ [item.op]: { _index: index, _id: item.id, ...conditions } })
        if (item.op !== 'delete') operations.push(item.source)
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
      )
      return response.items.map((item) => Object.values(item)[0] as WriteResult)
    },
    {
      maxItems: limits.maxItems,
      maxBytes: limits.maxBytes,
      maxInFlight: MAX_IN_FLIGHT,
      weigh: (item) => item.bytes,
    },
  )
  return { reads, writes }
}
