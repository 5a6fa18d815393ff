/**
 * Crash safety (SPEC §7): a child process writes and deletes from several concurrent writers,
 * reporting each operation before it is issued and once it is acknowledged; the parent SIGKILLs
 * it at a random moment, then opens the store itself (a fresh process as far as LevelDB is
 * concerned) and checks that every acknowledged operation is reflected, that an operation in
 * flight is either wholly there or not (an `addValues` batch, one LevelDB write: all of its
 * entries or none; a bucket being dropped: key by key in single-bucket mode, all or nothing in
 * per-bucket mode), and that listing and reading agree. The next cycle continues on the same
 * files.
 *
 * KV_CRASH_CYCLES (default 25) cycles per configuration; KV_CRASH_SEED (default random, printed).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BadgerKV, type BadgerOptions } from '../src/index.js'
import {
  batchKeys,
  bucketsOf,
  KEYS_PER_BUCKET,
  keyOf,
  prng,
  valueFor,
  WRITERS,
} from './fixtures/crash-plan.mjs'
import { removeDir, tempDir } from './helpers/temp.js'

const CYCLES = Number(process.env.KV_CRASH_CYCLES ?? 25)
const SEED = Number(process.env.KV_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))
const child = fileURLToPath(new URL('./fixtures/crash-child.mjs', import.meta.url))

/** What a key holds: the sequence number of the put that wrote it, or `null` when absent. */
type State = number | null
interface Pending {
  op: 'put' | 'putMany' | 'del' | 'dropBucket'
  bucket: number
  /** The keys the operation writes or deletes (an addValues batch: several). */
  keys: number[]
  seq: number
}

const id = (w: number, b: number, k: number) => `${w}/${b}/${k}`

/** Runs the child until killed after `delayMs`; returns the operations it left unacknowledged. */
async function runChild(
  path: string,
  options: BadgerOptions,
  seed: number,
  firstSeq: number,
  delayMs: number,
  committed: Map<string, State>,
): Promise<{ pending: Map<number, Pending>; acknowledged: number; batches: number }> {
  const pending = new Map<number, Pending>()
  // An expect() that throws inside the 'data' listener would escape the test as an uncaught
  // error while the test itself went on: collect what is wrong and assert once the child is gone.
  const mismatches: string[] = []
  const proc: ChildProcess = spawn(
    process.execPath,
    [child, path, JSON.stringify(options), String(seed), String(firstSeq)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stderr = ''
  proc.stderr!.on('data', (chunk) => (stderr += chunk))
  let buffered = ''
  let ready = false
  let acknowledged = 0
  let batches = 0
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()))
  const apply = (w: number, p: Pending) => {
    if (p.op === 'put' || p.op === 'putMany')
      for (const k of p.keys) committed.set(id(w, p.bucket, k), p.seq)
    else if (p.op === 'del') committed.set(id(w, p.bucket, p.keys[0]!), null)
    else for (let k = 0; k < KEYS_PER_BUCKET; k++) committed.set(id(w, p.bucket, k), null)
  }
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) {
        const [tag, ...rest] = line.split(' ')
        if (tag === 'ready' && !ready) {
          ready = true
          setTimeout(() => proc.kill('SIGKILL'), delayMs)
        } else if (tag === 'I') {
          const [w, op, b, k, s, count] = rest
          pending.set(Number(w), {
            op: op as Pending['op'],
            bucket: Number(b),
            keys: batchKeys(Number(k), Number(count)),
            seq: Number(s),
          })
        } else if (tag === 'A') {
          const w = Number(rest[0])
          const p = pending.get(w)
          if (p?.seq !== Number(rest[1])) {
            mismatches.push(`${line}: writer ${w} had ${p ? `seq ${p.seq}` : 'nothing'} in flight`)
            continue
          }
          apply(w, p)
          pending.delete(w)
          acknowledged++
          if (p.op === 'putMany') batches++
        }
      }
    })
    exited.then(() =>
      ready ? resolve() : reject(new Error(`the child exited before it was ready:\n${stderr}`)),
    )
  })
  expect(proc.signalCode, stderr).toBe('SIGKILL')
  expect(mismatches, 'acknowledgements that match no operation in flight').toEqual([])
  return { pending, acknowledged, batches }
}

