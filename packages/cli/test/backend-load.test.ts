/**
 * A backend that fails to load: the README promises exit 5 "for a broken install, a missing native
 * module". Here @kv/badger's engine, classic-level, has no native build: the child resolves it from
 * a copy laid out without one (the fixtures of @kv/badger's own engine-load test, shared rather
 * than written twice), so its own native loader fails as it does for a user.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  classicLevelWithoutNativeBuild,
  resolveFromHook,
} from '../../badger/test/fixtures/broken-install.mjs'
import { type Workspace, workspace } from './helpers.js'

describe('a backend whose engine cannot load', () => {
  let ws: Workspace
  let noNative: string
  beforeAll(async () => {
    ws = await workspace()
    noNative = join(ws.dir, 'no-native')
    await mkdir(noNative)
    await classicLevelWithoutNativeBuild(noNative)
  })
  afterAll(async () => {
    await ws.cleanup()
  })

  it('exits 5 with KV_BACKEND_UNAVAILABLE and the loader error when classic-level has no native build', async () => {
    const result = await ws.kv(['--backend', 'badger', 'put', 'demo', 'hello', 'world'], {
      env: {
        NODE_OPTIONS: `--import ${resolveFromHook}`,
        KV_TEST_RESOLVE_FROM: JSON.stringify({ 'classic-level': noNative }),
      },
    })
    expect(result.code).toBe(5)
    expect(result.stderr).toMatch(/KV_BACKEND_UNAVAILABLE/)
    expect(result.stderr).toMatch(/No native build was found/)
    // The same command on an intact install works: the failure above is the engine's.
    const intact = await ws.kv(['--backend', 'badger', 'put', 'demo', 'hello', 'world'])
    expect(intact.code).toBe(0)
  })
})
