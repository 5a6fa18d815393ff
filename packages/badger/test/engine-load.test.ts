import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { classicLevelWithoutNativeBuild, resolveFromHook } from './fixtures/broken-install.mjs'
import { removeDir, tempDir } from './helpers/temp.js'

// A broken install is laid out in a temporary directory and the child resolves the engine
// packages from there (test/fixtures/resolve-from-hook.mjs): Node's own resolver and classic-level's
// own native loader fail, as they do for a user; nothing of the workspace's install is touched.

const run = promisify(execFile)
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

interface Outcome {
  opened?: boolean
  value?: string
  code?: string
  isKVError?: boolean
  message?: string
  cause?: string
}

/** Runs `node --import <hook> args` in `cwd`, resolving each package of `from` from its directory. */
function runWith(from: Record<string, string>, args: string[], cwd: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, KV_TEST_RESOLVE_FROM: JSON.stringify(from) }
  delete env.KV_CONFIG // the configuration is the options given (or the CLI's defaults)
  return run(process.execPath, ['--import', resolveFromHook, ...args], {
    cwd,
    env,
  })
}

async function openInChild(
  from: Record<string, string>,
  options: object,
  cwd: string,
): Promise<Outcome> {
  const { stdout } = await runWith(from, [fixture('open-child.mjs'), JSON.stringify(options)], cwd)
  return JSON.parse(stdout) as Outcome
}

let dir: string
let empty: string // no node_modules: a package resolved from here is not installed
let noNative: string
beforeEach(async () => {
  dir = await tempDir('engine-load')
  empty = join(dir, 'empty')
  noNative = join(dir, 'no-native')
  await mkdir(empty)
  await classicLevelWithoutNativeBuild(noNative)
})
afterEach(async () => {
  await removeDir(dir)
})

describe.each([
  ['single_bucket_mode: true', { single_bucket_mode: true }],
  ['single_bucket_mode: false', { single_bucket_mode: false }],
])('a disk store whose engine cannot load (%s)', (_name, mode) => {
  it('rejects open() with KV_BACKEND_UNAVAILABLE when classic-level is not installed', async () => {
    const outcome = await openInChild(
      { 'classic-level': empty },
      { ...mode, path: join(dir, 'db') },
      dir,
    )
    expect(outcome.code).toBe('KV_BACKEND_UNAVAILABLE')
    expect(outcome.isKVError).toBe(true)
    expect(outcome.cause).toMatch(/Cannot find package 'classic-level'/)
    expect(outcome.message).toMatch(/Cannot find package 'classic-level'/)
    expect(outcome.message).toMatch(/Reinstall @kv\/badger/)
    expect(outcome.message).toMatch(/memory_mode: true/)
    // The engine is loaded before badger.path is created: a failed open leaves nothing behind.
    expect(existsSync(join(dir, 'db'))).toBe(false)
  })

  it('rejects open() with KV_BACKEND_UNAVAILABLE when its native build is missing', async () => {
    const outcome = await openInChild(
      { 'classic-level': noNative },
      { ...mode, path: join(dir, 'db') },
      dir,
    )
    expect(outcome.code).toBe('KV_BACKEND_UNAVAILABLE')
    expect(outcome.isKVError).toBe(true)
    expect(outcome.cause).toMatch(/^No native build was found for platform=/)
    expect(outcome.message).toMatch(/No native build was found for platform=/)
    expect(outcome.message).toMatch(/npm rebuild classic-level/)
    expect(outcome.message).toMatch(/memory_mode: true, which needs no native module/)
    expect(existsSync(join(dir, 'db'))).toBe(false)
  })
})

describe('memory_mode', () => {
  it('opens and works while classic-level cannot load (it never loads the native addon)', async () => {
    const outcome = await openInChild({ 'classic-level': noNative }, { memory_mode: true }, dir)
    expect(outcome).toEqual({ opened: true, value: 'v' })
  })

  it('rejects open() with KV_BACKEND_UNAVAILABLE when memory-level is not installed', async () => {
    const outcome = await openInChild({ 'memory-level': empty }, { memory_mode: true }, dir)
    expect(outcome.code).toBe('KV_BACKEND_UNAVAILABLE')
    expect(outcome.isKVError).toBe(true)
    expect(outcome.cause).toMatch(/Cannot find package 'memory-level'/)
    expect(outcome.message).toMatch(/Reinstall @kv\/badger so that memory-level is present/)
  })
})