/** Opens the store and checks every key against what was acknowledged and what was in flight. */
async function verify(
  path: string,
  options: BadgerOptions,
  committed: Map<string, State>,
  pending: Map<number, Pending>,
): Promise<{ drops: number; batches: number }> {
  let dropsChecked = 0
  let batchesChecked = 0
  const store = new BadgerKV({ ...options, path, value_log_gc_enabled: false })
  await store.open()
  try {
    for (let w = 0; w < WRITERS; w++) {
      const p = pending.get(w)
      for (let b = 0; b < 3; b++) {
        const bucket = bucketsOf(w)[b]!
        const present = new Set<number>()
        // Per key and per bucket: what was acknowledged before the kill, and what survived it.
        const before: State[] = []
        const found: State[] = []
        for (let k = 0; k < KEYS_PER_BUCKET; k++) {
          const key = id(w, b, k)
          before.push(committed.get(key) ?? null)
          const acceptable: State[] = [committed.get(key) ?? null]
          if (p?.bucket === b && (p.op === 'dropBucket' || p.keys.includes(k))) {
            acceptable.push(p.op === 'put' || p.op === 'putMany' ? p.seq : null)
          }
          const value = await store.getValue(bucket, keyOf(k))
          let actual: State = null
          if (value !== null) {
            actual = new DataView(value.buffer, value.byteOffset).getUint32(4)
            expect(
              new DataView(value.buffer, value.byteOffset).getUint32(0),
              `writer of ${key}`,
            ).toBe(w)
            expect(
              Buffer.from(value).equals(Buffer.from(valueFor(w, actual))),
              `bytes of ${key}`,
            ).toBe(true)
            present.add(k)
          }
          expect(acceptable, `${key}: found ${actual} (seed ${SEED})`).toContain(actual)
          expect(await store.existsKey(bucket, keyOf(k))).toBe(value !== null)
          found.push(actual)
          // Whatever survived is now the known state.
          committed.set(key, actual)
        }
        if (options.single_bucket_mode === false && p?.op === 'dropBucket' && p.bucket === b) {
          // One rename into trash/ drops a per-bucket bucket: it is whole or gone, never half
          // deleted (single-bucket mode deletes the range key by key, so there any mix is fine).
          dropsChecked++
          const whole = found.every((state, k) => state === before[k])
          const gone = found.every((state) => state === null)
          expect(
            whole || gone,
            `${bucket} half dropped (seed ${SEED}): before ${JSON.stringify(before)}, after ${JSON.stringify(found)}`,
          ).toBe(true)
        }
        if (p?.op === 'putMany' && p.bucket === b) {
          // One LevelDB batch: every entry of the addValues in flight survived, or none did.
          batchesChecked++
          const landed = p.keys.filter((k) => found[k] === p.seq)
          expect(
            landed.length === 0 || landed.length === p.keys.length,
            `${bucket}: addValues ${p.seq} of keys ${p.keys} half written (seed ${SEED}): found ${JSON.stringify(found)}`,
          ).toBe(true)
        }
        const listed: string[] = []
        for await (const key of store.keys(bucket)) listed.push(Buffer.from(key).toString('hex'))
        const expected = [...present].map((k) => Buffer.from(keyOf(k)).toString('hex')).sort()
        expect(listed, `keys of ${bucket}`).toEqual(expected)
      }
    }
    const buckets: string[] = []
    for await (const bucket of store.buckets()) buckets.push(bucket)
    const nonEmpty = new Set<string>()
    for (const [key, state] of committed) {
      if (state === null) continue
      const [w, b] = key.split('/').map(Number)
      nonEmpty.add(bucketsOf(w!)[b!]!)
    }
    expect(buckets.sort()).toEqual([...nonEmpty].sort())
  } finally {
    await store.close()
  }
  return { drops: dropsChecked, batches: batchesChecked }
}

const configurations: [string, BadgerOptions][] = [
  ['sync_writes: true, single_bucket_mode: true', { sync_writes: true, single_bucket_mode: true }],
  [
    'sync_writes: false, single_bucket_mode: true',
    { sync_writes: false, single_bucket_mode: true },
  ],
  [
    'sync_writes: true, single_bucket_mode: false',
    { sync_writes: true, single_bucket_mode: false },
  ],
  [
    'sync_writes: false, single_bucket_mode: false',
    { sync_writes: false, single_bucket_mode: false },
  ],
]

describe(`crash safety: ${CYCLES} SIGKILL cycles per configuration (KV_CRASH_SEED=${SEED})`, () => {
  beforeAll(() => {
    console.log(`crash test: KV_CRASH_SEED=${SEED} KV_CRASH_CYCLES=${CYCLES}`)
  })
  const dirs: string[] = []
  afterAll(async () => {
    for (const dir of dirs) await removeDir(dir)
  })

  configurations.forEach(([name, options], index) => {
    it(
      `${name}: every acknowledged write and delete survives SIGKILL`,
      async () => {
        const path = await tempDir('crash')
        dirs.push(path)
        const random = prng(SEED + index * 7919)
        const committed = new Map<string, State>()
        let total = 0
        let inFlight = 0
        let drops = 0
        let batches = 0
        let batchesInFlight = 0
        for (let cycle = 0; cycle < CYCLES; cycle++) {
          const delay = 20 + Math.floor(random() * 300)
          const run = await runChild(
            path,
            options,
            Math.floor(random() * 2 ** 31),
            (cycle + 1) * 10_000_000,
            delay,
            committed,
          )
          const checked = await verify(path, options, committed, run.pending)
          drops += checked.drops
          batchesInFlight += checked.batches
          batches += run.batches
          total += run.acknowledged
          inFlight += run.pending.size
        }
        console.log(
          `crash test (${name}): ${CYCLES} kills, ${total} acknowledged operations (${batches} of them addValues), ${inFlight} in flight at the kills (${batchesInFlight} addValues checked all or nothing)${options.single_bucket_mode === false ? `, ${drops} of them bucket drops checked whole or gone` : ''}`,
        )
        // The kills must have interrupted real work, or the test proves nothing.
        expect(total).toBeGreaterThan(CYCLES)
        expect(inFlight).toBeGreaterThan(0)
        expect(batches).toBeGreaterThan(0)
      },
      CYCLES * 20_000 + 30_000,
    )
  })
})
