/**
 * An HTTP proxy in front of the Elasticsearch stand-in that passes every request through, except
 * `_bulk` requests while `dropWrites` is set: those it acknowledges as every item written
 * (status 201) without passing them on — a cluster that loses acknowledged writes — and
 * `_search` requests while `holdSearches` is set: those wait until `release()`, so that a test
 * can act while `kv` is in the middle of a listing. Faults are injected at the network boundary
 * so that `kv` runs unchanged against them.
 */
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A running proxy. */
export interface FaultProxy {
  readonly url: string
  /** While true, `_bulk` requests are acknowledged and dropped. */
  dropWrites: boolean
  /** While true, `_search` requests (listings) are held, unanswered. */
  holdSearches: boolean
  /** Resolves once a search is held. */
  searchHeld(): Promise<void>
  /** Stops holding searches and passes on those held. */
  release(): void
  close(): Promise<void>
}

const ACTIONS = new Set(['index', 'create', 'update', 'delete'])

/** The bulk answer (as filtered by `filter_path=items.*.status,…`) of every action of `body`. */
function acknowledge(body: string): { items: Record<string, { status: number }>[] } {
  const items: Record<string, { status: number }>[] = []
  for (const line of body.split('\n')) {
    if (line === '') continue
    const parsed = JSON.parse(line) as Record<string, { _index?: unknown }>
    const [op] = Object.keys(parsed)
    // An action line names the index; a document line does not.
    if (op !== undefined && ACTIONS.has(op) && parsed[op]?._index !== undefined) {
      items.push({ [op]: { status: op === 'delete' ? 200 : 201 } })
    }
  }
  return { items }
}

/** Starts a proxy to `target` on 127.0.0.1. */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const state = { dropWrites: false, holdSearches: false }
  const held: (() => void)[] = []
  let onHeld: (() => void) | undefined
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const path = (req.url ?? '/').split('?')[0]!
      if (state.dropWrites && path.endsWith('/_bulk')) {
        const text = JSON.stringify(acknowledge(body.toString('utf8')))
        res.writeHead(200, {
          'X-elastic-product': 'Elasticsearch',
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        })
        res.end(text)
        return
      }
      const forward = () => {
        const upstream = request(
          new URL(req.url ?? '/', target),
          { method: req.method, headers: { ...req.headers, host: new URL(target).host } },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers)
            answer.pipe(res)
          },
        )
        upstream.on('error', () => res.destroy())
        upstream.end(body)
      }
      if (state.holdSearches && path.endsWith('/_search')) {
        held.push(forward)
        onHeld?.()
        return
      }
      forward()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    searchHeld: () =>
      held.length > 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            onHeld = resolve
          }),
    release: () => {
      state.holdSearches = false
      for (const forward of held.splice(0)) forward()
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  })
}
