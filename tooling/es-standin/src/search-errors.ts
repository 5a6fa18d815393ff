/**
 * Failures of the query phase. Elasticsearch reports them as a 400
 * `search_phase_execution_exception` ("all shards failed") whose root cause is the shard's error.
 *
 * @module
 */
import { type ErrorCause, EsError } from './errors.js'

/**
 * A query-phase failure of `index`'s only shard. Its status is the cause's: 400 for a bad
 * request, 500 for a plain ElasticsearchException (`exception`).
 */
export function shardFailure(
  index: string,
  nodeId: string,
  cause: ErrorCause,
  status = 400,
): EsError {
  return new EsError(status, 'search_phase_execution_exception', 'all shards failed', {
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

/**
 * A query the shard refused to build: `detail` is the cause and `status` that of the search's
 * failure (see {@link shardFailure}).
 */
export class ShardQueryError extends Error {
  readonly detail: ErrorCause
  readonly status: number
  constructor(detail: ErrorCause, status: number) {
    super(detail.reason)
    this.detail = detail
    this.status = status
  }
}

/**
 * A `prefix` or `range` query on a keyword or text field while `search.allow_expensive_queries`
 * is false: Elasticsearch (StringFieldType) throws a plain ElasticsearchException, type
 * `exception`, status 500, which fails the shard and so the search.
 */
export function expensiveQuery(name: 'prefix' | 'range'): ShardQueryError {
  const setting = "'search.allow_expensive_queries' is set to false."
  const reason =
    name === 'prefix'
      ? `[prefix] queries cannot be executed when ${setting} For optimised prefix queries on text fields please enable [index_prefixes].`
      : `[range] queries on [text] or [keyword] fields cannot be executed when ${setting}`
  return new ShardQueryError({ type: 'exception', reason }, 500)
}
