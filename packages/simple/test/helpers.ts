/**
 * Helpers shared by the tests: temporary store directories, and running the fixture scripts
 * (which import the built package) as child processes.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SimpleKV } from '../src/store-entry.js'

/** The fixtures directory (scripts run as child processes). */
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url))

/** A fresh temporary directory; remove it with {@link removeDir}. */
export function tempDir(label = 'simple-kv'): Promise<string> {
  return mkdtemp(join(tmpdir(), `${label}-`))
}

/** Removes a directory made by {@link tempDir}. */
export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true })
}

/** Opens a store over `path` with the given options (small snapshot thresholds by default). */
export async function openStore(
  path: string,
  options: ConstructorParameters<typeof SimpleKV>[0] = {},
): Promise<SimpleKV> {
  const store = new SimpleKV({ path, ...options })
  await store.open()
  return store
}

/** Everything in a store, as `bucket → key(hex) → value(hex)`. */
export async function dump(store: SimpleKV): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {}
  for await (const bucket of store.buckets()) {
    const entries: Record<string, string> = {}
    for await (const key of store.keys(bucket)) {
      const value = await store.getValue(bucket, key)
      entries[Buffer.from(key).toString('hex')] = Buffer.from(value!).toString('hex')
    }
    out[bucket] = entries
  }
  return out
}

/** A running fixture script. */
export interface Child {
  process: ChildProcess
  /** Lines the child has written to stdout so far. */
  lines: string[]
  /** Resolves with the exit code (or the signal) when the child ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Resolves when a line satisfying `match` arrives (rejects if the child exits first). */
  waitFor(match: (line: string) => boolean): Promise<string>
  stderr(): string
}

/** Runs `fixtures/<script>` with `args` under the same Node. */
export function runFixture(script: string, args: string[]): Child {
  const child = spawn(process.execPath, [join(FIXTURES, script), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let partial = ''
  let errors = ''
  const waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = []
  child.stdout!.setEncoding('utf8')
  child.stdout!.on('data', (chunk: string) => {
    partial += chunk
    let newline = partial.indexOf('\n')
    while (newline >= 0) {
      const line = partial.slice(0, newline)
      partial = partial.slice(newline + 1)
      lines.push(line)
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.match(line)) {
          waiters[i]!.resolve(line)
          waiters.splice(i, 1)
        }
      }
      newline = partial.indexOf('\n')
    }
  })
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (chunk: string) => {
    errors += chunk
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close' fires after stdout has been read to the end, so `lines` is complete by then.
    child.on('close', (code, signal) => resolve({ code, signal }))
  })
  return {
    process: child,
    lines,
    exited,
    stderr: () => errors,
    waitFor(match) {
      const seen = lines.find(match)
      if (seen !== undefined) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve })
        void exited.then(({ code, signal }) =>
          reject(
            new Error(
              `the child exited (code ${code}, signal ${signal}) before the expected line; stderr:\n${errors}`,
            ),
          ),
        )
      })
    },
  }
}

/** A process warning, with the code kv's warnings carry. */
export type Warning = Error & { code?: string }

/**
 * Runs `body` and returns the warnings emitted meanwhile, which `body` may watch as they arrive
 * (`seen`). Node's own listener, which prints warnings, is set aside meanwhile: these tests
 * provoke dozens on purpose.
 */
export async function collectWarnings(
  body: (seen: readonly Warning[]) => Promise<void>,
): Promise<Warning[]> {
  const seen: Warning[] = []
  const others = process.listeners('warning')
  const listener = (warning: Warning) => {
    seen.push(warning)
  }
  for (const other of others) process.off('warning', other)
  process.on('warning', listener)
  try {
    await body(seen)
    // Warnings are delivered on a later tick.
    await new Promise((resolve) => setImmediate(resolve))
  } finally {
    process.off('warning', listener)
    for (const other of others) process.on('warning', other)
  }
  return seen
}

/** Resolves once `condition()` holds, checking every 50 ms; rejects after 30 s. */
export async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (condition()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting until ${what}`)
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms))
