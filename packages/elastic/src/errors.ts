/**
 * Turns the client's errors into kv's typed errors, without letting a secret through.
 *
 * - No answer (refused, reset, timed out, no living node, our deadline) → KV_BACKEND_UNAVAILABLE.
 * - `security_exception` (401, or 403 for a missing privilege) → KV_AUTH_FAILED.
 * - 413 (request over `http.max_content_length`) → KV_INVALID_ARGUMENT.
 * - `media_type_header_exception` (a cluster older than 8 refusing `compatible-with=8`) → KV_NOT_SUPPORTED.
 * - 429 and 5xx (overloaded, a node or shard unavailable) → KV_BACKEND_UNAVAILABLE: retrying later may work.
 *   So is an `_mget` item that failed with one of those exceptions ({@link TRANSIENT_TYPES}): such
 *   an item carries the exception's type but no status.
 * - Anything else the cluster refused, or a server that is not Elasticsearch → KV_BACKEND_ERROR
 *   with its type and reason: retrying the same request will not help (except a write under
 *   `id_scheme: infini` that lost 8 version conflicts in a row, see elastic-kv.ts).
 *
 * The client's own error objects carry the request (headers included) in `meta`; they are never
 * attached. The `cause` is a plain Error with the scrubbed message, name and status code.
 *
 * @module
 */
import {
  AuthFailedError,
  BackendError,
  BackendUnavailableError,
  InvalidArgumentError,
  KVError,
  NotSupportedError,
} from '@kv/core'

/** Replaces every secret in a text, and the user-info part of any URL. */
export type Scrubber = (text: string) => string

/** A scrubber for these secrets (passwords, API keys, tokens and their encodings). */
export function scrubberFor(secrets: readonly string[]): Scrubber {
  // Secrets of one or two characters would match ordinary text; they are not searched for.
  const values = secrets.filter((secret) => secret.length >= 3).sort((a, b) => b.length - a.length)
  return (text) => {
    let out = text.replace(/\/\/[^/@\s]*@/g, '//***@')
    for (const secret of values) out = out.split(secret).join('***')
    return out
  }
}

interface ClientError {
  name?: string
  message?: string
  statusCode?: number
  body?: unknown
}

/** The `error.type` and `error.reason` of an Elasticsearch error body. */
function describeBody(body: unknown): { type: string | undefined; reason: string | undefined } {
  const error = (body as { error?: unknown } | undefined)?.error
  if (typeof error === 'string') return { type: undefined, reason: error }
  if (error !== null && typeof error === 'object') {
    const { type, reason } = error as { type?: unknown; reason?: unknown }
    return {
      type: typeof type === 'string' ? type : undefined,
      reason: typeof reason === 'string' ? reason : undefined,
    }
  }
  return { type: undefined, reason: undefined }
}

/**
 * Exceptions Elasticsearch answers with 503 or 429 (a shard unavailable, a full queue) when they
 * fail a whole request; an `_mget` item that failed with one of them says only its type.
 */
const TRANSIENT_TYPES = new Set([
  'no_shard_available_action_exception',
  'unavailable_shards_exception',
  'es_rejected_execution_exception',
])

const UNREACHABLE = new Set([
  'ConnectionError',
  'TimeoutError',
  'NoLivingConnectionsError',
  'RequestAbortedError',
])

/**
 * The kv error for a failed request. `what` says what was being done ("writing 3 entries to
 * index kv"); `where` names the cluster without credentials.
 */
export function toKVError(error: unknown, what: string, where: string, scrub: Scrubber): KVError {
  if (error instanceof KVError) return error
  const failure = (error ?? {}) as ClientError
  const name = failure.name ?? 'Error'
  const message = scrub(String(failure.message ?? error))
  const cause = Object.assign(new Error(message), { name, statusCode: failure.statusCode })
  if (UNREACHABLE.has(name)) {
    return new BackendUnavailableError(
      `Elasticsearch at ${where} did not answer while ${what} (${name}: ${message}); check that the cluster is up and the endpoint is right.`,
      { cause },
    )
  }
  if (name === 'ProductNotSupportedError') {
    return new BackendError(
      `The server at ${where} is not Elasticsearch 8.x or 9.x (it sent no X-elastic-product header, as servers that are not Elasticsearch and Elasticsearch before 7.14 do) while ${what}; point endpoint at an Elasticsearch 8.x or 9.x cluster.`,
      { cause },
    )
  }
  const status = failure.statusCode
  const { type, reason } = describeBody(failure.body)
  // An `_mget` item that failed has a type but no status; a bare HTTP error has a status only.
  const label = [status === undefined ? '' : `HTTP ${status}`, type ?? ''].join(' ').trim()
  const detail = scrub(`${label || 'no status or error type'}${reason ? `: ${reason}` : ''}`)
  if (status === 401 || (status === 403 && type === 'security_exception')) {
    return new AuthFailedError(
      status === 401
        ? `Elasticsearch at ${where} refused the credentials while ${what} (${detail}); check elastic.username/password, api_key or bearer_token.`
        : `The configured Elasticsearch user may not do this while ${what} (${detail}); grant it read and write privileges on the index.`,
      { cause },
    )
  }
  if (type === 'media_type_header_exception') {
    return new NotSupportedError(
      `Elasticsearch at ${where} refused the client's media type (${detail}) while ${what}: it is not an 8.x or 9.x cluster, which @kv/elastic requires.`,
      { cause },
    )
  }
  if (status === 413) {
    return new InvalidArgumentError(
      'value',
      `Elasticsearch at ${where} refused a request as too large (413) while ${what}; set elastic.max_content_length to the cluster's http.max_content_length.`,
      { cause },
    )
  }
  const transient =
    status === 429 ||
    (status !== undefined && status >= 500) ||
    (status === undefined && type !== undefined && TRANSIENT_TYPES.has(type))
  return new (transient ? BackendUnavailableError : BackendError)(
    `Elasticsearch at ${where} failed while ${what} (${detail}).`,
    { cause },
  )
}
