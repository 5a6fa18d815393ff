/**
 * Ctrl-C during migrate's counting pass. The source is elastic behind a proxy that holds its
 * listings, so the signal arrives while the count is under way, whatever the machine's speed.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Standin } from '@kv/es-standin'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFaultProxy } from './es-proxy.js'
import { exportFile, finish, generated, start, type Workspace, workspace } from './helpers.js'

// Built by turbo before the tests (it is a dev dependency); run `pnpm build` in packages/elastic otherwise.
const built = existsSync(
  fileURLToPath(new URL('../node_modules/@kv/elastic/dist/index.js', import.meta.url)),
)

describe.skipIf(!built)('kv migrate interrupted while counting', () => {
  let standin: Standin
  let ws: Workspace

  beforeAll(async () => {
    const { startStandin } = await import('@kv/es-standin')
    standin = await startStandin()
    ws = await workspace()
  })
  afterAll(async () => {
    await ws?.cleanup()
    await standin?.close()
  })

  it('exits 130 at once, claiming no total and copying nothing', async () => {
    const proxy = await startFaultProxy(standin.url)
    try {
      const config = (endpoint: string) =>
        `data_dir: ./data\nelastic:\n  endpoint: ${endpoint}\n  index_name: kv-count\n  refresh: true\n`
      await ws.file('direct.yml', config(standin.url))
      const seed = await ws.file('seed.ndjson', exportFile(generated(300, 3)))
      const imported = await ws.kv([
        '--config',
        'direct.yml',
        '--backend',
        'elastic',
        'import',
        seed,
      ])
      expect(imported.code, imported.stderr).toBe(0)

      await ws.file('kv.yml', config(proxy.url))
      proxy.holdSearches = true
      const child = start(ws.dir, ['migrate', '--from', 'elastic', '--to', 'simple_kv'])
      const result = finish(child)
      let stderr = ''
      const waiting = new Set<() => void>()
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
        for (const check of waiting) check()
      })
      const seen = (pattern: RegExp) =>
        new Promise<void>((resolve) => {
          const check = () => {
            if (pattern.test(stderr)) {
              waiting.delete(check)
              resolve()
            }
          }
          waiting.add(check)
          check()
        })
      // The count has begun and waits on a listing: the signal lands in the middle of it.
      await Promise.all([seen(/counting the entries of elastic/), proxy.searchHeld()])
      child.kill('SIGINT')
      await seen(/stopping;/)
      proxy.release()

      const interrupted = await result
      expect(interrupted.code, interrupted.stderr).toBe(130)
      expect(interrupted.stderr).toMatch(
        /kv: interrupted: stopped while counting the entries of elastic, before copying any; run the same command again/,
      )
      // No count passes for the total: neither the copy announcement nor a "copied N of M".
      expect(interrupted.stderr).not.toMatch(/kv migrate: copying|copied \d/)
      const target = await ws.kv(['--backend', 'simple_kv', 'buckets'])
      expect([target.code, target.out]).toEqual([0, ''])
    } finally {
      proxy.release()
      await proxy.close()
    }
  })
})
