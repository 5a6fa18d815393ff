/**
 * A power cut or kernel crash while a batch is being written may leave any subset of its pages
 * on disk, the others reading back as they were before (zeros, in the space `sync_writes`
 * preallocates). That batch was never acknowledged, so recovery keeps the records of it before
 * the first damaged one, cuts the rest away with one KV_WAL_TORN_TAIL warning, and opens; damage
 * in an earlier batch — one followed by an intact batch, or by anything past its end — is
 * KV_CORRUPT_STORE. The stores here are written and closed, then given the bytes a power cut
 * during their last batch leaves: without the seal close() appends, since close() never ran. The
 * layouts come from the README's format, not from the store.
 */
import { promises as fsPromises } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { type CorruptStoreError, isKVError } from '@kv/core'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { collectWarnings, dump, openStore, removeDir, tempDir } from './helpers.js'
import {
  BATCH_FRAME_BYTES,
  batchFrame,
  FILE_HEADER_BYTES,
  putRecordBytes,
} from './reference-format.js'

const WAL_1 = 'wal-0000000000000001.log'
const SNAPSHOT_1 = 'snapshot-0000000000000001.snap'
const MANUAL = { snapshot_wal_bytes: 0, snapshot_interval_seconds: 0 }
const PAGE = 4096

let dir: string
beforeEach(async () => {
  dir = await tempDir('simple-kv-lost-pages')
})
afterEach(async () => {
  await removeDir(dir)
})

/** A stretch of the WAL: a batch frame or a record. */
interface Unit {
  start: number
  end: number
  /** The record's key (undefined for a batch frame). */
  key?: string
}

/** A batch as laid out in the WAL: its frame, then its records. */
interface BatchLayout {
  start: number
  end: number
  units: Unit[]
}

/** Where a batch of puts to bucket 'b' written at `start` lies, by the README's format. */
function layout(start: number, entries: [string, string | Uint8Array][]): BatchLayout {
  const units: Unit[] = [{ start, end: start + BATCH_FRAME_BYTES }]
  let at = start + BATCH_FRAME_BYTES
  for (const [key, value] of entries) {
    const end = at + putRecordBytes('b', key, value)
    units.push({ start: at, end, key })
    at = end
  }
  return { start, end: at, units }
}

/** Three values of 3,000 bytes (no zero byte among them): one batch over three or four pages. */
const bigEntries = (prefix: string): [string, string][] =>
  ['A', 'B', 'C'].map((letter, i) => [`${prefix}${i}`, letter.repeat(3000)])

/** The acknowledged writes every store here starts with: three puts, each its own batch. */
const ACKED: [string, string][] = [
  ['a0', 'acked zero'],
  ['a1', 'acked one, a little longer'],
  ['a2', 'two'],
]

/**
 * Writes ACKED, then `last` with one addValues (one batch), with `sync_writes` (so the segment
 * ends in preallocated zeros) and closes; then zeros the seal close() appended (batch 5, no
 * records), leaving the file as it was while `last` was being written. Returns the layout of the
 * last batch.
 */
async function storeEndingIn(last: [string, string | Uint8Array][]): Promise<BatchLayout> {
  const store = await openStore(dir, { ...MANUAL, sync_writes: true })
  let at = FILE_HEADER_BYTES
  for (const [key, value] of ACKED) {
    await store.addValue('b', key, value)
    at = layout(at, [[key, value]]).end
  }
  await store.addValues('b', last)
  await store.close()
  const batch = layout(at, last)
  const wal = join(dir, WAL_1)
  const sealed = await readFile(wal)
  const sealEnd = batch.end + BATCH_FRAME_BYTES
  expect(sealed.subarray(batch.end, sealEnd).toString('hex')).toBe(batchFrame(5, 0).toString('hex'))
  await writeFile(wal, sealed.fill(0, batch.end, sealEnd))
  return batch
}

/** `pristine` with `ranges` zeroed: pages that did not reach the disk. */
function lose(pristine: Buffer, ranges: [number, number][]): Buffer {
  const lost = Buffer.from(pristine)
  for (const [from, to] of ranges) lost.fill(0, from, to)
  return lost
}

/** The part of page `page` that `batch` covers. */
function pageOf(batch: BatchLayout, page: number): [number, number] {
  return [Math.max(page * PAGE, batch.start), Math.min((page + 1) * PAGE, batch.end)]
}

