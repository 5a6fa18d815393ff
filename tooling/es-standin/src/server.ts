/**
 * The HTTP server: reads each request within `http.max_content_length`, negotiates media types,
 * authenticates, routes, counts requests by endpoint, and writes JSON answers with
 * `X-elastic-product: Elasticsearch`. It can be stopped and started again on the same port; the
 * cluster's data survives.
 *
 * @module
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'
import { authenticate, authorize, type StandinAuth } from './auth.js'
import { Cluster } from './cluster.js'
import { EsError } from './errors.js'
import { negotiate } from './media-type.js'
import { checkParams, type Request } from './route.js'
import { route } from './router.js'
import { applyFilterPath } from './source-filter.js'

/** Options of {@link startStandin}. */
export interface StandinOptions {
  /** Port on 127.0.0.1; 0 (the default) picks a free one, which `start()` then reuses. */
  port?: number
  /** `http.max_content_length` in bytes: larger requests get 413 (default 100 MB, as Elasticsearch). */
  maxContentLength?: number
  /** The default `index.refresh_interval` in ms (default 1000, as Elasticsearch); -1 disables it. */
  refreshIntervalMs?: number
  /**
   * The cluster setting `search.allow_expensive_queries` (default true). False refuses `prefix`
   * and `range` queries on keyword and text fields, as Elasticsearch does: the search fails with
   * 500 `search_phase_execution_exception` whose root cause is an `exception` naming the setting.
   */
  allowExpensiveQueries?: boolean
  /** The version `GET /` reports; its major decides the accepted `compatible-with` (default 8.19.2). */
  version?: string
  /** Require credentials, as a cluster with security enabled. */
  auth?: StandinAuth
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer }
}

/** Requests received, in total and by endpoint (`bulk`, `mget`, `search`, `indices.refresh`, …). */
export interface RequestCounts {
  total: number
  byEndpoint: Record<string, number>
}

/** A running stand-in server. */
export interface Standin {
  /** `http://127.0.0.1:<port>` (or https). */
  readonly url: string
  readonly port: number
  /** Whether the server is accepting connections. */
  readonly running: boolean
  /** The cluster state (indices and documents), for tests that inspect or seed it. */
  readonly cluster: Cluster
  /** A snapshot of the request counters. */
  counts(): RequestCounts
  /** Sets the request counters to zero. */
  resetCounts(): void
  /** Stops accepting connections and drops open ones; the data is kept. */
  stop(): Promise<void>
  /** Listens again on the same port after `stop()`. */
  start(): Promise<void>
  /** Deletes every index. */
  reset(): void
  /** Stops the server for good and drops its data. */
  close(): Promise<void>
}

const DEFAULT_MAX_CONTENT_LENGTH = 100 * 1024 * 1024
const PRODUCT_HEADER = { 'X-elastic-product': 'Elasticsearch' }

class TooLarge extends Error {}

/** Reads a request body, refusing more than `limit` bytes. */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = request.headers['content-length']
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(new TooLarge())
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let length = 0
    let failed = false
    request.on('data', (chunk: Buffer) => {
      if (failed) return
      length += chunk.length
      if (length > limit) {
        failed = true
        reject(new TooLarge())
        return
      }
      chunks.push(chunk)
    })
    request.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks))
    })
    request.on('error', reject)
  })
}

