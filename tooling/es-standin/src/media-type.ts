/**
 * Content negotiation as Elasticsearch's REST layer does it (RestCompatibleVersionHelper):
 * `application/json` and `application/x-ndjson`, or the vendored types
 * `application/vnd.elasticsearch+json; compatible-with=N` (and `+x-ndjson`), where N must be the
 * server's major or the one before; with a body, Accept and Content-Type must name the same N.
 *
 * @module
 */
import { EsError } from './errors.js'

/** One parsed media type from a header value (the first of a comma-separated list). */
interface MediaType {
  /** `json` or `ndjson`, or `undefined` for anything else (`text/plain`, `* / *`, …). */
  format: 'json' | 'ndjson' | undefined
  /** The `compatible-with` version of a vendored type, else `undefined`. */
  compatibleWith: number | undefined
  vendored: boolean
  raw: string
}

function parseOne(value: string): MediaType {
  const [essence = '', ...parameters] = value.split(';').map((part) => part.trim().toLowerCase())
  let compatibleWith: number | undefined
  for (const parameter of parameters) {
    const [name, version] = parameter.split('=').map((part) => part.trim())
    if (name === 'compatible-with' && version !== undefined && /^\d+$/.test(version)) {
      compatibleWith = Number(version)
    }
  }
  const vendored = essence.startsWith('application/vnd.elasticsearch+')
  const subtype = vendored ? essence.slice('application/vnd.elasticsearch+'.length) : essence
  const format =
    subtype === 'json' || subtype === 'application/json'
      ? 'json'
      : subtype === 'x-ndjson' || subtype === 'application/x-ndjson'
        ? 'ndjson'
        : undefined
  return { format, compatibleWith, vendored, raw: value }
}

/** The first media type in an Accept header that the server can answer with, if any. */
function parseAccept(header: string | undefined): MediaType | undefined {
  if (header === undefined) return undefined
  // The client sends `application/vnd.elasticsearch+json; compatible-with=8,text/plain`: split on
  // commas that are not inside a parameter (ES reads the first type).
  const first = header.split(',')[0]
  return first === undefined ? undefined : parseOne(first)
}

/** What the response will be written as. */
export interface Negotiated {
  /** The Content-Type of JSON responses. */
  contentType: string
}

/**
 * Checks the request's Accept and Content-Type against the server's major version and returns the
 * response content type. Throws the 400 `media_type_header_exception` (or 406 for an unsupported
 * Content-Type) that Elasticsearch answers with.
 */
export function negotiate(
  accept: string | undefined,
  contentType: string | undefined,
  hasBody: boolean,
  major: number,
): Negotiated {
  const acceptType = parseAccept(accept)
  const bodyType = hasBody && contentType !== undefined ? parseOne(contentType) : undefined
  if (hasBody && contentType !== undefined && bodyType?.format === undefined) {
    throw new EsError(
      406,
      'content_type_header_exception',
      `Content-Type header [${contentType}] is not supported`,
    )
  }
  const allowed = (version: number): boolean => version === major || version === major - 1
  const invalid = (detail: string): EsError =>
    new EsError(
      400,
      'media_type_header_exception',
      'Invalid media-type value on headers [Accept, Content-Type]',
      {
        causedBy: { type: 'status_exception', reason: detail },
      },
    )
  const acceptVersion = acceptType?.vendored ? acceptType.compatibleWith : undefined
  const bodyVersion = bodyType?.vendored ? bodyType.compatibleWith : undefined
  if (acceptType?.vendored && acceptVersion !== undefined && !allowed(acceptVersion)) {
    throw invalid(
      `Accept version must be either version ${major} or ${major - 1}, but found ${acceptVersion}. Accept=${acceptType.raw}`,
    )
  }
  if (bodyType?.vendored && bodyVersion !== undefined && !allowed(bodyVersion)) {
    throw invalid(
      `Content-Type version must be either version ${major} or ${major - 1}, but found ${bodyVersion}. Content-Type=${bodyType.raw}`,
    )
  }
  // A type without compatible-with stands for the server's own major.
  if (bodyType !== undefined && (bodyVersion ?? major) !== (acceptVersion ?? major)) {
    throw invalid(
      `A compatible version is required on both Content-Type and Accept headers if either one has requested a compatible version and the compatible versions must match. Accept=${accept}, Content-Type=${contentType}`,
    )
  }
  if (acceptVersion !== undefined) {
    return { contentType: `application/vnd.elasticsearch+json;compatible-with=${acceptVersion}` }
  }
  if (bodyVersion !== undefined) {
    return { contentType: `application/vnd.elasticsearch+json;compatible-with=${bodyVersion}` }
  }
  return { contentType: 'application/json' }
}
