/**
 * Turns the client's errors into kv's typed errors, without letting a secret through.
 *
 * - No answer (refused, reset, timed out, no living node, our deadline) → KV_BACKEND_UNAVAILABLE.
 * - An answer longer than the client can hold → KV_BACKEND_ERROR ({@link AnswerTooLongError}).
 * - `security_exception` (401, or 403 for a missing privilege) → KV_AUTH_FAILED; so is a 403
 *   without an error type, which is how a HEAD request (the index-exists check) is refused: a
 *   HEAD answer has no body. (A 403 of another type, such as a `cluster_block_exception`, is not
 *   about credentials.) So is an `_mget` item that failed with `security_exception` and no
 *   status: Elasticsearch authorizes `_mget` by its action name, then each shard request, so a
 *   user without `read` on the index gets 200 with every item failed that way
 *   (elastic/elasticsearch#97451).
 * - 413 (request over the cluster's `http.max_content_length`) → KV_BACKEND_ERROR
 *   ({@link RequestTooLargeError}). The batchers send a coalesced request that got it again in
 *   halves, and a write whose request alone got it fails as KV_INVALID_CONFIG (the cluster's
 *   limit is smaller than `elastic.max_content_length`: the value is not at fault); see
 *   operations.ts.
 * - `media_type_header_exception` (a cluster older than 8 refusing `compatible-with=8`) → KV_NOT_SUPPORTED.
 * - 408 (a request that timed out on the cluster, such as a delete-by-query), 429 and 5xx
 *   (overloaded, a node or shard unavailable) → KV_BACKEND_UNAVAILABLE: retrying later may work.
 *   So is an `_mget` item that failed with one of those exceptions ({@link TRANSIENT_TYPES}): such
 *   an item carries the exception's type but no status.
 * - A failed search (`search_phase_execution_exception`, "all shards failed") is classed by its
 *   shards' root cause, whose type and reason its message gives: KV_BACKEND_UNAVAILABLE for one
 *   of {@link TRANSIENT_TYPES} or when answered 408, 429 or 503, otherwise KV_BACKEND_ERROR.
 * - A failed delete-by-query answers with its own body (`failures`, `timed_out`, `deleted`,
 *   `total`), not an `error` object: the message gives its first failure and how much it
 *   deleted, and says that the bucket may be partly deleted.
 * - Anything else the cluster refused, or a server that is not Elasticsearch → KV_BACKEND_ERROR
 *   with its type and reason: retrying the same request will not help.
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
  isKVError,
  type KVError,
  NotSupportedError,
} from '@kv/core'

/** Replaces every secret in a text, and the user-info part of any URL. */
export type Scrubber = (text: string) => string

/**
 * Hides the user-info of every URL in a text: in each run of non-blank characters, everything
 * between the first `//` and the last `@` after it. The last `@`, because a password may hold
 * `@` or `/` (`https://elastic:pa/ss@word@es1:9200` shows as `https://***@es1:9200`). Two URLs
 * with nothing blank between them count as one, which hides more, never less.
 */
export function maskUserInfo(text: string): string {
  return text.replace(/\S+/g, (word) => {
    const start = word.indexOf('//')
    const end = word.lastIndexOf('@')
    return start >= 0 && end > start ? `${word.slice(0, start)}//***${word.slice(end)}` : word
  })
}

/**
 * Hides the user-info of a configured endpoint value that may hold several URLs (`https://u:p@es1,
 * https://u:p@es2`) and blanks inside a password: each URL runs from its scheme's `://` to the
 * next one, and everything from its `//` to the last `@` in it is hidden. Without any `://`,
 * everything before the last `@` is.
 */