/** The KV_WAL_TORN_TAIL warnings emitted while `body` runs. */
async function tornWarnings(body: () => Promise<void>): Promise<string[]> {
  const warnings = await collectWarnings(body)
  return warnings.filter((w) => w.code === 'KV_WAL_TORN_TAIL').map((w) => w.message)
}

/** The error `open()` fails with (the test fails if it succeeds). */
async function openError(): Promise<CorruptStoreError> {
  const error = await openStore(dir, MANUAL).then(
    async (store) => {
      await store.close()
      return undefined
    },
    (e: unknown) => e,
  )
  expect(isKVError(error, 'KV_CORRUPT_STORE'), `got ${String(error)}`).toBe(true)
  return error as CorruptStoreError
}

const hex = (text: string | Uint8Array) => Buffer.from(text).toString('hex')

/**
 * Opens the store whose last batch `batch` (of `entries`) lost bytes and checks that every
 * acknowledged write is there, the batch's records before its first damaged unit and none after,
 * with one warning naming that unit; then that a write after recovery survives a reopen.
 */
async function expectRecovered(
  pristine: Buffer,
  lost: Buffer,
  batch: BatchLayout,
  entries: [string, string | Uint8Array][],
  label: string,
): Promise<void> {
  const damaged = batch.units.findIndex(
    (u) => !lost.subarray(u.start, u.end).equals(pristine.subarray(u.start, u.end)),
  )
  expect(damaged, label).toBeGreaterThanOrEqual(0)
  // A damaged batch frame keeps none of the batch; else the records before the damaged one.
  const kept = damaged === 0 ? 0 : damaged - 1
  const expected: Record<string, string> = {}
  for (const [key, value] of ACKED) expected[hex(key)] = hex(value)
  for (const [key, value] of entries.slice(0, kept)) expected[hex(key)] = hex(value)

  const warnings = await tornWarnings(async () => {
    const store = await openStore(dir, MANUAL)
    expect((await dump(store)).b, label).toEqual(expected)
    await store.addValues('b', [
      ['after', label],
      ['a0', 'overwritten after recovery'],
    ])
    await store.close()
  })
  // A batch none of whose bytes reached the disk leaves no trace: only zeros after the batch before.
  const vanished = damaged === 0 && lost.subarray(batch.start).every((byte) => byte === 0)
  expect(warnings, label).toHaveLength(vanished ? 0 : 1)
  if (!vanished) {
    expect(warnings[0], label).toContain(`byte ${batch.units[damaged]!.start}`)
    // What the cut can be: damage in the last batch written since the last clean close — and,
    // where a batch frame must start, possibly a damaged seal.
    expect(warnings[0], label).toContain(
      'last batch written since the store was last closed cleanly',
    )
    const seal = 'the empty batch close() seals the WAL with'
    if (damaged === 0) expect(warnings[0], label).toContain(seal)
    else expect(warnings[0], label).not.toContain(seal)
  }

  const again = await tornWarnings(async () => {
    const store = await openStore(dir, MANUAL)
    expect((await dump(store)).b, label).toEqual({
      ...expected,
      [hex('after')]: hex(label),
      [hex('a0')]: hex('overwritten after recovery'),
    })
    await store.close()
  })
  expect(again, label).toEqual([])
}

