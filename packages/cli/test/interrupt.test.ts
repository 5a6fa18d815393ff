/**
 * Ctrl-C (or SIGTERM) during export and import: the command stops after the work in flight, says
 * how far it got, exits 130 (143 for SIGTERM), and a re-run finishes the job. (migrate's
 * interruption is in migrate.test.ts.)
 */
import { readdir } from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { exportFile, finish, generated, start, type Workspace, workspace } from './helpers.js'

/** Resolves when `child` has written something matching `pattern` on stderr. */
function stderrMatches(child: ReturnType<typeof start>, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString()
      if (pattern.test(seen)) {
        child.stderr!.off('data', onData)
        resolve()
      }
    }
    child.stderr!.on('data', onData)
    child.on('exit', () => reject(new Error(`exited before printing ${pattern}:\n${seen}`)))
  })
}

describe('interrupting export and import', () => {
  let ws: Workspace
  beforeEach(async () => {
    ws = await workspace()
  })
  afterEach(async () => {
    await ws.cleanup()
  })

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    'import from stdin: %s stops it (exit %i), a re-run completes it',
    async (signal, exitCode) => {
      const text = exportFile(generated(2000, 2))
      const lines = text.split('\n')
      const child = start(ws.dir, ['--backend', 'badger', 'import', '-'], {
        env: { KV_PROGRESS_INTERVAL_MS: '50' },
      })
      const done = finish(child, undefined, true)
      // Half of the file; once the import has written some of it, interrupt it, and once it has taken note,
      // send one more line so that its read loop wakes up and sees the request.
      child.stdin!.write(`${lines.slice(0, 1001).join('\n')}\n`)
      await stderrMatches(child, /kv import: [1-9][\d,]* entries/)
      const stopping = stderrMatches(child, /stopping; finishing the writes in flight/)
      child.kill(signal)
      await stopping
      child.stdin!.write(`${lines[1001]}\n`)
      const interrupted = await done
      expect(interrupted.code, interrupted.stderr).toBe(exitCode)
      const stopped =
        /interrupted: imported ([\d,]+) entries \(up to line \d+ of stdin\)\. Run the same command again/.exec(
          interrupted.stderr,
        )
      expect(stopped, interrupted.stderr).not.toBeNull()
      const reported = Number(stopped![1]!.replaceAll(',', ''))
      expect(reported).toBeGreaterThan(0)
      expect(reported).toBeLessThan(2000)
      // The writes in flight finished before the message: the store (empty before, distinct keys)
      // holds exactly the entries it names.
      const partial = JSON.parse(
        (await ws.kv(['--backend', 'badger', 'stats', '--json'])).out,
      ).entries
      expect(partial).toBe(reported)
      const rerun = await ws.kv(['--backend', 'badger', 'import', '-'], { input: text })
      expect(rerun.code, rerun.stderr).toBe(0)
      expect(
        JSON.parse((await ws.kv(['--backend', 'badger', 'stats', '--json'])).out).entries,
      ).toBe(2000)
    },
  )

  it('import --dry-run from stdin: the note and the message say it checked, and wrote nothing (exit 130)', async () => {
    const lines = exportFile(generated(2000, 2)).split('\n')
    const child = start(ws.dir, ['--backend', 'badger', 'import', '--dry-run', '-'], {
      env: { KV_PROGRESS_INTERVAL_MS: '50' },
    })
    const done = finish(child, undefined, true)
    // As above: half the file, the signal once some of it is checked, then one more line to
    // wake the read loop.
    child.stdin!.write(`${lines.slice(0, 1001).join('\n')}\n`)
    await stderrMatches(child, /kv import: [1-9][\d,]* entries/)
    const stopping = stderrMatches(child, /kv import: stopping/)
    child.kill('SIGINT')
    await stopping
    child.stdin!.write(`${lines[1001]}\n`)
    const interrupted = await done
    expect(interrupted.code, interrupted.stderr).toBe(130)
    expect(interrupted.stderr).toContain(
      'kv import: stopping the check of stdin; --dry-run writes nothing (Ctrl-C again to force)\n',
    )
    expect(interrupted.stderr).not.toMatch(/in flight|imported/)
    expect(interrupted.stderr).toMatch(
      /kv: interrupted: checked stdin up to line \d+, nothing written \(--dry-run\)\. Run the same command again to check the whole file\./,
    )
    // The dry run did not open the store: badger's directory was never created.
    expect(await readdir(ws.dir)).not.toContain('data')
  })

  it('export to stdout: SIGINT stops it (exit 130) without the trailer, and every entry it counts is on stdout', async () => {
    const seed = await ws.file('seed.ndjson', exportFile(generated(20_000, 2)))
    expect((await ws.kv(['--backend', 'simple_kv', 'import', seed])).code).toBe(0)
    const child = start(ws.dir, ['--backend', 'simple_kv', 'export', '-'])
    const done = finish(child)
    const stopping = stderrMatches(child, /stopping; finishing the reads in flight/)
    // At the first chunk on stdout (the header and the first entries), stop reading and interrupt:
    // the export then blocks on the full pipe long before its end (20,000 entries are ~4 MB), and
    // sees the signal with entries written and more queued in its own buffer.
    await new Promise<void>((resolve) => {
      child.stdout!.once('data', () => {
        child.stdout!.pause()
        resolve()
      })
    })
    child.kill('SIGINT')
    await stopping
    child.stdout!.resume()
    const interrupted = await done
    expect(interrupted.code, interrupted.stderr).toBe(130)
    const stopped =
      /interrupted: export stopped after ([\d,]+) entries\. Run the command again/.exec(
        interrupted.stderr,
      )
    expect(stopped, interrupted.stderr).not.toBeNull()
    const reported = Number(stopped![1]!.replaceAll(',', ''))
    expect(reported).toBeGreaterThan(0)
    expect(reported).toBeLessThan(20_000)
    // Whole lines: the header, then exactly the entries the message counts, and no trailer.
    expect(interrupted.out.endsWith('\n')).toBe(true)
    const [header, ...entries] = interrupted.out.slice(0, -1).split('\n')
    expect(JSON.parse(header!)).toMatchObject({ format: 'kv-export', source: 'simple_kv' })
    expect(entries.filter((line) => !line.startsWith('{"b":'))).toEqual([])
    expect(entries).toHaveLength(reported)
    const truncated = await ws.kv(['--backend', 'badger', 'import', '--dry-run', '-'], {
      input: interrupted.stdout,
    })
    expect(truncated.code).toBe(4)
    expect(truncated.stderr).toMatch(/the file ends without its trailer line/)
    // To a file, a complete re-run leaves the file and no partial file.
    const rerun = await ws.kv(['--backend', 'simple_kv', 'export', 'full.ndjson'])
    expect(rerun.code).toBe(0)
    expect((await readdir(ws.dir)).filter((name) => name.includes('.partial'))).toEqual([])
  })
})
