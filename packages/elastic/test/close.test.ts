/**
 * close() and listings: a listing paused between pages cannot go on after close(), even after the
 * store is opened again (it fails with KV_NOT_OPEN, not as an unreachable cluster), and after
 * close() nothing of the store keeps the process alive. close() against a cluster that stopped
 * answering waits for its refresh at most 5 s (or request_timeout_ms if shorter), not the full
 * request_timeout_ms.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type Standin, startStandin } from '@kv/es-standin'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { CLOSE_REFRESH_TIMEOUT_MS } from '../src/elastic-kv.js'
import { ElasticKV } from '../src/index.js'
import { startProxy } from './proxy.js'
import { freshIndexName } from './targets.js'

let standin: Standin
beforeAll(async () => {
  standin = await startStandin()
})
afterAll(async () => {
  await standin.close()
})

const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    (result) => ({ resolved: result }),
    (error: unknown) => error,
  )

describe('a listing paused across close()', () => {
  it.each(['keys', 'buckets'] as const)(
    '%s() ends with KV_NOT_OPEN while closed and after the store is opened again',
    async (listing) => {
      const store = new ElasticKV({
        endpoint: standin.url,
        index_name: freshIndexName('close'),
        page_size: 2,
      })
      await store.open()
      // Three pages of keys in one bucket, and of buckets.
      for (const name of ['a', 'b', 'c', 'd', 'e']) await store.addValue(name, name, 'v')
      for (const key of ['k1', 'k2', 'k3', 'k4']) await store.addValue('a', key, 'v')
      const start = () =>
        (listing === 'keys' ? store.keys('a') : store.buckets())[Symbol.asyncIterator]()
      try {
        const closed = start()
        await closed.next()
        const reopened = start()
        await reopened.next()
        await store.close()
        expect(await rejection(closed.next())).toMatchObject({ code: 'KV_NOT_OPEN' })
        await store.open()
        // It belongs to the session that was closed (its client is closed): it ends.
        expect(await rejection(reopened.next())).toMatchObject({
          code: 'KV_NOT_OPEN',
          message: expect.stringMatching(/closed while this listing was paused/),
        })
        // A listing started now works.
        const now = start()
        expect((await now.next()).done).toBe(false)
      } finally {
        await store.close()
      }
    },
  )
})

describe('after close()', () => {
  it('leaves no socket, timer or other handle, with a listing paused and a write in flight at close(); the process exits by itself', async () => {
    const child = fileURLToPath(new URL('./fixtures/close-child.mjs', import.meta.url))
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url))
    if (!existsSync(dist)) throw new Error(`${dist} is missing: run \`pnpm build\` first.`)
    const proc = spawn(process.execPath, [child, standin.url, freshIndexName('close-child')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    proc.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
    // Waits for the process to end on its own: a handle left open would keep it (and this test)
    // running until the test's own time limit fails it.
    const code = await new Promise<number | null>((resolve) => proc.on('close', resolve))
    expect(err).toBe('')
    expect(code).toBe(0)
    // Only the child's own stdout and stderr pipes.
    const active = JSON.parse(out) as string[]
    expect(active.filter((resource) => resource !== 'PipeWrap')).toEqual([])
  })
})

describe('close() when the cluster stops answering', () => {
  /** The timers keeping this process alive. */
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length

  it.each([
    // The default 30 s would make the test slow to fail; 20 s is as far from 5 s.
    { request_timeout_ms: 20_000, waits: CLOSE_REFRESH_TIMEOUT_MS },
    { request_timeout_ms: 1_000, waits: 1_000 },
  ])(
    'with request_timeout_ms $request_timeout_ms waits $waits ms for its refresh, then closes, leaving no socket or timer',
    async ({ request_timeout_ms, waits }) => {
      expect(CLOSE_REFRESH_TIMEOUT_MS).toBe(5_000) // the README's "at most 5 s"
      // No periodic refresh, so that the stand-in (in this process) holds no timer of its own.
      const quiet = await startStandin({ refreshIntervalMs: -1 })
      const proxy = await startProxy(quiet.url)
      const store = new ElasticKV({
        endpoint: proxy.url,
        index_name: freshIndexName('close-silent'),
        request_timeout_ms,
      })
      try {
        await store.open()
        await store.addValue('b', 'k', 'v')
        // The cluster goes silent: its refresh is never answered.
        let refreshes = 0
        proxy.intercept = (req) => {
          if (!req.url.split('?')[0]!.endsWith('/_refresh')) return undefined
          refreshes++
          return new Promise(() => {})
        }
        const started = performance.now()
        await store.close()
        const took = performance.now() - started
        expect(refreshes).toBe(1)
        expect(store.status).toBe('closed')
        // It waited for the refresh (its deadline, not a failure, ended the wait), and no longer.
        expect(took).toBeGreaterThanOrEqual(waits - 20)
        expect(took).toBeLessThan(waits + 1_500)
        // The refresh's request was aborted and the client closed: no connection of it stays
        // open (the proxy sees it close), and no timer of it is left (neither the stand-in, with
        // no periodic refresh, nor the proxy holds one).
        await vi.waitFor(() => expect(proxy.openConnections()).toBe(0), { timeout: 2_000 })
        expect({ timers: timers() }).toEqual({ timers: 0 })
      } finally {
        await store.close()
        await proxy.close()
        await quiet.close()
      }
    },
    40_000,
  )
})
