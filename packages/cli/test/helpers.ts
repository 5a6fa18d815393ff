/**
 * Running the built `kv` executable as a child process in a temporary working directory.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The built executable (`pnpm build` first; turbo does it before `test`). */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url))

if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run pnpm --filter @kv/cli build first`)

/** What a run of `kv` produced. */
export interface Result {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: Buffer
  stderr: string
  /** stdout as UTF-8 text. */
  out: string
}

/** Options of one run. */
export interface RunOptions {
  input?: Buffer | string
  env?: Record<string, string | undefined>
  bin?: string
}

/** An environment without the caller's KV_* variables, so the host cannot leak into a test. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('KV_')) env[name] = value
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name]
    else env[name] = value
  }
  return env
}

/** Starts `kv args` in `cwd`; the caller collects the output. */
export function start(cwd: string, args: string[], options: RunOptions = {}): ChildProcess {
  return spawn(process.execPath, [options.bin ?? BIN, ...args], {
    cwd,
    env: cleanEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
}

/** Waits for `child` to exit and returns what it printed; stdin gets `input` and ends, unless `keepOpen`. */
export function finish(
  child: ChildProcess,
  input?: Buffer | string,
  keepOpen = false,
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out)
      resolve({
        code,
        signal,
        stdout,
        out: stdout.toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      })
    })
    child.stdin!.on('error', () => {})
    if (!keepOpen) child.stdin!.end(input)
  })
}

/** Runs `kv args` in `cwd` to completion. */
export function run(cwd: string, args: string[], options: RunOptions = {}): Promise<Result> {
  return finish(start(cwd, args, options), options.input)
}

/** A temporary working directory with a kv.yml; removed by `cleanup`. */
export interface Workspace {
  dir: string
  /** `kv args` with this directory as cwd. */
  kv(args: string[], options?: RunOptions): Promise<Result>
  /** Writes a file under the directory and returns its path. */
  file(name: string, content: string | Buffer): Promise<string>
  cleanup(): Promise<void>
}

/** Default kv.yml of a test workspace: data under ./data, small simple_kv snapshots. */
export const DEFAULT_CONFIG = 'data_dir: ./data\n'

/** Creates a workspace whose kv.yml holds `config`. */
export async function workspace(config = DEFAULT_CONFIG): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), 'kv-cli-'))
  await writeFile(join(dir, 'kv.yml'), config)
  return {
    dir,
    kv: (args, options) => run(dir, args, options),
    file: async (name, content) => {
      const path = join(dir, name)
      await writeFile(path, content)
      return path
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
}

/** The backends every test runs against. */
export const BACKENDS = ['simple_kv', 'badger'] as const

/** Every byte value 0..255, in order. */
export const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i))

/** An export file (format version 1) holding `entries`. */
export function exportFile(entries: Iterable<{ b: string; k: Buffer; v: Buffer }>): string {
  const lines = [
    JSON.stringify({
      format: 'kv-export',
      version: 1,
      created: new Date().toISOString(),
      source: 'test',
    }),
  ]
  let n = 0
  for (const { b, k, v } of entries) {
    lines.push(JSON.stringify({ b, k: k.toString('base64'), v: v.toString('base64') }))
    n++
  }
  lines.push(JSON.stringify({ end: true, entries: n }))
  return `${lines.join('\n')}\n`
}

/** `n` generated entries over `buckets` buckets: key `key-<i>` (zero-padded), 100-byte values. */
export function* generated(n: number, buckets = 3): Generator<{ b: string; k: Buffer; v: Buffer }> {
  for (let i = 0; i < n; i++) {
    const v = Buffer.alloc(100, i % 251)
    v.writeUInt32BE(i, 0)
    yield { b: `bucket-${i % buckets}`, k: Buffer.from(`key-${String(i).padStart(8, '0')}`), v }
  }
}
