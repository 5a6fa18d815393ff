/**
 * Optional security, as an Elasticsearch cluster with security enabled answers: no or wrong
 * credentials get 401 `security_exception` with a `WWW-Authenticate` header; a read-only user
 * (or API key) writing gets 403.
 *
 * @module
 */
import { EsError } from './errors.js'

/** Who may call the stand-in. Without it, every request is allowed (security disabled). */
export interface StandinAuth {
  /** Basic-auth users by name. */
  users?: Record<string, { password: string; readOnly?: boolean }>
  /** API keys, as the `Authorization: ApiKey <value>` value (base64 of `id:key`). */
  apiKeys?: Record<string, { readOnly?: boolean }>
  /** Bearer tokens, as the `Authorization: Bearer <value>` value. */
  bearerTokens?: Record<string, { readOnly?: boolean }>
}

const CHALLENGE = 'Basic realm="security", charset="UTF-8", Bearer realm="security", ApiKey'

/** The authenticated principal. */
export interface Principal {
  name: string
  readOnly: boolean
}

function unauthorized(reason: string): EsError {
  return new EsError(401, 'security_exception', reason, {
    extra: { header: { 'WWW-Authenticate': [CHALLENGE] } },
    headers: { 'WWW-Authenticate': CHALLENGE },
  })
}

/** Authenticates a request, or throws 401. Returns `undefined` when security is disabled. */
export function authenticate(
  auth: StandinAuth | undefined,
  header: string | undefined,
  path: string,
): Principal | undefined {
  if (auth === undefined) return undefined
  if (header === undefined)
    throw unauthorized(`missing authentication credentials for REST request [${path}]`)
  const [scheme = '', value = ''] = header.split(' ', 2)
  switch (scheme.toLowerCase()) {
    case 'basic': {
      const decoded = Buffer.from(value, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      const name = decoded.slice(0, colon)
      const user = auth.users?.[name]
      if (colon < 0 || user === undefined || user.password !== decoded.slice(colon + 1)) {
        throw unauthorized(`unable to authenticate user [${name}] for REST request [${path}]`)
      }
      return { name, readOnly: user.readOnly ?? false }
    }
    case 'apikey': {
      const key = auth.apiKeys?.[value]
      if (key === undefined)
        throw unauthorized(
          `unable to authenticate with provided credentials and anonymous access is not allowed for this request`,
        )
      return { name: `api_key:${value.slice(0, 4)}`, readOnly: key.readOnly ?? false }
    }
    case 'bearer': {
      const token = auth.bearerTokens?.[value]
      if (token === undefined)
        throw unauthorized(
          'unable to authenticate with provided credentials and anonymous access is not allowed for this request',
        )
      return { name: 'token', readOnly: token.readOnly ?? false }
    }
    default:
      throw unauthorized(`missing authentication credentials for REST request [${path}]`)
  }
}

/** Refuses a write by a read-only principal with 403, naming the action as Elasticsearch does. */
export function authorize(
  principal: Principal | undefined,
  endpoint: string,
  write: boolean,
): void {
  if (principal === undefined || !principal.readOnly || !write) return
  throw new EsError(
    403,
    'security_exception',
    `action [indices:data/write/${endpoint}] is unauthorized for user [${principal.name}] with effective roles [viewer], this action is granted by the index privileges [write,all]`,
  )
}
