/**
 * Ctrl-C during the counting pass of migrate and export, and during migrate's verification: an
 * elastic store sits behind a proxy that holds its listings, so the signal arrives while the
 * count (or the verification's count of the target) is under way, whatever the machine's speed.
 * The note printed at once says what is being stopped.
 */

import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Standin } from '@kv/es-standin'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FaultProxy, startFaultProxy } from './es-proxy.js'
import {
  exportFile,
  finish,
  generated,
  type Result,
  start,
  type Workspace,
  workspace,
} from './helpers.js'

// Built by turbo before the tests (it is a dev dependency); run `pnpm build` in packages/elastic otherwise.
const built = existsSync(
  fileURLToPath(new URL('../node_modules/@kv/elastic/dist/index.js', import.meta.url)),
)

/** The stderr of `child` so far, and a wait for it to match a pattern. */
function watchStderr(child: ChildProcess): (pattern: RegExp) => Promise<void> {
  let stderr = ''
  const waiting = new Set<() => void>()
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
    for (const check of waiting) check()
  })
  return (pattern) =>
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
}

/**
 * Runs `kv args` in `dir` with the proxy holding listings, sends SIGINT once a listing is held
 * (and `before`, if given, has shown on stderr), waits for the first-Ctrl-C note of `command`,
 * lets the listings go on, and returns how the command ended.
 */
async function interruptDuringListing(
  proxy: FaultProxy,
  dir: string,
  args: string[],
  command: 'migrate' | 'export',
  before?: RegExp,
): Promise<Result> {
  proxy.holdSearches = true
  const child = start(dir, args)
  const result = finish(child)
  const seen = watchStderr(child)
  await Promise.all([before === undefined ? undefined : seen(before), proxy.searchHeld()])
  child.kill('SIGINT')
  await seen(new RegExp(`kv ${command}: stopping`))
  proxy.release()
  return result
}

describe.skipIf(!built)('Ctrl-C while counting, and while verifying', () => {
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
      // The count has begun and waits on a listing: the signal lands in the middle of it.
      const interrupted = await interruptDuringListing(
        proxy,
        ws.dir,
        ['migrate', '--from', 'elastic', '--to', 'simple_kv'],
        'migrate',
        /counting the entries of elastic/,
      )
      expect(interrupted.code, interrupted.stderr).toBe(130)
      // The note says what stops: the count, with nothing copied and no write to wait for.
      expect(interrupted.stderr).toContain(
        'kv migrate: stopping the count of the entries of elastic; nothing was copied yet (Ctrl-C again to force)\n',
      )
      expect(interrupted.stderr).not.toMatch(/in flight/)
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

  it('export: the note says the count stops, with nothing exported yet; no file is left, nothing on stdout (exit 130)', async () => {
    for (const file of ['out.ndjson', '-']) {
      // The index kv-count, seeded by the test before, read through a proxy holding its listings.
      const proxy = await startFaultProxy(standin.url)
      try {
        const config = await ws.file(
          'export.yml',
          `data_dir: ./data\nelastic:\n  endpoint: ${proxy.url}\n  index_name: kv-count\n`,
        )
        const interrupted = await interruptDuringListing(
          proxy,
          ws.dir,
          ['--config', config, '--backend', 'elastic', 'export', file],
          'export',
        )
        expect(interrupted.code, interrupted.stderr).toBe(130)
        expect(interrupted.stderr).toContain(
          'kv export: stopping the count of the entries of elastic; nothing was exported yet (Ctrl-C again to force)\n',
        )
        expect(interrupted.stderr).not.toMatch(/in flight/)
        expect(interrupted.stderr).toContain(
          `kv: interrupted: export stopped while counting the entries of elastic, before exporting any${file === '-' ? '' : '; out.ndjson was not written'}. Run the command again.`,
        )
        // Not even the header.
        expect(interrupted.out).toBe('')
        expect((await readdir(ws.dir)).filter((name) => name.startsWith('out.ndjson'))).toEqual([])
      } finally {
        proxy.release()
        await proxy.close()
      }
    }
  })

  it('migrate: the note says the verification stops, the copy being complete (exit 130)', async () => {
    // The target is elastic behind the proxy: the copy sends no search, the verification's
    // count of the target does, and is held there.
    const proxy = await startFaultProxy(standin.url)
    const own = await workspace(
      `data_dir: ./data\nelastic:\n  endpoint: ${proxy.url}\n  index_name: kv-verify\n`,
    )
    try {
      const seed = await own.file('seed.ndjson', exportFile(generated(30, 3)))
      expect((await own.kv(['--backend', 'simple_kv', 'import', seed])).code).toBe(0)
      const interrupted = await interruptDuringListing(
        proxy,
        own.dir,
        ['migrate', '--from', 'simple_kv', '--to', 'elastic'],
        'migrate',
      )
      expect(interrupted.code, interrupted.stderr).toBe(130)
      expect(interrupted.stderr).toContain(
        'kv migrate: stopping the verification (the copy is complete); finishing the reads in flight (Ctrl-C again to force)\n',
      )
      expect(interrupted.stderr).not.toMatch(/writes in flight/)
      expect(interrupted.stderr).toMatch(
        /kv: interrupted: the copy is complete but the verification was interrupted; run the command again to verify/,
      )
    } finally {
      proxy.release()
      await proxy.close()
      await own.cleanup()
    }
  })
})