describe('the last batch lost pages', () => {
  test('any set of lost pages of the last batch: open keeps a prefix of it and every acknowledged write', async () => {
    const entries = bigEntries('v')
    const batch = await storeEndingIn(entries)
    const wal = join(dir, WAL_1)
    const pristine = await readFile(wal)
    const first = Math.floor(batch.start / PAGE)
    const pages = Array.from(
      { length: Math.floor((batch.end - 1) / PAGE) - first + 1 },
      (_, i) => first + i,
    )
    // The batch starts inside a page and spans at least three.
    expect(batch.start % PAGE).not.toBe(0)
    expect(pages.length).toBeGreaterThanOrEqual(3)
    // Every non-empty subset of its pages: the first (holding the batch frame), the middle ones,
    // the last, and any mix.
    for (let mask = 1; mask < 1 << pages.length; mask++) {
      const gone = pages.filter((_, i) => mask & (1 << i))
      const lost = lose(
        pristine,
        gone.map((page) => pageOf(batch, page)),
      )
      await writeFile(wal, lost)
      await expectRecovered(pristine, lost, batch, entries, `pages ${gone.join(',')} lost`)
    }
  })

  test('records stopping at a record boundary before the length the batch frame gives are a torn tail too', async () => {
    const entries = bigEntries('v')
    const batch = await storeEndingIn(entries)
    const wal = join(dir, WAL_1)
    const pristine = await readFile(wal)
    // Everything from the second record on is lost: the records end cleanly, in zeros.
    const second = batch.units[2]!
    const lost = lose(pristine, [[second.start, batch.end]])
    await writeFile(wal, lost)
    await expectRecovered(pristine, lost, batch, entries, 'from the second record')
  })

  test('a value holding a batch frame numbered after the last good batch turns the torn tail into a refusal', async () => {
    // What a value would need to hold to pass for a later batch: the safe way to be wrong.
    const fake = Buffer.concat([Buffer.from('x'.repeat(100)), batchFrame(1000, 0)])
    const entries: [string, string | Uint8Array][] = [...bigEntries('v'), ['v3', fake]]
    const batch = await storeEndingIn(entries)
    const wal = join(dir, WAL_1)
    const pristine = await readFile(wal)
    const lost = lose(pristine, [pageOf(batch, Math.floor(batch.start / PAGE))])
    await writeFile(wal, lost)
    const error = await openError()
    expect(error).toMatchObject({ file: wal, offset: batch.start })
    const fakeAt = batch.end - BATCH_FRAME_BYTES
    expect(error.message).toContain(`intact later batch starts at byte ${fakeAt}`)
    expect((await readFile(wal)).equals(lost)).toBe(true)
  })

  test('a value holding a batch frame numbered at most the last good batch does not count as a later batch', async () => {
    // Batch 1 is one of the acknowledged ones (3 of them come before the last batch).
    const fake = Buffer.concat([Buffer.from('x'.repeat(100)), batchFrame(1, 0)])
    const entries: [string, string | Uint8Array][] = [...bigEntries('v'), ['v3', fake]]
    const batch = await storeEndingIn(entries)
    const wal = join(dir, WAL_1)
    const pristine = await readFile(wal)
    const lost = lose(pristine, [pageOf(batch, Math.floor(batch.start / PAGE))])
    await writeFile(wal, lost)
    await expectRecovered(pristine, lost, batch, entries, 'first page, fake frame 1')
  })

  test('a lost page of records before a value holding a later batch frame is still a torn tail: only a damaged batch frame is judged by a scan', async () => {
    // The frame is intact, so it says where the batch ends; only zeros follow that end.
    const fake = Buffer.concat([Buffer.from('x'.repeat(100)), batchFrame(1000, 0)])
    const entries: [string, string | Uint8Array][] = [...bigEntries('v'), ['v3', fake]]
    const batch = await storeEndingIn(entries)
    const wal = join(dir, WAL_1)
    const pristine = await readFile(wal)
    const second = Math.floor(batch.start / PAGE) + 1
    expect(second * PAGE).toBeGreaterThanOrEqual(batch.units[0]!.end)
    const lost = lose(pristine, [pageOf(batch, second)])
    await writeFile(wal, lost)
    await expectRecovered(pristine, lost, batch, entries, 'second page, fake frame 1000')
  })
})

