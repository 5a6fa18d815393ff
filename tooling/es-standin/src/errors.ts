/**
 * Elasticsearch's error envelope: `{"error":{"root_cause":[…],"type","reason",…},"status":N}`.
 *
 * Handlers throw an {@link EsError}; the server turns it into the envelope with the status code.
 * The root cause is the innermost `caused_by`, as ElasticsearchException.guessRootCauses does for
 * the exceptions used here.
 *
 * @module
 */

/** One cause in an error envelope: a type, a reason, extra metadata and maybe a cause. */
export interface ErrorCause {
  type: string
  reason: string
  [extra: string]: unknown
}

/** An error the stand-in answers with an Elasticsearch error envelope. */
export class EsError extends Error {
  readonly status: number
  readonly type: string
  readonly extra: Record<string, unknown>
  readonly causedBy: ErrorCause | undefined
  /** Extra response headers (WWW-Authenticate on a 401). */
  readonly headers: Record<string, string>

  constructor(
    status: number,
    type: string,
    reason: string,
    options: {
      extra?: Record<string, unknown>
      causedBy?: ErrorCause
      headers?: Record<string, string>
    } = {},
  ) {
    super(reason)
    this.status = status
    this.type = type
    this.extra = options.extra ?? {}
    this.causedBy = options.causedBy
    this.headers = options.headers ?? {}
  }

  /** The `error` object of the envelope (also used inside bulk and mget items). */
  toCause(): ErrorCause {
    const cause: ErrorCause = { type: this.type, reason: this.message, ...this.extra }
    if (this.causedBy !== undefined) cause.caused_by = this.causedBy
    return cause
  }

  /** The whole envelope. */
  toBody(): { error: Record<string, unknown>; status: number } {
    const rootCause = this.causedBy ?? { type: this.type, reason: this.message, ...this.extra }
    return { error: { root_cause: [rootCause], ...this.toCause() }, status: this.status }
  }
}

/** 404 `index_not_found_exception`, as every API answers for a missing concrete index. */
export function indexNotFound(index: string): EsError {
  return new EsError(404, 'index_not_found_exception', `no such index [${index}]`, {
    extra: {
      'resource.type': 'index_or_alias',
      'resource.id': index,
      index_uuid: '_na_',
      index,
    },
  })
}

/** 400 `illegal_argument_exception`. */
export function illegalArgument(reason: string, causedBy?: ErrorCause): EsError {
  return new EsError(400, 'illegal_argument_exception', reason, causedBy ? { causedBy } : {})
}

/** 400 `action_request_validation_exception` with ES's numbered list of failures. */
export function validationFailed(...failures: string[]): EsError {
  const text = failures.map((failure, i) => `${i + 1}: ${failure};`).join('')
  return new EsError(400, 'action_request_validation_exception', `Validation Failed: ${text}`)
}

/** 400 `parsing_exception`, for request bodies the stand-in cannot read. */
export function parsingError(reason: string): EsError {
  return new EsError(400, 'parsing_exception', reason)
}

/**
 * 400 for a feature Elasticsearch has but the stand-in does not implement. The type is ES's
 * generic `illegal_argument_exception`; the reason says plainly that it is the stand-in's gap.
 */
export function notImplemented(what: string): EsError {
  return illegalArgument(`[es-standin] ${what} is not implemented by the stand-in server`)
}

/** 409 `version_conflict_engine_exception`. */
export function versionConflict(index: string, uuid: string, id: string, reason: string): EsError {
  return new EsError(
    409,
    'version_conflict_engine_exception',
    `[${id}]: version conflict, ${reason}`,
    {
      extra: { index_uuid: uuid, shard: '0', index },
    },
  )
}
