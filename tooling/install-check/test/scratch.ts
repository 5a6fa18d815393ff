/**
 * Scratch projects outside the workspace: the published packages packed as `pnpm pack` makes
 * them (the tarball npm would publish, `workspace:^` ranges rewritten), installed with npm into
 * a directory of their own, and used by child processes as a user's code would use them. Nothing
 * from the workspace can leak in: Node resolves `@kv/*` from the scratch project's node_modules
 * only, since the scratch directory lives under the system's temporary directory.
 */
import { execFile, execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)
const repo = resolve(import.meta.dirname, '../../..')

/** The published packages, by the directory they live in under `packages/`. */
export type PackageDir = 'core' | 'simple' | 'badger' | 'elastic' | 'cli' | 'conformance'

export interface Scratch {
  dir: string
  /**
   * Writes `source` to `file` in the project and runs it with this Node.js; its stdout.
   * Asynchronous, so that a server in the test's own process (the Elasticsearch stand-in) can answer.
   */
  run(file: string, source: string, args?: string[], env?: NodeJS.ProcessEnv): Promise<string>
  /** Runs an installed package's binary (`node_modules/.bin/<name>`); its stdout. */
  bin(name: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string>
  remove(): void
}

/** Packs each package into `into` and returns the tarball paths, by package. */
export function pack(packages: readonly PackageDir[], into: string): Record<string, string> {
  mkdirSync(into, { recursive: true })
  const tarballs: Record<string, string> = {}
  for (const name of packages) {
    const before = new Set(readdirSync(into))
    execFileSync('pnpm', ['pack', '--pack-destination', into], {
      cwd: join(repo, 'packages', name),
      stdio: 'ignore',
    })
    const made = readdirSync(into).find((file) => !before.has(file) && file.endsWith('.tgz'))
    if (made === undefined) throw new Error(`pnpm pack made no tarball for packages/${name}`)
    tarballs[name] = join(into, made)
  }
  return tarballs
}

/** A new project in a temporary directory with `tarballs` installed by npm (and their dependencies from the registry). */
export async function install(label: string, tarballs: readonly string[]): Promise<Scratch> {
  const dir = mkdtempSync(join(tmpdir(), `kv-install-${label}-`))
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: `scratch-${label}`, private: true, type: 'module' }),
  )
  await execFileAsync(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs],
    { cwd: dir },
  )
  // The user's environment, minus a kv configuration of the developer running the tests.
  const env = (extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv => {
    const { KV_CONFIG: _, ...rest } = process.env
    return { ...rest, ...extra }
  }
  return {
    dir,
    async run(file, source, args = [], extra = {}) {
      writeFileSync(join(dir, file), source)
      const { stdout } = await execFileAsync(process.execPath, [...args, file], {
        cwd: dir,
        encoding: 'utf8',
        env: env(extra),
      })
      return stdout
    },
    async bin(name, args, extra = {}) {
      const { stdout } = await execFileAsync(join(dir, 'node_modules', '.bin', name), args, {
        cwd: dir,
        encoding: 'utf8',
        env: env(extra),
      })
      return stdout
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}