describe('a crash in the middle of the cut', () => {
  /**
   * The last batch lost its second page; recovery cuts the file where the first damaged record
   * starts (P) and rewrites the batch frame to give the bytes kept, by the README. Returns the
   * file as the power cut left it, P, the rewritten frame, and what the store must then hold.
   */
  async function lostMiddlePage() {
    const entries = bigEntries('v')
    const batch = await storeEndingIn(entries)
    const wal = join(dir, WAL_1)
    const page = Math.floor(batch.start / PAGE) + 1
    const lost = lose(await readFile(wal), [pageOf(batch, page)])
    // The first record the page holds part of: the second (the first ends before the page).
    const damaged = batch.units.findIndex((unit) => unit.end > page * PAGE)
    expect(damaged).toBe(2)
    const cut = batch.units[damaged]!.start
    const frame = batchFrame(ACKED.length + 1, cut - batch.start - BATCH_FRAME_BYTES)
    const acked = Object.fromEntries(ACKED.map(([key, value]) => [hex(key), hex(value)]))
    return { wal, lost, batch, cut, frame, acked }
  }

  /** Opens the store: it must hold `expected`, with one warning at byte `at`; then takes a write that survives a reopen. */
  async function expectOpens(expected: Record<string, string>, at: number, label: string) {
    const warnings = await tornWarnings(async () => {
      const store = await openStore(dir, MANUAL)
      expect((await dump(store)).b, label).toEqual(expected)
      await store.addValues('b', [['after', label]])
      await store.close()
    })
    expect(warnings, label).toHaveLength(1)
    expect(warnings[0], label).toContain(`byte ${at}`)
    const again = await tornWarnings(async () => {
      const store = await openStore(dir, MANUAL)
      expect((await dump(store)).b, label).toEqual({ ...expected, [hex('after')]: hex(label) })
      await store.close()
    })
    expect(again, label).toEqual([])
  }

  test('the cut itself: the file ends at the first damaged record, the batch frame giving the bytes kept', async () => {
    const { wal, lost, batch, cut, frame } = await lostMiddlePage()
    await writeFile(wal, lost)
    const store = await openStore(dir, MANUAL)
    await store.close()
    // Then close() seals the WAL: the batch kept a record.
    const expected = Buffer.concat([
      lost.subarray(0, batch.start),
      frame,
      lost.subarray(batch.start + BATCH_FRAME_BYTES, cut),
      batchFrame(ACKED.length + 2, 0),
    ])
    expect((await readFile(wal)).toString('hex')).toBe(expected.toString('hex'))
  })

  test('truncated, the frame not yet rewritten: the same torn tail, cut again', async () => {
    const { wal, lost, cut, acked } = await lostMiddlePage()
    await writeFile(wal, lost.subarray(0, cut))
    await expectOpens({ ...acked, [hex('v0')]: hex('A'.repeat(3000)) }, cut, 'truncated only')
  })

  test('the frame rewritten, not yet truncated: a torn tail at the new end of the batch', async () => {
    const { wal, lost, batch, cut, frame, acked } = await lostMiddlePage()
    const rewritten = Buffer.from(lost)
    frame.copy(rewritten, batch.start)
    await writeFile(wal, rewritten)
    await expectOpens({ ...acked, [hex('v0')]: hex('A'.repeat(3000)) }, cut, 'rewritten only')
  })

  test('the frame rewritten in part: the batch frame is damaged, and the batch is cut whole', async () => {
    const { wal, lost, batch, frame, acked } = await lostMiddlePage()
    const torn = Buffer.from(lost)
    // The first 16 bytes new (header, op, part of the number), the rest as it was.
    frame.copy(torn, batch.start, 0, 16)
    expect(torn.equals(lost)).toBe(false)
    await writeFile(wal, torn)
    await expectOpens(acked, batch.start, 'frame torn')
  })
})

describe('damage before the last batch', () => {
  test('a lost page of an earlier batch followed by an intact batch fails open() where the damage starts', async () => {
    const store = await openStore(dir, { ...MANUAL, sync_writes: true })
    let at = FILE_HEADER_BYTES
    for (const [key, value] of ACKED) {
      await store.addValue('b', key, value)
      at = layout(at, [[key, value]]).end
    }
    const earlierEntries = bigEntries('e')
    await store.addValues('b', earlierEntries)
    const earlier = layout(at, earlierEntries)
    await store.addValue('b', 'later', 'intact')
    await store.close()
    const wal = join(dir, WAL_1)
    const pristine = await readFile(wal)
    // Each page of the earlier batch: the first holds its frame, the others only records.
    const pages = [Math.floor(earlier.start / PAGE), Math.floor(earlier.units[3]!.start / PAGE)]
    expect(pages[1]).toBeGreaterThan(pages[0]!)
    for (const page of pages) {
      const lost = lose(pristine, [pageOf(earlier, page)])
      await writeFile(wal, lost)
      const damaged = earlier.units.find(
        (u) => !lost.subarray(u.start, u.end).equals(pristine.subarray(u.start, u.end)),
      )!
      const warnings = await tornWarnings(async () => {
        const error = await openError()
        expect(error, `page ${page}`).toMatchObject({ file: wal, offset: damaged.start })
        expect(error.message).toContain(`byte ${damaged.start}`)
        // A lost frame hides where the batch ends: the later batch's frame is found. A lost page
        // of records leaves the frame to say where the batch ends, and bytes follow.
        expect(error.message).toContain(
          damaged === earlier.units[0]
            ? `intact later batch starts at byte ${earlier.end}`
            : `its batch, which ends at byte ${earlier.end}, is not the last`,
        )
      })
      expect(warnings).toEqual([])
      // Nothing was cut.
      expect((await readFile(wal)).equals(lost)).toBe(true)
    }
  })

  test('a lost page in the last batch of a segment followed by a segment holding records fails open()', async () => {
    const entries = bigEntries('v')
    const batch = await storeEndingIn(entries)
    const wal = join(dir, WAL_1)
    const pristine = await readFile(wal)
    const store = await openStore(dir, MANUAL)
    // The snapshot moves appends to segment 2 (and retires segment 1, put back below): without
    // the snapshot, segment 1 must replay whole before segment 2.
    await store.snapshot()
    await store.addValue('b', 'in wal-2', 'x')
    await store.close()
    await rm(join(dir, SNAPSHOT_1))
    const lost = lose(pristine, [pageOf(batch, Math.floor(batch.start / PAGE) + 1)])
    await writeFile(wal, lost)
    const damaged = batch.units.find(
      (u) => !lost.subarray(u.start, u.end).equals(pristine.subarray(u.start, u.end)),
    )!
    const error = await openError()
    expect(error).toMatchObject({ file: wal, offset: damaged.start })
    expect(error.message).toContain('later segments hold records')
    expect((await readFile(wal)).equals(lost)).toBe(true)
  })
})