/** Starts a stand-in Elasticsearch server on 127.0.0.1. */
export async function startStandin(options: StandinOptions = {}): Promise<Standin> {
  const maxContentLength = options.maxContentLength ?? DEFAULT_MAX_CONTENT_LENGTH
  const cluster = new Cluster(
    { version: options.version ?? '8.19.2', clusterName: 'es-standin', nodeName: 'es-standin-0' },
    options.refreshIntervalMs ?? 1000,
    options.allowExpensiveQueries ?? true,
  )
  let counts: RequestCounts = { total: 0, byEndpoint: {} }
  const count = (endpoint: string): void => {
    counts.total++
    counts.byEndpoint[endpoint] = (counts.byEndpoint[endpoint] ?? 0) + 1
  }

  const send = (
    res: ServerResponse,
    method: string,
    status: number,
    body: unknown,
    contentType: string,
    extraHeaders: Record<string, string> = {},
  ): void => {
    const headers: Record<string, string | number> = { ...PRODUCT_HEADER, ...extraHeaders }
    if (body === undefined) {
      headers['content-length'] = 0
      res.writeHead(status, headers)
      res.end()
      return
    }
    const text = JSON.stringify(body)
    headers['content-type'] = contentType
    headers['content-length'] = Buffer.byteLength(text)
    res.writeHead(status, headers)
    res.end(method === 'HEAD' ? undefined : text)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET'
    const url = new URL(req.url ?? '/', 'http://localhost')
    const match = route(method, url.pathname)
    count(match.route?.endpoint ?? 'unknown')
    let contentType = 'application/json'
    let raw: Buffer
    try {
      raw = await readBody(req, maxContentLength)
    } catch (error) {
      if (!(error instanceof TooLarge)) throw error
      // Netty answers before the REST layer: no product header, no body, and the connection closes.
      req.resume()
      res.writeHead(413, { 'content-length': 0, connection: 'close' })
      res.end()
      return
    }
    try {
      if (req.headers['content-encoding'] === 'gzip' && raw.length > 0) raw = gunzipSync(raw)
      const hasBody = raw.length > 0
      contentType = negotiate(
        req.headers.accept,
        req.headers['content-type'],
        hasBody,
        cluster.major,
      ).contentType
      const principal = authenticate(options.auth, req.headers.authorization, url.pathname)
      if (match.route === undefined) {
        if (match.allowed.length > 0) {
          send(
            res,
            method,
            405,
            {
              error: `Incorrect HTTP method for uri [${url.pathname}] and method [${method}], allowed: [${match.allowed.join(', ')}]`,
              status: 405,
            },
            contentType,
          )
        } else {
          send(
            res,
            method,
            400,
            {
              error: `no handler found for uri [${url.pathname}] and method [${method}]`,
              status: 400,
            },
            contentType,
          )
        }
        return
      }
      authorize(principal, match.route.endpoint, match.route.write ?? false)
      const text = raw.toString('utf8')
      let body: unknown
      if (hasBody && !match.route.ndjson) {
        try {
          body = JSON.parse(text)
        } catch (cause) {
          throw new EsError(
            400,
            'x_content_parse_exception',
            `[1:1] Unexpected character: ${(cause as Error).message}`,
          )
        }
      }
      const request: Request = {
        method,
        path: url.pathname,
        params: match.params,
        query: Object.fromEntries(url.searchParams),
        body,
        text,
        cluster,
      }
      checkParams(match.route, request)
      const reply = await match.route.handler(request)
      const filtered = applyFilterPath(reply.body, request.query.filter_path)
      send(res, method, reply.status, method === 'HEAD' ? undefined : filtered, contentType)
    } catch (error) {
      if (error instanceof EsError) {
        send(
          res,
          method,
          error.status,
          method === 'HEAD' ? undefined : error.toBody(),
          contentType,
          error.headers,
        )
        return
      }
      const failure = new EsError(
        500,
        'exception',
        `[es-standin] internal error: ${(error as Error).message}`,
      )
      send(res, method, 500, failure.toBody(), contentType)
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((error) => {
      res.destroy(error as Error)
    })
  }
  const server: Server = options.tls
    ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, listener)
    : createHttpServer(listener)
  // Elasticsearch keeps idle HTTP connections open; the client keeps them alive for 600 s.
  server.keepAliveTimeout = 0
  server.requestTimeout = 0
  server.headersTimeout = 0

  let port = options.port ?? 0
  let running = false
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        port = (server.address() as AddressInfo).port
        running = true
        resolve()
      })
    })
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (!running) return resolve()
      running = false
      server.close(() => resolve())
      server.closeAllConnections()
    })
  await listen()
  const scheme = options.tls ? 'https' : 'http'

  return {
    get url() {
      return `${scheme}://127.0.0.1:${port}`
    },
    get port() {
      return port
    },
    get running() {
      return running
    },
    cluster,
    counts: () => ({ total: counts.total, byEndpoint: { ...counts.byEndpoint } }),
    resetCounts: () => {
      counts = { total: 0, byEndpoint: {} }
    },
    stop,
    start: async () => {
      if (!running) await listen()
    },
    reset: () => cluster.clear(),
    close: async () => {
      await stop()
      cluster.clear()
    },
  }
}
