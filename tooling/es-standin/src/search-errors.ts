/**
 * Failures of the query phase. Elasticsearch reports them as a 400
 * `search_phase_execution_exception` ("all shards failed") whose root cause is the shard's error.
 *
 * @module
 */
import { type ErrorCause, EsError } from './errors.js'

/** A query-phase failure of `index`'s only shard. */
export function shardFailure(index: string, nodeId: string, cause: ErrorCause): EsError {
  return new EsError(400, 'search_phase_execution_exception', 'all shards failed', {
    extra: {
      phase: 'query',
      grouped: true,
      failed_shards: [{ shard: 0, index, node: nodeId, reason: cause }],
    },
    causedBy: cause,
  })
}
