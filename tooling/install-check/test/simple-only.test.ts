/**
 * A user who installs @kv/core and @kv/simple only: the promise of the root README ("@kv/simple
 * does not pull in LevelDB or the Elasticsearch client") and the package-level API of SPEC §3 on
 * the file backend, from the tarballs npm would publish, under `import` and `require`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { install, pack, type Scratch } from './scratch.js'

let tarballDir: string
let project: Scratch

beforeAll(async () => {
  tarballDir = mkdtempSync(join(tmpdir(), 'kv-tarballs-simple-'))
  const tarballs = pack(['core', 'simple'], tarballDir)
  project = await install('simple', [tarballs.core!, tarballs.simple!])
  await project.run(
    'write-config.mjs',
    `import { writeFileSync } from 'node:fs'
writeFileSync('kv.yml', 'simple_kv:\\n  path: ./state\\n  sync_writes: true\\n')`,
  )
})

afterAll(() => {
  project?.remove()
  rmSync(tarballDir, { recursive: true, force: true })
})

describe('@kv/core with @kv/simple only', () => {
  it('installs no LevelDB, no memory-level and no Elasticsearch client', async () => {
    const installed = project.installed()
    expect(installed.has('@kv/simple')).toBe(true)
    expect(installed.has('lz4js')).toBe(true) // a dependency of @kv/core: the walk sees them
    const heavy = [...installed].filter((name) =>
      /^(classic-level|memory-level|abstract-level|@elastic\/.*)$/.test(name),
    )
    expect(heavy).toEqual([])
  })

  it('writes with import and reads back with require in another process, from ./kv.yml', async () => {
    const written = await project.run(
      'put.mjs',
      `import * as kv from '@kv/core'
import '@kv/simple'
await kv.addValue('sessions', 'abc', new Uint8Array([0, 255, 10, 9, 9]))
await kv.addValueCompress('sessions', 'long', 'hello '.repeat(50))
console.log(JSON.stringify({ active: kv.activeStore().name, buckets: await Array.fromAsync(kv.buckets()) }))
await kv.close()`,
    )
    expect(JSON.parse(written)).toEqual({ active: 'simple_kv', buckets: ['sessions'] })
    // The store's directory is the one kv.yml names.
    expect(existsSync(join(project.dir, 'state'))).toBe(true)

    const read = await project.run(
      'get.cjs',
      `const kv = require('@kv/core')
require('@kv/simple')
;(async () => {
  const value = await kv.getValue('sessions', 'abc')
  const text = new TextDecoder().decode(await kv.getCompressedValue('sessions', 'long'))
  const missing = await kv.getValue('sessions', 'nope')
  console.log(JSON.stringify({ value: [...value], text, missing }))
  await kv.close()
})()`,
    )
    expect(JSON.parse(read)).toEqual({
      value: [0, 255, 10, 9, 9],
      text: 'hello '.repeat(50),
      missing: null,
    })
  })

  it('refuses bad input with the typed error of the installed core', async () => {
    const out = await project.run(
      'bad.mjs',
      `import * as kv from '@kv/core'
import '@kv/simple'
const error = await kv.addValue('', 'k', 'v').catch((e) => e)
console.log(JSON.stringify({ code: error.code, isKV: kv.isKVError(error, 'KV_INVALID_ARGUMENT'), argument: error.argument }))
await kv.close()`,
    )
    expect(JSON.parse(out)).toEqual({
      code: 'KV_INVALID_ARGUMENT',
      isKV: true,
      argument: 'bucket',
    })
  })

  it('ships what its package.json promises: a README and both builds, no sources or tests', async () => {
    const root = join(project.dir, 'node_modules', '@kv', 'simple')
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
    // pnpm pack rewrote the workspace range to one npm can resolve.
    expect(manifest.dependencies['@kv/core']).toMatch(/^\^\d+\.\d+\.\d+$/)
    expect(existsSync(join(root, 'README.md'))).toBe(true)
    expect(existsSync(join(root, 'src'))).toBe(false)
    expect(existsSync(join(root, 'test'))).toBe(false)
  })
})
