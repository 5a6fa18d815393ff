/**
 * An HTTP proxy in front of a stand-in that answers the requests a test picks itself, the way a
 * cluster in trouble would (429 and 5xx, cluster blocks, version conflicts, another version), and
 * passes every other request through unchanged. The backend under test talks real HTTP to it.
 */
import { createServer, type IncomingHttpHeaders, request } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** A request as the proxy received it. */
export interface ProxiedRequest {
  method: string
  /** The path with the query string, e.g. `/_bulk?filter_path=…`. */
  url: string
  headers: IncomingHttpHeaders
  body: Buffer
}

/** An answer the proxy gives instead of the cluster's. */
export interface Answer {
  status: number
  /** JSON body; none when undefined. */
  body?: unknown
  /**
   * A Content-Length larger than the body: the proxy sends the body and leaves the answer
   * unfinished, as a server still sending an answer that long. (The client gives up on an
   * answer longer than it can hold as soon as it reads the header.)
   */
  declaredLength?: number
}

/**
 * Decides whether the proxy answers a request itself (an {@link Answer}) or passes it on. It may
 * answer later (a promise), for example after {@link forward}ing the request itself.
 */
export type Intercept = (req: ProxiedRequest) => Answer | undefined | Promise<Answer | undefined>

/** A running proxy. */
export interface Proxy {
  readonly url: string
  /** What the proxy answers itself; undefined passes everything through. May change at any time. */
  intercept: Intercept | undefined
  /** `METHOD path` (without the query) of every request the proxy answered itself, in order. */
  readonly answered: string[]
  /** How many client connections to the proxy are open now. */
  openConnections(): number
  close(): Promise<void>
}

/** Starts a proxy to `target` on 127.0.0.1. */
export async function startProxy(target: string, intercept?: Intercept): Promise<Proxy> {
  const answered: string[] = []
  const proxy = { intercept } as { intercept: Intercept | undefined }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    const answerOrPass = async (): Promise<void> => {
      const forwarded: ProxiedRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks),
      }
      const answer = await proxy.intercept?.(forwarded)
      if (answer !== undefined) {
        answered.push(`${forwarded.method} ${forwarded.url.split('?')[0]}`)
        // As Elasticsearch's REST layer answers: product header on every answer, JSON bodies.
        const text = answer.body === undefined ? '' : JSON.stringify(answer.body)
        res.writeHead(answer.status, {
          'X-elastic-product': 'Elasticsearch',
          'content-length': answer.declaredLength ?? Buffer.byteLength(text),
          ...(text === '' ? {} : { 'content-type': 'application/json' }),
        })
        if (answer.declaredLength === undefined) res.end(text)
        else {
          // The client hangs up on it; that is no failure of the proxy.
          res.on('error', () => {})
          res.write(text)
        }
        return
      }
      const upstream = request(
        new URL(forwarded.url, target),
        { method: forwarded.method, headers: req.headers },
        (reply) => {
          res.writeHead(reply.statusCode ?? 502, reply.headers)
          reply.pipe(res)
        },
      )
      upstream.on('error', () => res.destroy())
      upstream.end(forwarded.body)
    }
    req.on('end', () => void answerOrPass().catch(() => res.destroy()))
  })
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${port}`,
    answered,
    openConnections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  })
}

/**
 * Sends `req` to `target` as the proxy would pass it on, and resolves with the answer (a JSON
 * body), for an intercept that lets a request reach the cluster and then decides what the client
 * sees, or when.
 */
export function forward(target: string, req: ProxiedRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const upstream = request(
      new URL(req.url, target),
      { method: req.method, headers: req.headers },
      (reply) => {
        const chunks: Buffer[] = []
        reply.on('data', (chunk: Buffer) => chunks.push(chunk))
        reply.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          resolve({
            status: reply.statusCode ?? 502,
            body: text === '' ? undefined : JSON.parse(text),
          })
        })
      },
    )
    upstream.on('error', reject)
    upstream.end(req.body)
  })
}

/** Elasticsearch's error envelope for a whole-request failure. */
export function esError(status: number, type: string, reason: string): Answer {
  return {
    status,
    body: { error: { root_cause: [{ type, reason }], type, reason }, status },
  }
}

/**
 * A `_bulk` answer (200, `errors: true`) failing every item of the request in `body` with
 * `status` and an error of `type` and `reason`, as Elasticsearch reports item failures.
 */
export function failedBulkItems(
  body: Buffer,
  status: number,
  type: string,
  reason: (id: string) => string,
): Answer {
  const lines = body
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
  const items: unknown[] = []
  for (let i = 0; i < lines.length; i++) {
    const action = JSON.parse(lines[i]!) as Record<string, { _index: string; _id: string }>
    const [name, meta] = Object.entries(action)[0]!
    if (name !== 'delete') i++ // the document line
    items.push({
      [name]: {
        _index: meta._index,
        _id: meta._id,
        status,
        error: { type, reason: reason(meta._id) },
      },
    })
  }
  return { status: 200, body: { took: 1, errors: true, items } }
}

/**
 * An `_mget` answer (200) failing every document of the request in `body` with an error of
 * `type` and `reason`. Elasticsearch reports an `_mget` item failure without a status:
 * `{_index, _id, error: {type, reason, …}}`.
 */
export function failedMgetItems(body: Buffer, type: string, reason: string): Answer {
  const { docs } = JSON.parse(body.toString('utf8')) as {
    docs: Array<{ _index: string; _id: string }>
  }
  return {
    status: 200,
    body: {
      docs: docs.map(({ _index, _id }) => ({
        _index,
        _id,
        error: { root_cause: [{ type, reason }], type, reason },
      })),
    },
  }
}

/**
 * A failed delete-by-query answer: Elasticsearch answers with the operation's own body, not an
 * `error` envelope, with the status of its worst failure, or 408 when it timed out. A failure is
 * `{index, id, cause, status}` for a delete that failed, `{shard, index, node, reason, status}`
 * for a shard whose search failed; what was deleted before stays deleted.
 */
export function failedByQuery(
  status: number,
  outcome: { timedOut?: boolean; failures?: unknown[]; deleted: number; total: number },
): Answer {
  return {
    status,
    body: {
      took: 60001,
      timed_out: outcome.timedOut ?? false,
      total: outcome.total,
      deleted: outcome.deleted,
      batches: 1,
      version_conflicts: 0,
      noops: 0,
      retries: { bulk: 0, search: 0 },
      throttled_millis: 0,
      requests_per_second: -1,
      throttled_until_millis: 0,
      failures: outcome.failures ?? [],
    },
  }
}
