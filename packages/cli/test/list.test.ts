/**
 * ls, buckets and stats against the real stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BACKENDS, exportFile, type Workspace, workspace } from './helpers.js'

describe.each(BACKENDS)('listing on %s', (backend) => {
  let ws: Workspace
  const kv = (args: string[]) => ws.kv(['--backend', backend, ...args])

  beforeAll(async () => {
    ws = await workspace()
    // Keys chosen so that byte order differs from insertion order, plus a binary key.
    const entries = [
      { b: 'users', k: Buffer.from('user:2'), v: Buffer.from('bob') },
      { b: 'users', k: Buffer.from('user:10'), v: Buffer.from('carol') },
      { b: 'users', k: Buffer.from('user:1'), v: Buffer.from('alice') },
      { b: 'users', k: Buffer.from('admin'), v: Buffer.from('root') },
      { b: 'users', k: Buffer.from([0xff, 0x00]), v: Buffer.from('binary') },
      { b: 'a,b', k: Buffer.from('c'), v: Buffer.from('1') },
      { b: 'a', k: Buffer.from('b,c'), v: Buffer.from('2') },
    ]
    const file = await ws.file('seed.ndjson', exportFile(entries))
    const imported = await kv(['import', file])
    expect(imported.code, imported.stderr).toBe(0)
  })
  afterAll(async () => {
    await ws.cleanup()
  })

  it('lists keys in ascending byte order, one per line', async () => {
    const ls = await kv(['ls', 'users', '-k', 'hex'])
    expect(ls.code).toBe(0)
    expect(ls.out.trim().split('\n')).toEqual(
      ['admin', 'user:1', 'user:10', 'user:2']
        .map((k) => Buffer.from(k).toString('hex'))
        .concat(['ff00']),
    )
  })

  it('filters with --prefix and stops at --limit', async () => {
    expect((await kv(['ls', 'users', '--prefix', 'user:'])).out).toBe('user:1\nuser:10\nuser:2\n')
    expect((await kv(['ls', 'users', '--prefix', 'user:', '--limit', '2'])).out).toBe(
      'user:1\nuser:10\n',
    )
    expect((await kv(['ls', 'users', '--limit', '0'])).out).toBe('')
    expect((await kv(['ls', 'nobucket'])).out).toBe('')
  })

  it('prints keys as base64 (plus text when it is UTF-8) with --json', async () => {
    const ls = await kv(['--json', 'ls', 'users', '--prefix', 'admin'])
    expect(JSON.parse(ls.out)).toEqual([
      { key: Buffer.from('admin').toString('base64'), keyText: 'admin' },
    ])
    const all = JSON.parse((await kv(['ls', 'users', '--json'])).out) as {
      key: string
      keyText?: string
    }[]
    expect(all).toHaveLength(5)
    expect(all[4]).toEqual({ key: Buffer.from([0xff, 0]).toString('base64') })
    expect(JSON.parse((await kv(['ls', 'nobucket', '--json'])).out)).toEqual([])
  })

  it('rejects a bad --limit with exit 2', async () => {
    const bad = await kv(['ls', 'users', '--limit', '-1'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--limit/)
  })

  it('lists buckets, keeping bucket "a,b" apart from bucket "a"', async () => {
    expect((await kv(['buckets'])).out).toBe('a\na,b\nusers\n')
    expect(JSON.parse((await kv(['buckets', '--json'])).out)).toEqual(['a', 'a,b', 'users'])
    expect((await kv(['get', 'a,b', 'c'])).out).toBe('1')
    expect((await kv(['get', 'a', 'b,c'])).out).toBe('2')
  })

  it('shows stats: backend, configuration, buckets and entry counts', async () => {
    const text = await kv(['stats'])
    expect(text.code).toBe(0)
    expect(text.out).toMatch(new RegExp(`backend\\s+${backend}`))
    expect(text.out).toMatch(/entries\s+7/)
    expect(text.out).toContain('kv.yml')
    const json = JSON.parse((await kv(['stats', '--json', '--bytes'])).out)
    expect(json).toMatchObject({
      backend,
      buckets: 3,
      entries: 7,
      valueBytes: 1 + 1 + 3 + 5 + 5 + 4 + 6,
      perBucket: [
        { name: 'a', entries: 1, valueBytes: 1 },
        { name: 'a,b', entries: 1, valueBytes: 1 },
        { name: 'users', entries: 5, valueBytes: 23 },
      ],
    })
  })
})
