/**
 * Crash safety (SPEC §7): a child process writes (one entry, or several with `addValues`) and
 * deletes, reporting every operation; the test SIGKILLs it at a random moment; a fresh process
 * reopens the store and dumps it; every acknowledged operation must be reflected, and the one
 * operation per worker that was in flight may or may not be — of an `addValues` in flight, any
 * prefix of its entries (README, *Durability*: it is not atomic across a crash). The store
 * carries over from cycle to cycle, so recovery is also tested on files that an earlier
 * recovery truncated.
 *
 * KV_CRASH_CYCLES (default 25) cycles per durability mode; KV_CRASH_SEED (default random) makes
 * a run repeatable — the seed is printed.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { rng, valueFor } from './fixtures/ops.mjs'
import { removeDir, runFixture, tempDir } from './helpers.js'

const CYCLES = Number(process.env.KV_CRASH_CYCLES ?? 25)
const SEED = Number(process.env.KV_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))

/** A worker's bucket: key → id of the put that wrote its value. */
type BucketModel = Map<string, string>

interface Op {
  worker: number
  kind: 'put' | 'del' | 'drop' | 'many'
  /** For `many` (an addValues call), its keys separated by commas. */
  key: string
  id: string
}

/** The puts of an addValues call, in order: its j-th entry was written by put id `<id>.<j>`. */
function entriesOf(op: Op): [key: string, putId: string][] {
  return op.key.split(',').map((key, j) => [key, `${op.id}.${j}`])
}

/** `bucket` after `op`; for an addValues call, after its first `entries` entries (default all). */
function applyOp(bucket: BucketModel, op: Op, entries?: number): BucketModel {
  const next = new Map(bucket)
  if (op.kind === 'put') next.set(op.key, op.id)
  else if (op.kind === 'del') next.delete(op.key)
  else if (op.kind === 'many') {
    for (const [key, putId] of entriesOf(op).slice(0, entries)) next.set(key, putId)
  } else next.clear()
  return next
}

/**
 * The states `bucket` may be in after a crash while `op` was in flight: as it was, or with the
 * operation done — for an addValues call, any prefix of its entries done.
 */
function afterInFlight(bucket: BucketModel, op: Op | undefined): BucketModel[] {
  if (op === undefined) return [bucket]
  if (op.kind !== 'many') return [bucket, applyOp(bucket, op)]
  return Array.from({ length: entriesOf(op).length + 1 }, (_, n) => applyOp(bucket, op, n))
}

function render(bucket: BucketModel): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, id] of [...bucket].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out[key] = Buffer.from(valueFor(id)).toString('hex')
  }
  return out
}

/** Reads the child's report: for each worker, the acknowledged operations and the one in flight. */
function parseReport(lines: string[]): { acked: Op[][]; inFlight: (Op | undefined)[] } {
  const acked: Op[][] = []
  const inFlight: (Op | undefined)[] = []
  for (const line of lines) {
    const parts = line.split(' ')
    if (parts[0] === 'B') {
      const worker = Number(parts[1])
      inFlight[worker] = { worker, kind: parts[2] as Op['kind'], key: parts[3]!, id: parts[4]! }
    } else if (parts[0] === 'A') {
      const worker = Number(parts[1])
      const op = inFlight[worker]
      if (op === undefined || op.id !== parts[2])
        throw new Error(`unexpected acknowledgement: ${line}`)
      ;(acked[worker] ??= []).push(op)
      inFlight[worker] = undefined
    }
  }
  return { acked, inFlight }
}

async function dumpStore(
  dir: string,
): Promise<{ content: Record<string, Record<string, string>>; stderr: string }> {
  const child = runFixture('dump.mjs', [dir])
  const { code } = await child.exited
  if (code !== 0) throw new Error(`dump.mjs failed (exit ${code}):\n${child.stderr()}`)
  return { content: JSON.parse(child.lines.at(-1)!), stderr: child.stderr() }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.each([true, false])('crash recovery with sync_writes: %s', (syncWrites) => {
  let dir: string
  beforeAll(async () => {
    dir = await tempDir('simple-kv-crash')
    console.log(`crash test (sync_writes: ${syncWrites}): ${CYCLES} cycles, KV_CRASH_SEED=${SEED}`)
  })
  afterAll(async () => {
    await removeDir(dir)
  })

  test(
    `every acknowledged operation survives SIGKILL (${CYCLES} cycles)`,
    async () => {
      const random = rng(SEED + (syncWrites ? 1 : 2))
      const model: BucketModel[] = Array.from({ length: 8 }, () => new Map())
      let acknowledged = 0
      let tornTails = 0
      let batches = 0
      let drops = 0
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const childSeed = Math.floor(random() * 2 ** 31)
        const writer = runFixture('crash-writer.mjs', [
          dir,
          String(syncWrites),
          String(childSeed),
          String(cycle),
        ])
        await writer.waitFor((line) => line === 'ready')
        await sleep(20 + random() * 300)
        writer.process.kill('SIGKILL')
        const { signal } = await writer.exited
        expect(signal, `the writer ended before it was killed:\n${writer.stderr()}`).toBe('SIGKILL')

        const { acked, inFlight } = parseReport(writer.lines)
        const { content, stderr } = await dumpStore(dir)
        if (stderr.includes('KV_WAL_TORN_TAIL')) tornTails++
        const context = `cycle ${cycle}, KV_CRASH_SEED=${SEED}, writer seed ${childSeed}`
        for (const name of Object.keys(content)) expect(name, context).toMatch(/^w[0-7]$/)
        for (let w = 0; w < 8; w++) {
          let expected = model[w]!
          for (const op of acked[w] ?? []) expected = applyOp(expected, op)
          acknowledged += acked[w]?.length ?? 0
          batches += acked[w]?.filter((op) => op.kind === 'many').length ?? 0
          drops += acked[w]?.filter((op) => op.kind === 'drop').length ?? 0
          const actual = content[`w${w}`] ?? {}
          const candidates = afterInFlight(expected, inFlight[w])
          const match = candidates.find(
            (candidate) => JSON.stringify(render(candidate)) === JSON.stringify(actual),
          )
          expect(
            match,
            `${context}, bucket w${w}: the recovered content matches no allowed state`,
          ).toBeDefined()
          model[w] = match!
        }
      }
      console.log(
        `crash test (sync_writes: ${syncWrites}): ${CYCLES} kills, ${acknowledged} acknowledged operations checked (${batches} of them addValues, ${drops} deleteBucket), ${tornTails} torn WAL tails recovered`,
      )
      expect(acknowledged).toBeGreaterThan(0)
      expect(batches).toBeGreaterThan(0)
      // Bucket deletes were checked too: acknowledged ones gone whole, one in flight whole or
      // not at all, across snapshots that the tiny thresholds take all the time.
      expect(drops).toBeGreaterThan(0)
    },
    CYCLES * 20_000,
  )
})
