/**
 * close() and listings: a listing paused between pages cannot go on after close(), even after the
 * store is opened again (it fails with KV_NOT_OPEN, not as an unreachable cluster), and after
 * close() nothing of the store keeps the process alive.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type Standin, startStandin } from '@kv/es-standin'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ElasticKV } from '../src/index.js'
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
