/**
 * Which backend runs: the installed ones (a missing package gets a message naming it), the
 * default choice, and where the configuration comes from.
 */
import { cp, mkdir, mkdtemp, realpath, rm, stat, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { exportFile, finish, run, start, type Workspace, workspace } from './helpers.js'

const PACKAGE = fileURLToPath(new URL('..', import.meta.url))

/**
 * An installation of @kv/cli outside the workspace, with only some backends in its
 * node_modules: the CLI's files are copied (so Node resolves from the copy), its dependencies
 * linked.
 */
async function install(
  backends: string[],
  ownCore = false,
): Promise<{ root: string; bin: string }> {
  const root = await mkdtemp(join(tmpdir(), 'kv-cli-install-'))
  const modules = join(root, 'node_modules')
  const cli = join(modules, '@kv', 'cli')
  await mkdir(cli, { recursive: true })
  await cp(join(PACKAGE, 'dist'), join(cli, 'dist'), { recursive: true })
  await cp(join(PACKAGE, 'package.json'), join(cli, 'package.json'))
  const link = async (name: string) => {
    const target = await realpath(join(PACKAGE, 'node_modules', name))
    await mkdir(dirname(join(modules, name)), { recursive: true })
    await symlink(target, join(modules, name), 'dir')
  }
  if (ownCore) {
    // A copy of @kv/core for the CLI alone: the linked backends resolve the workspace's copy.
    const core = await realpath(join(PACKAGE, 'node_modules', '@kv/core'))
    await cp(join(core, 'dist'), join(modules, '@kv/core', 'dist'), { recursive: true })
    await cp(join(core, 'package.json'), join(modules, '@kv/core', 'package.json'))
    for (const name of ['zod', 'lz4js']) {
      await symlink(await realpath(join(core, 'node_modules', name)), join(modules, name), 'dir')
    }
  }
  const linked = [
    'commander',
    'cli-progress',
    'yaml',
    ...backends,
    ...(ownCore ? [] : ['@kv/core']),
  ]
  for (const name of linked) await link(name)
  return { root, bin: join(cli, 'dist', 'bin.js') }
}

describe('an installation with no backend package', () => {
  let setup: { root: string; bin: string }
  beforeAll(async () => {
    setup = await install([])
  })
  afterAll(async () => {
    await rm(setup.root, { recursive: true, force: true })
  })

  it('names the package to install, exit 5', async () => {
    const none = await run(setup.root, ['buckets'], { bin: setup.bin })
    expect(none.code).toBe(5)
    expect(none.stderr).toMatch(/no kv backend is installed: npm install @kv\/badger/)
    for (const [name, pkg] of [
      ['badger', '@kv/badger'],
      ['simple_kv', '@kv/simple'],
      ['elastic', '@kv/elastic'],
    ]) {
      const one = await run(setup.root, ['--backend', name!, 'get', 'b', 'k'], { bin: setup.bin })
      expect(one.code).toBe(5)
      expect(one.stderr).toContain(`the ${name} backend is not installed: npm install ${pkg}`)
    }
  })
})

describe('an installation with only @kv/simple', () => {
  let setup: { root: string; bin: string }
  beforeAll(async () => {
    setup = await install(['@kv/simple'])
  })
  afterAll(async () => {
    await rm(setup.root, { recursive: true, force: true })
  })

  it('uses simple_kv by default and names @kv/badger when migrate needs it', async () => {
    const kv = (args: string[]) => run(setup.root, args, { bin: setup.bin })
    expect((await kv(['put', 'demo', 'hello', 'world'])).code).toBe(0)
    expect((await kv(['get', 'demo', 'hello'])).out).toBe('world')
    expect(JSON.parse((await kv(['stats', '--json'])).out).backend).toBe('simple_kv')
    const migrate = await kv(['migrate', '--from', 'simple_kv', '--to', 'badger'])
    expect(migrate.code).toBe(5)
    expect(migrate.stderr).toContain('the badger backend is not installed: npm install @kv/badger')
  })
})

describe('an installation where the backend has another copy of @kv/core', () => {
  let setup: { root: string; bin: string }
  beforeAll(async () => {
    setup = await install(['@kv/simple'], true)
  })
  afterAll(async () => {
    await rm(setup.root, { recursive: true, force: true })
  })

  it('works, because every copy of @kv/core shares one registry per process', async () => {
    const kv = (args: string[]) => run(setup.root, args, { bin: setup.bin })
    const put = await kv(['--backend', 'simple_kv', 'put', 'demo', 'hello', 'world'])
    expect(put.code, put.stderr).toBe(0)
    const get = await kv(['get', 'demo', 'hello'])
    expect(get.code, get.stderr).toBe(0)
    expect(get.out).toBe('world')
  })
})

describe('configuration and the default backend', () => {
  let ws: Workspace
  beforeEach(async () => {
    ws = await workspace()
  })
  afterEach(async () => {
    await ws.cleanup()
  })

  const backendOf = async (args: string[], env?: Record<string, string>) => {
    const stats = await ws.kv(['stats', '--json', ...args], { env })
    expect(stats.code, stats.stderr).toBe(0)
    return JSON.parse(stats.out) as { backend: string; config: string }
  }

  it('prefers badger among the installed backends', async () => {
    expect((await backendOf([])).backend).toBe('badger')
  })

  it('skips a backend disabled in the configuration, and refuses it by name (exit 5)', async () => {
    await ws.file('kv.yml', 'data_dir: ./data\nbadger:\n  enabled: false\n')
    expect((await backendOf([])).backend).toBe('simple_kv')
    const named = await ws.kv(['--backend', 'badger', 'get', 'b', 'k'])
    expect(named.code).toBe(5)
    expect(named.stderr).toMatch(/disabled/)
    expect(named.stderr).toMatch(/\[KV_BACKEND_DISABLED\]\n$/)
  })

  it('with every installed backend disabled, says so (exit 5)', async () => {
    await ws.file(
      'kv.yml',
      'data_dir: ./data\nbadger:\n  enabled: false\nsimple_kv:\n  enabled: false\nelastic:\n  enabled: false\n',
    )
    const result = await ws.kv(['get', 'b', 'k'])
    expect(result.code).toBe(5)
    expect(result.stderr).toMatch(/Every registered kv backend is disabled by its configuration/)
    expect(result.stderr).toMatch(/\[KV_NO_BACKEND\]/)
  })

  it('reads ./kv.yml, else KV_CONFIG, and --config over both', async () => {
    const fromCwd = await backendOf(['--backend', 'simple_kv'])
    expect(fromCwd.config).toBe(join(await realpath(ws.dir), 'kv.yml'))
    const env = await ws.file('env.yml', 'data_dir: ./env-data\n')
    expect((await backendOf(['--backend', 'simple_kv'], { KV_CONFIG: env })).config).toBe(env)
    const flag = await ws.file('flag.yml', 'data_dir: ./flag-data\n')
    expect(
      (await backendOf(['--backend', 'simple_kv', '--config', flag], { KV_CONFIG: env })).config,
    ).toBe(flag)
    // data_dir of the file in force decides where the data goes.
    expect(
      (await ws.kv(['--backend', 'simple_kv', '--config', flag, 'put', 'd', 'k', 'flag'])).code,
    ).toBe(0)
    expect(
      (await ws.kv(['--backend', 'simple_kv', 'get', 'd', 'k'], { env: { KV_CONFIG: flag } })).out,
    ).toBe('flag')
    expect((await ws.kv(['--backend', 'simple_kv', 'get', 'd', 'k'])).code).toBe(3)
  })

  it('falls back to defaults (data under ./data) without a configuration file', async () => {
    await rm(join(ws.dir, 'kv.yml'))
    const stats = await backendOf(['--backend', 'simple_kv'])
    expect(stats.config).toMatch(/^defaults/)
    expect((await ws.kv(['--backend', 'simple_kv', 'put', 'd', 'k', 'v'])).code).toBe(0)
    const status = JSON.parse((await ws.kv(['--backend', 'simple_kv', 'stats', '--json'])).out)
    // The child's working directory is the real path of the workspace (tmpdir may be a symlink).
    const expected = join(await realpath(ws.dir), 'data', 'simple_kv')
    expect(status.backendStats.path).toBe(expected)
    expect((await stat(expected)).isDirectory()).toBe(true)
  })

  it('exits 4 for a missing --config file or an invalid configuration, naming the key', async () => {
    const missing = await ws.kv(['--config', 'nope.yml', 'buckets'])
    expect(missing.code).toBe(4)
    expect(missing.stderr).toMatch(/nope\.yml does not exist/)
    await ws.file('kv.yml', 'simple_kv:\n  sync_writes: "often"\n')
    const wrongType = await ws.kv(['--backend', 'simple_kv', 'buckets'])
    expect(wrongType.code).toBe(4)
    expect(wrongType.stderr).toMatch(/simple_kv\.sync_writes/)
    await ws.file('kv.yml', 'simple_kv:\n  no_such_key: 1\n')
    const unknown = await ws.kv(['--backend', 'simple_kv', 'buckets'])
    expect(unknown.code).toBe(4)
    expect(unknown.stderr).toMatch(/simple_kv\.no_such_key/)
  })

  it('names --config, not KV_CONFIG, when the --config path cannot be read (exit 4)', async () => {
    await mkdir(join(ws.dir, 'adir'))
    const dir = await ws.kv(['-c', 'adir', 'buckets'])
    expect(dir.code).toBe(4)
    expect(dir.stderr).toMatch(
      /Cannot read the configuration file \S*adir \(given with --config\): EISDIR.*\[KV_INVALID_CONFIG\]/,
    )
    expect(dir.stderr).not.toMatch(/KV_CONFIG\)/)
  })

  it('refuses an empty --config as a usage error (exit 2), not as the working directory', async () => {
    // Even with a valid KV_CONFIG to fall back on: the user named a file, and it is empty.
    const env = await ws.file('env.yml', 'data_dir: ./env-data\n')
    for (const args of [['-c', ''], ['--config=']]) {
      const empty = await ws.kv([...args, 'buckets'], { env: { KV_CONFIG: env } })
      expect(empty.code, empty.stderr).toBe(2)
      expect(empty.stderr).toMatch(/--config needs the path of a file, not an empty string/)
    }
    const json = await ws.kv(['--json', '-c', '', 'buckets'])
    expect(JSON.parse(json.stderr).error).toMatchObject({ exitCode: 2 })
  })

  it('exits 5 when another process holds the store (badger lock)', async () => {
    // An import reading stdin keeps the badger store open until its input ends.
    const holder = start(ws.dir, ['--backend', 'badger', 'import', '-'], {
      env: { KV_PROGRESS_INTERVAL_MS: '100' },
    })
    const held = finish(holder, undefined, true)
    await new Promise<void>((resolve) => {
      holder.stderr!.once('data', () => resolve())
    })
    const blocked = await ws.kv(['--backend', 'badger', 'get', 'd', 'k'])
    expect(blocked.code).toBe(5)
    expect(blocked.stderr).toMatch(/KV_LOCKED/)
    holder.stdin!.end(exportFile([{ b: 'd', k: Buffer.from('k'), v: Buffer.from('v') }]))
    expect((await held).code).toBe(0)
    expect((await ws.kv(['--backend', 'badger', 'get', 'd', 'k'])).out).toBe('v')
  })
})
