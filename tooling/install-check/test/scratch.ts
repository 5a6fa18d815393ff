/**
 * Scratch projects outside the workspace: the published packages packed as `pnpm pack` makes
 * them (the tarball npm would publish, `workspace:^` ranges rewritten), installed with npm into
 * a directory of their own, and used by child processes as a user's code would use them. Nothing
 * from the workspace can leak in: the scratch directory lives under the system's temporary
 * directory, and the children run without `NODE_PATH` (see {@link userEnv}), so Node resolves
 * every package from the scratch project's node_modules only.
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
  /** Runs this Node.js with `args` in the project; its stdout. Rejects on a non-zero exit. */
  node(args: string[], env?: NodeJS.ProcessEnv): Promise<string>
  /** Runs an installed package's binary (`node_modules/.bin/<name>`); its stdout. */
  bin(name: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string>
  /** The names of every package installed, at any depth of node_modules. */
  installed(): Set<string>
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

/**
 * How long one `npm install` may take before it is killed and tried again. A cold install takes
 * 12–15 s here. In CI one ran past the 300 s hook limit: turbo had dropped NODE_EXTRA_CA_CERTS
 * from the task's environment (turbo.json now passes it through), and npm retried a registry
 * behind a TLS-intercepting proxy it could not verify (SELF_SIGNED_CERT_IN_CHAIN) for minutes.
 * So npm gives up on a fetch after 60 s, and an install still hanging is killed and started over
 * once, failing with a message that says so rather than a hook timeout.
 */
const INSTALL_TIMEOUT_MS = 150_000
const INSTALL_ATTEMPTS = 2

async function npmInstall(dir: string, label: string, tarballs: readonly string[]): Promise<void> {
  const args = [
    'install',
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
    '--fetch-timeout=60000',
    '--fetch-retries=4',
    ...tarballs,
  ]
  for (let attempt = 1; ; attempt++) {
    const started = performance.now()
    try {
      await execFileAsync('npm', args, {
        cwd: dir,
        timeout: INSTALL_TIMEOUT_MS,
        killSignal: 'SIGKILL',
      })
      return
    } catch (error) {
      const seconds = ((performance.now() - started) / 1000).toFixed(0)
      const why = (error as { killed?: boolean }).killed
        ? `killed after ${seconds} s`
        : `failed after ${seconds} s: ${(error as Error).message}`
      if (attempt === INSTALL_ATTEMPTS) throw new Error(`npm install (${label}) ${why}`)
      console.warn(`npm install (${label}) ${why}; starting it again`)
      rmSync(join(dir, 'node_modules'), { recursive: true, force: true })
      rmSync(join(dir, 'package-lock.json'), { force: true })
    }
  }
}

/** A new project in a temporary directory with `tarballs` installed by npm (and their dependencies from the registry). */
export async function install(label: string, tarballs: readonly string[]): Promise<Scratch> {
  const dir = mkdtempSync(join(tmpdir(), `kv-install-${label}-`))
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: `scratch-${label}`, private: true, type: 'module' }),
  )
  await npmInstall(dir, label, tarballs)
  const exec = async (file: string, args: string[], extra: NodeJS.ProcessEnv) => {
    const { stdout } = await execFileAsync(file, args, {
      cwd: dir,
      encoding: 'utf8',
      env: userEnv(extra),
    })
    return stdout
  }
  const node = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    exec(process.execPath, args, extra)
  return {
    dir,
    run(file, source, args = [], extra = {}) {
      writeFileSync(join(dir, file), source)
      return node([...args, file], extra)
    },
    node,
    bin: (name, args, extra = {}) => exec(join(dir, 'node_modules', '.bin', name), args, extra),
    installed: () => installedPackages(join(dir, 'node_modules')),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/**
 * The environment of a user's process: this one's, without what would let the workspace leak
 * in or change what is tested — `NODE_PATH` (pnpm's shims point it at the workspace's
 * node_modules/.pnpm/node_modules, where every @kv package resolves for `require`),
 * `NODE_OPTIONS`, and a kv configuration of the developer running the tests.
 */
function userEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_PATH: _path, NODE_OPTIONS: _options, KV_CONFIG: _config, ...rest } = process.env
  return { ...rest, ...extra }
}

function installedPackages(modules: string): Set<string> {
  const names = new Set<string>()
  const visit = (dir: string): void => {
    for (const entry of safeReaddir(dir)) {
      if (entry.startsWith('.')) continue
      if (entry.startsWith('@')) {
        for (const scoped of safeReaddir(join(dir, entry)))
          add(`${entry}/${scoped}`, join(dir, entry, scoped))
      } else {
        add(entry, join(dir, entry))
      }
    }
  }
  const add = (name: string, path: string): void => {
    names.add(name)
    visit(join(path, 'node_modules'))
  }
  visit(modules)
  return names
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}
