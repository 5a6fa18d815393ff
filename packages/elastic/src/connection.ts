/**
 * The connection to the cluster: the official client (loaded lazily, on open), configured from
 * the `elastic` section, and {@link Connection.call}, which bounds every request by
 * `request_timeout_ms` (retries and their backoff included) and turns failures into kv errors.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import type { Client, ClientOptions, UndiciConnection } from '@elastic/elasticsearch'
import { InvalidConfigError } from '@kv/core'
import type { ElasticKVConfig } from './config.js'
import { maskEndpoint, type Privilege, type Scrubber, scrubberFor, toKVError } from './errors.js'

/** Options passed with each request. */
export interface RequestOptions {
  signal: AbortSignal
  requestTimeout: number
  maxRetries: number
  retryBackoff: (min: number, max: number, attempt: number) => number
}

/**
 * Short, jittered waits between retries (in seconds): the client's default waits 1–4 s, which
 * would not fit in a short timeout.
 */
const retryBackoff = (_min: number, _max: number, attempt: number): number =>
  Math.min(0.05 * 2 ** attempt, 1) * (0.5 + Math.random() / 2)

/** Endpoints without user-info, and the credentials that were in them. */
function parseEndpoints(config: ElasticKVConfig): {
  nodes: string[]
  username: string
  password: string
} {
  const fromList = config.endpoints.length > 0
  const list = fromList ? config.endpoints : [config.endpoint]
  let username = config.username
  let password = config.password
  const nodes = list.map((endpoint, i) => {
    // Name the key the bad value came from: `endpoints` (with its position) overrides `endpoint`.
    const key = fromList ? 'elastic.endpoints' : 'elastic.endpoint'
    const where = fromList ? `elastic.endpoints[${i}]` : 'elastic.endpoint'
    let url: URL
    try {
      url = new URL(endpoint)
    } catch {
      throw new InvalidConfigError(
        `${where}: "${maskEndpoint(endpoint)}" is not a URL (expected e.g. http://localhost:9200)`,
        { key },
      )
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InvalidConfigError(`${where} must be an http or https URL, got ${url.protocol}`, {
        key,
      })
    }
    if (url.username !== '' && username === '') {
      try {
        username = decodeURIComponent(url.username)
        password = decodeURIComponent(url.password)
      } catch {
        // A raw '%' not followed by two hex digits. The message shows neither part.
        throw new InvalidConfigError(
          `${where}: the user name or password in the URL is not valid percent-encoding (write a "%" in it as "%25", or set elastic.username and elastic.password instead)`,
          { key },
        )
      }
    }
    url.username = ''
    url.password = ''
    return url.toString()
  })
  return { nodes, username, password }
}

const ignore = (): void => {}

/**
 * The client's default connection class, with an 'error' listener on every response body.
 * @elastic/transport (8.11.0, the last 8.x release, and its main branch alike) destroys the body
 * of an answer longer than it may read (`maxResponseSize`, Node's longest string) with no error
 * listener on it, and undici's body emits 'error' when destroyed unfinished: unhandled, that
 * would end the process. The request itself still fails, with the transport's
 * RequestAbortedError, which toKVError reports (AnswerTooLongError). Reading the body is
 * unchanged: its own failures still reach the transport through the stream.
 */
function guarded(Base: typeof UndiciConnection): typeof UndiciConnection {
  return class GuardedConnection extends Base {
    constructor(options: ConstructorParameters<typeof UndiciConnection>[0]) {
      super(options)
      const pool = this.pool as unknown as {
        request(params: unknown): Promise<{ body: NodeJS.ReadableStream }>
      }
      const request = pool.request.bind(pool)
      pool.request = async (params) => {
        const response = await request(params)
        response.body.on('error', ignore)
        return response
      }
    }
  }
}

/** A client and how to call it safely. */
export class Connection {
  readonly client: Client
  /** The endpoints without credentials, for messages. */
  readonly where: string
  readonly scrub: Scrubber
  readonly #timeoutMs: number
  readonly #maxRetries: number

  private constructor(client: Client, where: string, scrub: Scrubber, config: ElasticKVConfig) {
    this.client = client
    this.where = where
    this.scrub = scrub
    this.#timeoutMs = config.request_timeout_ms
    this.#maxRetries = config.max_retries
  }

  /** Loads the client library and creates a client for `config`. Sends nothing. */
  static async create(config: ElasticKVConfig): Promise<Connection> {
    const { nodes, username, password } = parseEndpoints(config)
    const secrets = [password, config.api_key, config.bearer_token]
    if (username !== '' || password !== '') {
      secrets.push(Buffer.from(`${username}:${password}`).toString('base64'))
    }
    const scrub = scrubberFor(secrets)
    const options: ClientOptions = {
      nodes,
      maxRetries: config.max_retries,
      requestTimeout: config.request_timeout_ms,
      compression: false,
      // The client's errors keep the request in `meta`; with `remove` it carries no headers.
      redaction: { type: 'remove' },
      name: 'kv-elastic',
    }
    if (config.api_key !== '') options.auth = { apiKey: config.api_key }
    else if (config.bearer_token !== '') options.auth = { bearer: config.bearer_token }
    else if (username !== '') options.auth = { username, password }
    if (config.ca_file !== '' || !config.tls_verify) {
      let ca: Buffer | undefined
      if (config.ca_file !== '') {
        try {
          ca = readFileSync(config.ca_file)
        } catch (cause) {
          throw new InvalidConfigError(
            `elastic.ca_file: cannot read ${config.ca_file} (${(cause as Error).message})`,
            {
              key: 'elastic.ca_file',
              cause,
            },
          )
        }
      }
      options.tls = { ...(ca ? { ca } : {}), rejectUnauthorized: config.tls_verify }
    }
    const { Client, UndiciConnection } = await import('@elastic/elasticsearch')
    options.Connection = guarded(UndiciConnection)
    return new Connection(new Client(options), nodes.join(', '), scrub, config)
  }

  /**
   * Runs one request, failing with a kv error when it fails or when `request_timeout_ms` passes
   * first (the request is then aborted). `what` describes it for error messages; `privilege`
   * names what it needs on a secured cluster, for the message of a 403. `timeoutMs`, when
   * given, replaces `request_timeout_ms` for this request (close()'s refresh has a shorter one).
   */
  async call<T>(
    what: string,
    request: (options: RequestOptions) => Promise<T>,
    privilege?: Privilege,
    timeoutMs: number = this.#timeoutMs,
  ): Promise<T> {
    const controller = new AbortController()
    let timer: NodeJS.Timeout | undefined
    const limit =
      timeoutMs === this.#timeoutMs ? `request_timeout_ms (${timeoutMs} ms)` : `${timeoutMs} ms`
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort()
        reject(
          Object.assign(new Error(`no answer within ${limit}`), {
            name: 'TimeoutError',
          }),
        )
      }, timeoutMs)
    })
    // A request that throws synchronously becomes a rejection, so the deadline is always cleared.
    const attempt = Promise.resolve().then(() =>
      request({
        signal: controller.signal,
        requestTimeout: timeoutMs,
        maxRetries: this.#maxRetries,
        retryBackoff,
      }),
    )
    // After the deadline the attempt may still settle; its outcome no longer matters.
    attempt.catch(() => {})
    try {
      return await Promise.race([attempt, deadline])
    } catch (error) {
      throw toKVError(error, what, this.where, this.scrub, privilege)
    } finally {
      clearTimeout(timer)
    }
  }

  /** Closes the client's connections. */
  async close(): Promise<void> {
    await this.client.close()
  }
}
