#!/usr/bin/env node
// Packs the package in the current directory the way it will be published (`pnpm pack`, which
// rewrites `workspace:^` ranges) and checks the tarball with publint and
// @arethetypeswrong/cli. Run from a package directory by its `lint` script, after `build`.
//
// attw runs with the node16 profile: every entry point must resolve with types under both
// `import` and `require` in Node's resolution; the pre-exports `node10` mode is not required
// because our subpath entry points (`@kv/conformance/vitest`) cannot exist there.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dir = mkdtempSync(join(tmpdir(), 'kv-pack-'))
const run = (command, args) => execFileSync(command, args, { stdio: 'inherit' })
try {
  execFileSync('pnpm', ['pack', '--pack-destination', dir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const tarball = join(
    dir,
    readdirSync(dir).find((name) => name.endsWith('.tgz')),
  )
  run('publint', [tarball, '--strict'])
  run('attw', [tarball, '--profile', 'node16', '--format', 'table-flipped'])
} catch (error) {
  console.error(`package check failed in ${process.cwd()}: ${error.message}`)
  process.exitCode = 1
} finally {
  rmSync(dir, { recursive: true, force: true })
}