describe('what open() replays is made durable before it returns', () => {
  /** The files (by name) given an fdatasync through a FileHandle while `run` runs. */
  async function syncedDuring(run: () => Promise<void>): Promise<string[]> {
    const synced: string[] = []
    const open = fsPromises.open
    const spy = vi.spyOn(fsPromises, 'open').mockImplementation(async (...args) => {
      const handle = await open(...args)
      const datasync = handle.datasync.bind(handle)
      handle.datasync = () => {
        synced.push(basename(String(args[0])))
        return datasync()
      }
      return handle
    })
    try {
      await run()
    } finally {
      spy.mockRestore()
    }
    return synced
  }

  test('every segment holding records is fdatasynced by open(): records a killed process never synced cannot be lost under later ones', async () => {
    // Records in two segments: a snapshot that failed after moving appends to segment 2 leaves
    // segment 1 in the store (put back here, as lost-pages does above).
    const store = await openStore(dir, { ...MANUAL, sync_writes: false })
    await store.addValue('b', 'in wal-1', 'x')
    const wal1 = await readFile(join(dir, WAL_1))
    await store.snapshot()
    await store.addValue('b', 'in wal-2', 'y')
    await store.close()
    await rm(join(dir, SNAPSHOT_1))
    await writeFile(join(dir, WAL_1), wal1)
    const WAL_2 = 'wal-0000000000000002.log'
    let reopened: Awaited<ReturnType<typeof openStore>> | undefined
    const synced = await syncedDuring(async () => {
      reopened = await openStore(dir, { ...MANUAL, sync_writes: false })
    })
    expect(await dump(reopened!)).toEqual({
      b: {
        [Buffer.from('in wal-1').toString('hex')]: Buffer.from('x').toString('hex'),
        [Buffer.from('in wal-2').toString('hex')]: Buffer.from('y').toString('hex'),
      },
    })
    await reopened!.close()
    expect(synced).toContain(WAL_1)
    expect(synced).toContain(WAL_2)
  })
})

test('an fdatasync that fails while open() makes the replayed segments durable is KV_BACKEND_UNAVAILABLE naming the segment; nothing is held', async () => {
  const store = await openStore(dir, { ...MANUAL, sync_writes: false })
  await store.addValue('b', 'k', 'v')
  await store.close()
  const open = fsPromises.open
  const spy = vi.spyOn(fsPromises, 'open').mockImplementation(async (...args) => {
    const handle = await open(...args)
    if (basename(String(args[0])) === WAL_1 && args[1] === 'r+') {
      handle.datasync = () =>
        Promise.reject(
          Object.assign(new Error('EIO: i/o error, fdatasync'), {
            code: 'EIO',
            syscall: 'fdatasync',
            errno: -5,
          }),
        )
    }
    return handle
  })
  let error: unknown
  try {
    await openStore(dir, MANUAL)
  } catch (caught) {
    error = caught
  } finally {
    spy.mockRestore()
  }
  expect(error).toMatchObject({ code: 'KV_BACKEND_UNAVAILABLE', cause: { code: 'EIO' } })
  expect((error as Error).message).toContain(join(dir, WAL_1))
  // The lock was let go: the next open succeeds, and finds the write.
  const reopened = await openStore(dir, MANUAL)
  expect(Buffer.from((await reopened.getValue('b', 'k'))!).toString()).toBe('v')
  await reopened.close()
})
