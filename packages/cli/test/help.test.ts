/**
 * --help on every command, with examples; usage errors exit 2. No store is opened.
 */
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Workspace, workspace } from './helpers.js'

const COMMANDS = [
  'get',
  'put',
  'del',
  'exists',
  'ls',
  'buckets',
  'stats',
  'export',
  'import',
  'migrate',
]

describe('help and usage', () => {
  let ws: Workspace
  beforeAll(async () => {
    ws = await workspace()
  })
  afterAll(async () => {
    await ws.cleanup()
  })

  it('shows the commands, global options, examples and exit codes with kv --help', async () => {
    const help = await ws.kv(['--help'])
    expect(help.code).toBe(0)
    for (const command of COMMANDS) expect(help.out).toMatch(new RegExp(`^  ${command}\\b`, 'm'))
    for (const option of ['--config', '--backend', '--json', '--no-progress'])
      expect(help.out).toContain(option)
    expect(help.out).toContain('Examples:')
    expect(help.out).toMatch(/Exit codes: 0 ok/)
    for (const code of ['130 interrupted', '141 output closed', '143 terminated'])
      expect(help.out).toContain(code)
  })

  it.each(COMMANDS)('kv %s --help shows usage and examples', async (command) => {
    const help = await ws.kv([command, '--help'])
    expect(help.code).toBe(0)
    expect(help.out).toContain(`Usage: kv ${command}`)
    expect(help.out).toMatch(/Examples:\n {2}kv /)
  })

  it('kv migrate --help says a part is all-or-nothing only on simple_kv and badger, not on elastic', async () => {
    const help = await ws.kv(['migrate', '--help'])
    expect(help.code).toBe(0)
    // Commander wraps the text: compare it with the line breaks and indentation taken out.
    const text = help.out.replace(/\s+/g, ' ')
    expect(text).not.toMatch(/each one all-or-nothing addValues/)
    expect(text).toContain(
      "A batch is written in parts, each one addValues call: a failed part leaves the batch's earlier parts written",
    )
    expect(text).toContain(
      'A part is all-or-nothing on simple_kv and badger; on elastic, whose addValues is not atomic, a failed part may leave some of its entries written. Re-running is safe either way.',
    )
  })

  it('exits 2 with usage for no command, an unknown command, a missing argument or an unknown backend', async () => {
    expect((await ws.kv([])).code).toBe(2)
    const unknown = await ws.kv(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/)
    const missing = await ws.kv(['get', 'only-bucket'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/missing required argument 'key'/)
    const backend = await ws.kv(['--backend', 'nonexistent', 'get', 'b', 'k'])
    expect(backend.code).toBe(2)
    expect(backend.stderr).toMatch(
      /unknown backend "nonexistent"; kv knows elastic, simple_kv, badger/,
    )
    const migrate = await ws.kv(['migrate', '--from', 'badger'])
    expect(migrate.code).toBe(2)
    expect(migrate.stderr).toMatch(/--to/)
  })

  it('with --json, a usage error is the JSON error object too (exit 2)', async () => {
    for (const args of [
      ['--json', 'get', 'only-bucket'],
      ['--json', 'frobnicate'],
      ['ls', 'b', '--limit', 'many', '--json'],
    ]) {
      const result = await ws.kv(args)
      expect(result.code, args.join(' ')).toBe(2)
      const lines = result.stderr.trim().split('\n')
      expect(lines, result.stderr).toHaveLength(1)
      const { error } = JSON.parse(lines[0]!)
      expect(error.exitCode).toBe(2)
      expect(typeof error.message).toBe('string')
      expect(error.message).not.toMatch(/^error: /)
    }
    const missing = JSON.parse((await ws.kv(['--json', 'get', 'only-bucket'])).stderr)
    expect(missing.error.message).toMatch(/missing required argument 'key'/)
  })

  it('with --json and no command, the usage error is the JSON error object, not the help', async () => {
    for (const args of [['--json'], ['--json', '--no-progress']]) {
      const result = await ws.kv(args)
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stdout.length).toBe(0)
      const lines = result.stderr.trim().split('\n')
      expect(lines, result.stderr).toHaveLength(1)
      expect(JSON.parse(lines[0]!)).toEqual({
        error: { message: 'no command given; run kv --help for the commands', exitCode: 2 },
      })
    }
    // Without --json it stays the help, on stderr.
    const plain = await ws.kv(['--no-progress'])
    expect(plain.code).toBe(2)
    expect(plain.stderr).toMatch(/^Usage: kv /)
  })

  it("prints the package's version with -V", async () => {
    const version = await ws.kv(['-V'])
    expect(version.code).toBe(0)
    // The build puts package.json's version in; the fallback (0.0.0-dev) would match a pattern.
    const { version: expected } = JSON.parse(
      await readFile(new URL('../package.json', import.meta.url), 'utf8'),
    ) as { version: string }
    expect(version.out).toBe(`${expected}\n`)
  })
})
