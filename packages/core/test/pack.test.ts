/**
 * Packs @kv/core as it would be published, installs the tarball into a scratch project with npm,
 * and loads it with both `import` and `require`: the exports map, the dual build and the runtime
 * dependencies must all work for a user who is not in this workspace.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const packageDir = resolve(import.meta.dirname, '..')
let scratch: string

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'kv-core-pack-'))
  execFileSync('pnpm', ['pack', '--pack-destination', scratch], {
    cwd: packageDir,
    stdio: 'ignore',
  })
  const tarball = readdirSync(scratch).find((name) => name.endsWith('.tgz'))!
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true }))
  execFileSync(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', `./${tarball}`],
    {
      cwd: scratch,
      stdio: 'inherit',
    },
  )
}, 240_000)

afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const roundTrip = `
  const store = new kv.MemoryStore()
  await store.open()
  await store.addValueCompress('b', 'k', 'hello hello hello')
  const stored = await store.getValue('b', 'k')
  const value = new TextDecoder().decode(await store.getCompressedValue('b', 'k'))
  console.log(JSON.stringify({ value, header: [...stored.subarray(0, 4)], code: new kv.NotOpenError().code }))
`

function run(file: string, source: string): unknown {
  writeFileSync(join(scratch, file), source)
  return JSON.parse(execFileSync(process.execPath, [file], { cwd: scratch, encoding: 'utf8' }))
}

describe('the packed @kv/core', () => {
  const expected = { value: 'hello hello hello', header: [17, 0, 0, 0], code: 'KV_NOT_OPEN' }

  it('loads with import', () => {
    expect(run('esm.mjs', `import * as kv from '@kv/core'\n${roundTrip}`)).toEqual(expected)
  })

  it('loads with require', () => {
    expect(
      run('cjs.cjs', `const kv = require('@kv/core');\n(async () => {${roundTrip}})()`),
    ).toEqual(expected)
  })
})