export function maskEndpoint(value: string): string {
  const starts = [...value.matchAll(/:\/\//g)].map((match) => match.index + 1)
  if (starts.length === 0) {
    const at = value.lastIndexOf('@')
    return at < 0 ? value : `***${value.slice(at)}`
  }
  let out = value.slice(0, starts[0])
  for (const [i, start] of starts.entries()) {
    const url = value.slice(start, starts[i + 1] ?? value.length)
    const at = url.lastIndexOf('@')
    out += at < 0 ? url : `//***${url.slice(at)}`
  }
  return out
}

/** A scrubber for these secrets (passwords, API keys, tokens and their encodings). */
export function scrubberFor(secrets: readonly string[]): Scrubber {
  // Secrets of one or two characters would match ordinary text; they are not searched for.
  const values = secrets.filter((secret) => secret.length >= 3).sort((a, b) => b.length - a.length)
  return (text) => {
    let out = maskUserInfo(text)
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

/** An error's type and reason, as far as an Elasticsearch error object gives them. */
interface Described {
  type: string | undefined
  reason: string | undefined
}

/** The `type` and `reason` of an error object (or of a bare string reason). */
function describeCause(error: unknown): Described {
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
 * The `error.type` and `error.reason` of an Elasticsearch error body, and for a
 * `search_phase_execution_exception` the shards' failure: its own reason says only "all shards
 * failed" (or "Partial shards failure"); why is in its first `root_cause`, or in
 * `failed_shards[0].reason` (a root cause that is the exception itself, as when no shard failed,
 * says nothing more).
 */
function describeBody(body: unknown): Described & { rootCause?: Described } {
  const error = (body as { error?: unknown } | undefined)?.error
  const outer = describeCause(error)
  if (outer.type !== 'search_phase_execution_exception') return outer
  const { root_cause: roots, failed_shards: shards } = error as {
    root_cause?: unknown
    failed_shards?: unknown
  }
  const candidates = [
    Array.isArray(roots) ? roots[0] : undefined,
    Array.isArray(shards) ? (shards[0] as { reason?: unknown } | undefined)?.reason : undefined,
  ]
  for (const candidate of candidates) {
    const cause = describeCause(candidate)
    if (cause.type !== undefined && cause.type !== outer.type) return { ...outer, rootCause: cause }
  }
  return outer
}

/** The answer of a failed delete-by-query (a bulk-by-scroll response), as far as it is read. */
interface ByQueryAnswer {
  failures?: Array<{ cause?: unknown; reason?: unknown }>
  timed_out?: boolean
  deleted?: number
  total?: number
}

/**
 * What a failed delete-by-query says, or undefined for another body. Its status is that of its
 * worst failure, or 408 when it timed out; each failure has a `cause` (a failed delete) or a
 * `reason` (a failed search of a shard), each an error object.
 */
function describeByQuery(
  body: unknown,
): { type: string | undefined; reason: string | undefined; progress: string } | undefined {
  const answer = body as ByQueryAnswer | undefined
  if (answer === null || typeof answer !== 'object' || typeof answer.deleted !== 'number')
    return undefined
  const first = answer.failures?.[0]
  const { type, reason } =
    first !== undefined
      ? describeCause(first.cause ?? first.reason)
      : { type: undefined, reason: answer.timed_out === true ? 'timed out' : undefined }
  return { type, reason, progress: `deleted ${answer.deleted} of ${answer.total ?? '?'} documents` }
}

/**
 * Exceptions of a cluster in passing trouble: a shard unavailable, a full queue, a circuit
 * breaker tripped by memory in use, a node closing or a connection between nodes lost or timed
 * out. A whole request failing with one is answered 429 or 5xx; an `_mget` item that failed with
 * one says only its type, and a failed search names it as its shards' root cause. (Type names
 * are Elasticsearch's exception class names in snake case, from the registry in
 * ElasticsearchException.)
 */
const TRANSIENT_TYPES = new Set([
  'no_shard_available_action_exception',
  'unavailable_shards_exception',
  'es_rejected_execution_exception',
  'circuit_breaking_exception',
  'node_disconnected_exception',
  'node_not_connected_exception',
  'connect_transport_exception',
  'receive_timeout_transport_exception',
  'node_closed_exception',
])

/**
 * A request whose answer was longer than the client can hold: the transport (`maxResponseSize`,
 * Node's longest string by default) gives up on it with a RequestAbortedError saying so, before
 * reading it when it has a Content-Length, or once it has read that much. Code KV_BACKEND_ERROR:
 * the same request gets the same answer. The read batcher catches it and reads the documents in
 * smaller requests.
 */
export class AnswerTooLongError extends BackendError {}

/** The transport's message for an answer over `maxResponseSize` (or, compressed, over a Buffer). */
const TOO_LONG =
  /^The content length \(\d+\) is bigger than the maximum allowed (string|buffer) \(\d+\)$/

/**
 * A request the cluster refused as larger than its `http.max_content_length` (413): the cluster's
 * setting is smaller than `elastic.max_content_length`, from which the batch and value limits are
 * derived. Code KV_BACKEND_ERROR: the same request is refused again. Nothing of the request was
 * applied (the cluster refuses it before reading it), so the batchers send a request of several
 * items again in halves, and only an item refused alone fails; a write's then fails as
 * KV_INVALID_CONFIG naming `elastic.max_content_length` (see operations.ts).
 */
export class RequestTooLargeError extends BackendError {}

const UNREACHABLE = new Set([
  'ConnectionError',
  'TimeoutError',
  'NoLivingConnectionsError',
  'RequestAbortedError',
])

/**
 * What a request needs on a secured cluster, for the message of a 403: the index privileges it
 * needs on the index (`'read'`, `'view_index_metadata or manage'`, …), or a cluster privilege and
 * the one cluster action it stands for here (a role may grant the action alone).
 */
export type Privilege = string | { cluster: string; action: string }

/** The clause of a 403's message that says what to grant. */
function grantFor(privilege: Privilege | undefined): string {
  if (privilege === undefined)
    return 'grant it the privileges listed in the @kv/elastic README ("Privileges")'
  if (typeof privilege === 'string')
    return `this needs the ${privilege} index privilege on the index (see the @kv/elastic README, "Privileges")`
  return `this needs the ${privilege.cluster} cluster privilege, or a role granting the cluster action ${privilege.action} (see the @kv/elastic README, "Privileges")`
}

/**
 * The kv error for a failed request. `what` says what was being done ("writing 3 entries to
 * index kv"); `where` names the cluster without credentials; `privilege` names what the request
 * needs on a secured cluster, for a 403.
 */
export function toKVError(
  error: unknown,
  what: string,
  where: string,
  scrub: Scrubber,
  privilege?: Privilege,
): KVError {
  if (isKVError(error)) return error
  const failure = (error ?? {}) as ClientError
  const name = failure.name ?? 'Error'
  const message = scrub(String(failure.message ?? error))
  const cause = Object.assign(new Error(message), { name, statusCode: failure.statusCode })
  // The raw message: scrubbing may have replaced digits of the byte counts (a numeric secret).
  if (name === 'RequestAbortedError' && TOO_LONG.test(String(failure.message))) {
    return new AnswerTooLongError(
      `Elasticsearch at ${where} answered with more than this client can hold while ${what} (${message}): Node.js cannot make a string that long, so the same request will fail again.`,
      { cause },
    )
  }
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
  const byQuery = describeByQuery(failure.body)
  const described: Described & { rootCause?: Described } = byQuery ?? describeBody(failure.body)
  const { type, reason, rootCause } = described
  // An `_mget` item that failed has a type but no status; a bare HTTP error has a status only.
  const label = [status === undefined ? '' : `HTTP ${status}`, type ?? ''].join(' ').trim()
  const root =
    rootCause === undefined
      ? ''
      : `; root cause ${rootCause.type}${rootCause.reason ? `: ${rootCause.reason}` : ''}`
  const detail = scrub(`${label || 'no status or error type'}${reason ? `: ${reason}` : ''}${root}`)
  if (
    status === 401 ||
    (status === 403 && (type === 'security_exception' || type === undefined)) ||
    // An `_mget` item refused for want of `read` (see the module comment).
    (status === undefined && type === 'security_exception')
  ) {
    const grant = grantFor(privilege)
    return new AuthFailedError(
      status === 401
        ? `Elasticsearch at ${where} refused the credentials while ${what} (${detail}); check elastic.username/password, api_key or bearer_token.`
        : `The configured Elasticsearch user may not do this while ${what} (${detail}); ${grant}.`,
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
    return new RequestTooLargeError(
      `Elasticsearch at ${where} refused the request as too large (HTTP 413) while ${what}: it is larger than the cluster's http.max_content_length. Set elastic.max_content_length to the cluster's http.max_content_length (values too large for it are then refused before anything is sent), or raise that setting on the cluster.`,
      { cause },
    )
  }
  // A failed search is as transient as its shards' failure (a shard's plain `exception`, such as
  // a query the cluster's settings refuse, makes it a 500 that no retry mends), unless the
  // cluster itself says to come back later (408, 429, 503).
  const transient =
    rootCause !== undefined
      ? TRANSIENT_TYPES.has(rootCause.type!) || status === 408 || status === 429 || status === 503
      : status === 408 ||
        status === 429 ||
        (status !== undefined && status >= 500) ||
        (status === undefined && type !== undefined && TRANSIENT_TYPES.has(type))
  // Delete-by-query deletes batch by batch: what it deleted before failing stays deleted. Only
  // deleteBucket() sends one.
  const partial =
    byQuery === undefined
      ? ''
      : `; it ${byQuery.progress}: the bucket may be partly deleted; call deleteBucket again`
  return new (transient ? BackendUnavailableError : BackendError)(
    `Elasticsearch at ${where} failed while ${what} (${detail})${partial}.`,
    { cause },
  )
}

/**
 * A conditional write or delete under `id_scheme: infini` that met a version conflict on every
 * attempt: other writers of the key kept changing the document between its read and its write.
 * KV_BACKEND_UNAVAILABLE: the write was not applied, and calling again works once they are done.
 * `last` is the error of the last conflict.
 */
export function contentionError(what: string, attempts: number, last: KVError): KVError {
  return new BackendUnavailableError(
    `${what} gave up after ${attempts} version conflicts with concurrent writers of this key; retry the call. (${last.message})`,
    { cause: last },
  )
}

/**
 * A search or refresh that Elasticsearch answered with 200 although some shards failed (or the
 * search timed out): what it returned is incomplete. KV_BACKEND_UNAVAILABLE, like the 503 a
 * search gets when no copy of a shard is available: once the shards recover, retrying works.
 */
export function incompleteAnswerError(
  response: {
    _shards?: { failed?: number; total?: number; failures?: Array<{ reason?: unknown }> }
    timed_out?: boolean
  },
  what: string,
  where: string,
  scrub: Scrubber,
): KVError {
  const shards = response._shards ?? {}
  const { type, reason } = describeCause(shards.failures?.[0]?.reason)
  const first = type === undefined ? '' : `; the first: ${type}${reason ? `: ${reason}` : ''}`
  const detail =
    (shards.failed ?? 0) > 0
      ? `${shards.failed} of ${shards.total ?? '?'} shards failed${first}`
      : 'the search timed out'
  return new BackendUnavailableError(
    scrub(
      `Elasticsearch at ${where} answered only in part while ${what} (${detail}); the result would be incomplete. Retry once the index's shards are available.`,
    ),
  )
}
