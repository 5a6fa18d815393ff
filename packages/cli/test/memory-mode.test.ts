/**
 * A store whose data does not outlive the process (badger with memory_mode: true): the commands
 * that write refuse it, since they would exit 0 and keep nothing; those that read still work.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { exportFile, type Result, type Workspace, workspace } from './helpers.js'

const MEMORY = 'data_dir: ./data\nbadger:\n  memory_mode: true\n'

function expectRefused(result: Result, command: string): void {
  expect(result.code, result.stderr).toBe(4)
  expect(result.stderr).toMatch(
    new RegExp(
      `^kv: ${command} refused: the badger store keeps its data in memory only \\(badger\\.memory_mode: true\\).*Set memory_mode: false in the badger section of .*\\[KV_INVALID_CONFIG\\]\\n$`,
    ),
  )
}

describe('a store kept in memory only', () => {
  let ws: Workspace
  beforeEach(async () => {
    ws = await workspace(MEMORY)
  })
  afterEach(async () => {
    await ws.cleanup()
  })

  it('is refused by put, del and import (dry run too), as the default backend and by name', async () => {
    expectRefused(await ws.kv(['put', 'a', 'k', 'v']), 'put')
    expectRefused(await ws.kv(['--backend', 'badger', 'put', 'a', 'k', 'v']), 'put')
    expectRefused(await ws.kv(['del', 'a', 'k']), 'del')
    const file = await ws.file(
      'one.ndjson',
      exportFile([{ b: 'a', k: Buffer.from('k'), v: Buffer.from('v') }]),
    )
    expectRefused(await ws.kv(['--no-progress', 'import', file]), 'import')
    expectRefused(await ws.kv(['import', '--dry-run', file]), 'import')
    const json = await ws.kv(['--json', 'put', 'a', 'k', 'v'])
    expect(JSON.parse(json.stderr).error).toMatchObject({ exitCode: 4, code: 'KV_INVALID_CONFIG' })
  })

  /** `kv migrate` from simple_kv to badger (this workspace's memory-only badger by default). */
  const migrateToBadger = (...extra: string[]) =>
    ws.kv(['--no-progress', 'migrate', '--from', 'simple_kv', '--to', 'badger', ...extra])

  it('is refused as the target of migrate, also through --to-config, before anything is copied', async () => {
    expect((await ws.kv(['--backend', 'simple_kv', 'put', 'a', 'k', 'v'])).code).toBe(0)
    const to = await migrateToBadger()
    expectRefused(to, 'migrate')
    expect(to.stderr).toMatch(
      /or migrate to another backend or configuration \(--to, --to-config\)/,
    )
    expect(to.out).toBe('')
    const other = await ws.file('other.yml', MEMORY)
    const toConfig = await migrateToBadger('--to-config', other)
    expectRefused(toConfig, 'migrate')
    expect(toConfig.stderr).toContain(`badger section of ${other}`)
  })

  it('refuses a migrate to it before opening the source: no empty source database is created', async () => {
    const other = await ws.file('other.yml', MEMORY)
    for (const toConfig of [[], ['--to-config', other]]) {
      expectRefused(await migrateToBadger(...toConfig), 'migrate')
    }
    expect(existsSync(join(ws.dir, 'data'))).toBe(false)
  })

  it('still serves the commands that only read, and migrate from it', async () => {
    expect((await ws.kv(['get', 'a', 'k'])).code).toBe(3)
    expect((await ws.kv(['exists', 'a', 'k'])).code).toBe(3)
    for (const args of [['ls', 'a'], ['buckets'], ['stats'], ['export', 'out.ndjson']]) {
      const result = await ws.kv(args)
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0)
    }
    const from = await ws.kv(['--no-progress', 'migrate', '--from', 'badger', '--to', 'simple_kv'])
    expect(from.code, from.stderr).toBe(0)
    expect(from.out).toMatch(/copied 0 entries in 0 buckets from badger to simple_kv/)
  })
})
