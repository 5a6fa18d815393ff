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

/**
 * The cause a shard made to fail (`EsIndex.failing`) reports: no copy of it is available
 * (NoShardAvailableActionException, status 503), with a reason saying the failure was injected.
 */
export function unavailableShard(index: string, shard: number): ErrorCause {
  return {
    type: 'no_shard_available_action_exception',
    reason: `[es-standin] shard [${index}][${shard}] is made to fail by the test`,
  }
}

/**
 * A search that met failed shards and may not return partial results
 * (`allow_partial_search_results=false`), or whose shards all failed: Elasticsearch fails it
 * with a `search_phase_execution_exception` ("Partial shards failure", or "all shards failed")
 * whose status is that of the shard failures, 503 here.
 */
export function shardsFailed(
  nodeId: string,
  failures: Array<{ index: string; shard: number; reason: ErrorCause }>,
  all: boolean,
): EsError {
  return new EsError(
    503,
    'search_phase_execution_exception',
    all ? 'all shards failed' : 'Partial shards failure',
    {
      extra: {
        phase: 'query',
        grouped: true,
        failed_shards: failedShardsJson(nodeId, failures),
      },
      causedBy: failures[0]!.reason,
    },
  )
}

/** Failed shards as Elasticsearch lists them (`_shards.failures`, `failed_shards`). */
export function failedShardsJson(
  nodeId: string,
  failures: Array<{ index: string; shard: number; reason: ErrorCause }>,
) {
  return failures.map(({ index, shard, reason }) => ({ shard, index, node: nodeId, reason }))
}
