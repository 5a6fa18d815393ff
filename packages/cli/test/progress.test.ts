/**
 * Progress of long work: a bar with rate and ETA on a terminal, plain lines otherwise, nothing
 * with --no-progress.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BIN,
  cleanEnv,
  exportFile,
  finish,
  generated,
  start,
  type Workspace,
  workspace,
} from './helpers.js'

describe('progress display', () => {
  let ws: Workspace
  beforeAll(async () => {
    ws = await workspace()
    await ws.file('seed.ndjson', exportFile(generated(5000, 2)))
  })
  afterAll(async () => {
    await ws.cleanup()
  })

  it('prints plain periodic lines with counts, rate and ETA when stderr is not a terminal', async () => {
    const imported = await ws.kv(['--backend', 'simple_kv', 'import', 'seed.ndjson'], {
      env: { KV_PROGRESS_INTERVAL_MS: '10' },
    })
    expect(imported.code, imported.stderr).toBe(0)
    const lines = imported.stderr.trim().split('\n')
    expect(lines[0]).toMatch(/^kv import: 0 entries, 0\.0 MiB of [\d.]+ MiB \(0%\), 0 entries\/s$/)
    expect(lines.at(-1)).toMatch(
      /^kv import: 5,000 entries, [\d.]+ MiB of [\d.]+ MiB \(100%\), [\d,]+ entries\/s, ETA 0s$/,
    )
    const exported = await ws.kv(['--backend', 'simple_kv', 'export', 'out.ndjson'])
    expect(exported.stderr).toMatch(
      /^kv export: 5,000\/5,000 entries \(100%\), [\d,]+ entries\/s, ETA 0s$/m,
    )
  })

  it('caps KV_PROGRESS_INTERVAL_MS at the longest Node.js timer instead of printing every millisecond', async () => {
    // Node.js runs a longer interval every 1 ms (with a TimeoutOverflowWarning): an interval of
    // 35 days must mean "no periodic lines", so only the first and last lines are printed.
    const exported = await ws.kv(['--backend', 'simple_kv', 'export', 'capped.ndjson'], {
      env: { KV_PROGRESS_INTERVAL_MS: '3000000000' },
    })
    expect(exported.code, exported.stderr).toBe(0)
    expect(exported.stderr).not.toMatch(/TimeoutOverflowWarning/)
    expect(exported.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^kv export: 0\/5,000 entries \(0%\)/),
      expect.stringMatching(/^kv export: 5,000\/5,000 entries \(100%\)/),
    ])
  })

  it('ends quietly with 141 when the reader closes stdout (kv export - | head)', async () => {
    const child = start(ws.dir, ['--no-progress', '--backend', 'simple_kv', 'export', '-'])
    const done = finish(child)
    // Close our end of the pipe: the export (about 1 MB) cannot have been written in full.
    child.stdout!.destroy()
    const result = await done
    expect(result.code).toBe(141)
    expect(result.stderr).toBe('')
  })

  it('prints nothing on stderr with --no-progress', async () => {
    const quiet = await ws.kv(['--no-progress', '--backend', 'simple_kv', 'export', 'quiet.ndjson'])
    expect(quiet.code).toBe(0)
    expect(quiet.stderr).toBe('')
  })

  it.skipIf(!existsSync('/usr/bin/script'))(
    'draws a bar with rate and ETA when stderr is a terminal',
    async () => {
      // script(1) runs the command on a pseudo-terminal.
      const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} --backend simple_kv export tty.ndjson`
      const output = await new Promise<string>((resolve, reject) => {
        execFile(
          '/usr/bin/script',
          ['-qec', command, '/dev/null'],
          { cwd: ws.dir, env: cleanEnv() },
          (error, stdout) => (error ? reject(error) : resolve(stdout)),
        )
      })
      expect(output).toMatch(
        /export \[[\u2588\u2591]{30}\] 100% \| 5,000\/5,000 entries \| [\d,]+\/s \| ETA 0s/,
      )
      expect(output).toMatch(/wrote 5,000 entries/)
    },
  )
})
