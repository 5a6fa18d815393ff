/**
 * Damaged files: a torn final WAL record is cut off with one warning and everything else is
 * kept; any other damage — in the last batch too once close() has sealed it — fails `open()` with
 * KV_CORRUPT_STORE naming the file and the offset, and leaves the files as they were.
 */
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type CorruptStoreError, isKVError } from '@kv/core'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { collectWarnings, dump, openStore, removeDir, tempDir } from './helpers.js'
import {
  BATCH_FRAME_BYTES,
  batchFrame,
  FILE_HEADER_BYTES,
  putRecordBytes,
} from './reference-format.js'

const WAL_1 = 'wal-0000000000000001.log'
const WAL_2 = 'wal-0000000000000002.log'
const WAL_3 = 'wal-0000000000000003.log'
const SNAPSHOT_1 = 'snapshot-0000000000000001.snap'
const SNAPSHOT_2 = 'snapshot-0000000000000002.snap'
/** No automatic snapshots: the tests decide what is in the WAL. */
const MANUAL = { snapshot_wal_bytes: 0, snapshot_interval_seconds: 0 }

let dir: string
beforeEach(async () => {
  dir = await tempDir('simple-kv-corruption')
})
afterEach(async () => {
  await removeDir(dir)
})

/** The messages of the KV_WAL_TORN_TAIL warnings emitted while `body` runs. */
async function tornWarnings(body: () => Promise<void>): Promise<string[]> {
  const warnings = await collectWarnings(body)
  return warnings.filter((w) => w.code === 'KV_WAL_TORN_TAIL').map((w) => w.message)
}

/** Expects `open()` of the store in `dir` to fail with KV_CORRUPT_STORE at `file`/`offset`. */
async function expectCorrupt(
  file: string,
  offset?: (found: number) => boolean,
): Promise<CorruptStoreError> {
  const error = await openStore(dir, MANUAL).then(
    async (store) => {
      await store.close()
      return undefined
    },
    (e: unknown) => e,
  )
  expect(
    isKVError(error, 'KV_CORRUPT_STORE'),
    `expected KV_CORRUPT_STORE, got ${String(error)}`,
  ).toBe(true)
  const corrupt = error as CorruptStoreError
  expect(corrupt.file).toBe(join(dir, file))
  expect(corrupt.message).toContain(join(dir, file))
  expect(corrupt.offset).toBeTypeOf('number')
  expect(corrupt.message).toContain(`byte ${corrupt.offset}`)
  if (offset) expect(offset(corrupt.offset!), `offset ${corrupt.offset}`).toBe(true)
  return corrupt
}

/**
 * Writes four records, then a fifth, each awaited, so each is a batch of its own (its batch
 * frame, then its record), and closes, which appends the seal (an empty batch 6) at `end`;
 * returns where each batch and each record of the WAL starts and where they end, computed from
 * the format (not asked of the store).
 */
async function fiveRecords(): Promise<{ starts: number[]; records: number[]; end: number }> {
  const starts: number[] = []
  const records: number[] = []
  let end = FILE_HEADER_BYTES
  const store = await openStore(dir, { ...MANUAL, sync_writes: true })
  const values = ['one\n', 'two\t\ttwo', '', 'four\u0000\u00ff', 'last record']
  for (let i = 0; i < values.length; i++) {
    starts.push(end)
    records.push(end + BATCH_FRAME_BYTES)
    end += BATCH_FRAME_BYTES + putRecordBytes('b', `k${i}`, values[i]!)
    await store.addValue('b', `k${i}`, values[i]!)
  }
  // stats() reports the end of the records the same way.
  expect(store.stats().walBytes).toBe(end)
  await store.close()
  const sealed = await readFile(join(dir, WAL_1))
  expect(sealed.subarray(end, end + BATCH_FRAME_BYTES).toString('hex')).toBe(
    batchFrame(6, 0).toString('hex'),
  )
  return { starts, records, end }
}

/**
 * The WAL as a process killed after its last write was acknowledged leaves it: close() never
 * ran, so the seal's bytes at `end` are still the zeros `sync_writes` preallocated.
 */
async function unseal(end: number): Promise<Buffer> {
  const wal = join(dir, WAL_1)
  const killed = await readFile(wal)
  killed.fill(0, end, end + BATCH_FRAME_BYTES)
  await writeFile(wal, killed)
  return killed
}

describe('a torn final WAL record', () => {
  test('truncating the WAL at every byte offset of its last batch loses only that record', async () => {
    const { starts, records, end } = await fiveRecords()
    const lastStart = starts[4]!
    const lastRecord = records[4]!
    const pristine = await readFile(join(dir, WAL_1))
    expect(pristine.length).toBeGreaterThanOrEqual(end)
    for (let cut = lastStart; cut < end; cut++) {
      await writeFile(join(dir, WAL_1), pristine.subarray(0, cut))
      let content: Awaited<ReturnType<typeof dump>> = {}
      const warnings = await tornWarnings(async () => {
        const store = await openStore(dir, MANUAL)
        content = await dump(store)
        await store.addValue('b', 'after', `cut at ${cut}`)
        await store.close()
      })
      // Cutting exactly at a batch boundary leaves no torn write to report. A cut inside the
      // batch frame is reported where the frame starts; a cut after it, where the record starts
      // (the batch frame is kept, saying its records stop there).
      expect(warnings.length, `cut at ${cut}`).toBe(cut > lastStart ? 1 : 0)
      if (warnings.length > 0)
        expect(warnings[0]).toContain(`byte ${cut < lastRecord ? lastStart : lastRecord}`)
      expect(Object.keys(content.b!).sort(), `cut at ${cut}`).toEqual(
        ['k0', 'k1', 'k2', 'k3'].map(hex),
      )
      expect(content.b![hex('k1')]).toBe(hex('two\t\ttwo'))
      expect(content.b![hex('k2')]).toBe('')

      // The write after recovery landed after the good records, not after the garbage.
      const again = await tornWarnings(async () => {
        const store = await openStore(dir, MANUAL)
        expect(await text(store.getValue('b', 'after'))).toBe(`cut at ${cut}`)
        expect(await store.existsKey('b', 'k4')).toBe(false)
        expect(await text(store.getValue('b', 'k3'))).toBe('four\u0000\u00ff')
        await store.close()
      })
      expect(again).toEqual([])
    }
  })

  test('zeros after the last record (preallocated space) end the log without a warning', async () => {
    const { end } = await fiveRecords()
    const wal = join(dir, WAL_1)
    const size = (await stat(wal)).size
    // sync_writes preallocates: the file is longer than its records.
    expect(size).toBeGreaterThan(end)
    const warnings = await tornWarnings(async () => {
      const store = await openStore(dir, MANUAL)
      expect(await text(store.getValue('b', 'k4'))).toBe('last record')
      await store.addValue('b', 'k5', 'into the preallocated space')
      await store.close()
      const reopened = await openStore(dir, MANUAL)
      expect(await text(reopened.getValue('b', 'k5'))).toBe('into the preallocated space')
      await reopened.close()
    })
    expect(warnings).toEqual([])
  })

  test('a torn batch followed by preallocated zeros is a torn tail, cut off at every offset', async () => {
    const { starts, records, end } = await fiveRecords()
    const wal = join(dir, WAL_1)
    const pristine = await unseal(end)
    const lastStart = starts[4]!
    const lastRecord = records[4]!
    for (let cut = lastStart + 1; cut < end; cut++) {
      // What a kill in the middle of the last write leaves when the space was preallocated.
      const torn = Buffer.from(pristine)
      torn.fill(0, cut, end)
      await writeFile(wal, torn)
      const warnings = await tornWarnings(async () => {
        const store = await openStore(dir, MANUAL)
        expect(await store.existsKey('b', 'k4'), `cut at ${cut}`).toBe(false)
        expect(await text(store.getValue('b', 'k3'))).toBe('four\u0000\u00ff')
        await store.addValue('b', 'after', String(cut))
        await store.close()
      })
      expect(warnings.length, `cut at ${cut}`).toBe(1)
      // Zeros over the batch frame damage it unless its bytes from `cut` on were zeros already
      // (the high bytes of its u64 fields): then the record is what is torn.
      const frameIntact = pristine.subarray(cut, lastRecord).every((byte) => byte === 0)
      expect(warnings[0], `cut at ${cut}`).toContain(`byte ${frameIntact ? lastRecord : lastStart}`)
      const store = await openStore(dir, MANUAL)
      expect(await text(store.getValue('b', 'after'))).toBe(String(cut))
      await store.close()
    }
  })
})

describe('damage before the tail', () => {
  test('a flipped byte anywhere in an earlier batch fails open() at its frame or its record', async () => {
    const { starts, records } = await fiveRecords()
    const wal = join(dir, WAL_1)
    const pristine = await readFile(wal)
    const start = starts[1]!
    for (let at = start; at < starts[2]!; at++) {
      const damaged = Buffer.from(pristine)
      damaged[at]! ^= 0x5a
      await writeFile(wal, damaged)
      const inFrame = at < records[1]!
      const error = await expectCorrupt(
        WAL_1,
        (offset) => offset === (inFrame ? start : records[1]),
      )
      // A later batch follows: this batch was not the one being written when the writer stopped.
      // Damage in its frame hides where it ends, and a scan finds the next batch's frame; damage
      // in its record leaves the frame to say where it ends.
      expect(error.message).toContain(
        inFrame
          ? `intact later batch starts at byte ${starts[2]}`
          : `its batch, which ends at byte ${starts[2]}, is not the last`,
      )
      // Nothing was dropped or truncated: the file is as it was.
      expect((await readFile(wal)).equals(damaged)).toBe(true)
    }
    await writeFile(wal, pristine)
    const store = await openStore(dir, MANUAL)
    expect((await dump(store)).b).toHaveProperty(hex('k4'))
    await store.close()
  })

  test('a flipped byte anywhere in the last batch of a store closed cleanly fails open(): close() sealed it', async () => {
    const { starts, records, end } = await fiveRecords()
    const wal = join(dir, WAL_1)
    const pristine = await readFile(wal)
    for (let at = starts[4]!; at < end; at++) {
      const damaged = Buffer.from(pristine)
      damaged[at]! ^= 0x5a
      await writeFile(wal, damaged)
      const inFrame = at < records[4]!
      const warnings = await tornWarnings(async () => {
        const error = await expectCorrupt(
          WAL_1,
          (offset) => offset === (inFrame ? starts[4] : records[4]),
        )
        // The seal at `end` is the later batch that makes this one acknowledged.
        expect(error.message).toContain(
          inFrame
            ? `intact later batch starts at byte ${end}`
            : `its batch, which ends at byte ${end}, is not the last`,
        )
      })
      expect(warnings).toEqual([])
      expect((await readFile(wal)).equals(damaged)).toBe(true)
    }
  })

  test('damage across the end of an acknowledged batch and the next batch frame fails open(), though no seal follows', async () => {
    const { starts, records, end } = await fiveRecords()
    const wal = join(dir, WAL_1)
    const killed = await unseal(end)
    // One bad stretch from the last bytes of batch 4's record into the frame of batch 5, the
    // last: the damage starts inside batch 4, whose frame says it ends where batch 5 starts, and
    // bytes follow — though no intact batch frame does.
    const damaged = Buffer.from(killed)
    damaged.fill(0xee, starts[4]! - 8, starts[4]! + 20)
    await writeFile(wal, damaged)
    const warnings = await tornWarnings(async () => {
      const error = await expectCorrupt(WAL_1, (offset) => offset === records[3])
      expect(error.message).toContain(`its batch, which ends at byte ${starts[4]}, is not the last`)
    })
    expect(warnings).toEqual([])
    expect((await readFile(wal)).equals(damaged)).toBe(true)
  })

  test('after a snapshot that failed once appends had moved on, close() seals the WAL in the new segment: damage in the last batch before it fails open()', async () => {
    const { end } = await fiveRecords()
    const store = await openStore(dir, { ...MANUAL, sync_writes: true })
    // Batch 7 of segment 1, after the seal of the last close().
    await store.addValue('b', 'k5', 'acknowledged before the snapshot')
    const record = end + 2 * BATCH_FRAME_BYTES
    // A directory where the snapshot's temporary file goes: the snapshot fails after appends
    // switched to segment 2, and segment 1 stays the store's.
    const blocker = join(dir, `${SNAPSHOT_1}.tmp`)
    await mkdir(blocker)
    await expect(store.snapshot()).rejects.toMatchObject({ code: 'KV_BACKEND_UNAVAILABLE' })
    expect(store.stats().walSegment).toBe(2)
    await store.close()
    await rmdir(blocker)
    // Segment 2 holds the seal only (then preallocated zeros): batch 1, no records.
    const next = await readFile(join(dir, WAL_2))
    const sealEnd = FILE_HEADER_BYTES + BATCH_FRAME_BYTES
    expect(next.subarray(FILE_HEADER_BYTES, sealEnd).toString('hex')).toBe(
      batchFrame(1, 0).toString('hex'),
    )
    expect(next.subarray(sealEnd).every((byte) => byte === 0)).toBe(true)
    const wal = join(dir, WAL_1)
    const damaged = await readFile(wal)
    damaged[record + 14]! ^= 1
    await writeFile(wal, damaged)
    const warnings = await tornWarnings(async () => {
      const error = await expectCorrupt(WAL_1, (offset) => offset === record)
      expect(error.message).toContain('later segments hold records')
    })
    expect(warnings).toEqual([])
    expect((await readFile(wal)).equals(damaged)).toBe(true)
  })

  test('a damaged WAL header fails open() at byte 0', async () => {
    await fiveRecords()
    const wal = join(dir, WAL_1)
    const damaged = await readFile(wal)
    damaged[3]! ^= 1
    await writeFile(wal, damaged)
    await expectCorrupt(WAL_1, (offset) => offset === 0)
  })

  test('the lock is released when open() fails', async () => {
    const { starts } = await fiveRecords()
    const wal = join(dir, WAL_1)
    const pristine = await readFile(wal)
    const damaged = Buffer.from(pristine)
    damaged[starts[0]! + 14]! ^= 1
    await writeFile(wal, damaged)
    await expectCorrupt(WAL_1)
    // The LOCK file itself must be gone: reopening here would not tell, since a lock naming
    // this process, which does not hold it, is taken over as stale — but another process
    // would find the pid running and get KV_LOCKED.
    await expect(stat(join(dir, 'LOCK'))).rejects.toMatchObject({ code: 'ENOENT' })
    await writeFile(wal, pristine)
    const store = await openStore(dir, MANUAL)
    await store.close()
  })
})

describe('snapshots', () => {
  /** A store whose state is in snapshot-1 only (wal-2 is empty). */
  async function snapshotOnly(): Promise<Record<string, Record<string, string>>> {
    const store = await openStore(dir, MANUAL)
    for (let i = 0; i < 6; i++) await store.addValue(i % 2 ? 'odd' : 'even', `k${i}`, `v${i}\n`)
    await store.addValue('even', 'empty', '')
    await store.snapshot()
    const content = await dump(store)
    await store.close()
    return content
  }

  test('a flipped byte anywhere in a snapshot fails open() with the snapshot and an offset', async () => {
    const content = await snapshotOnly()
    const path = join(dir, SNAPSHOT_1)
    const pristine = await readFile(path)
    for (let at = 0; at < pristine.length; at++) {
      const damaged = Buffer.from(pristine)
      damaged[at]! ^= 0x01
      await writeFile(path, damaged)
      // The offset is where the damaged unit starts: the header (0) — every header byte is
      // covered by its CRC, checked before any field — or the snapshot's one block, right
      // after the header (the length check, the checksum and the payload are all its own).
      await expectCorrupt(
        SNAPSHOT_1,
        (offset) => offset === (at < FILE_HEADER_BYTES ? 0 : FILE_HEADER_BYTES),
      )
    }
    await writeFile(path, pristine)
    const store = await openStore(dir, MANUAL)
    expect(await dump(store)).toEqual(content)
    await store.close()
  })

  test('a truncated snapshot fails open() where the data runs out', async () => {
    await snapshotOnly()
    const path = join(dir, SNAPSHOT_1)
    const pristine = await readFile(path)
    // Its one block is smaller than the 1 MiB a block holds before the next starts.
    expect(pristine.length).toBeLessThan(1024 * 1024)
    for (const length of [0, 10, 24, 30, pristine.length - 9, pristine.length - 1]) {
      await writeFile(path, pristine.subarray(0, length))
      // An incomplete header is reported at its end; a missing or cut-off block where it starts.
      const expected = Math.min(length, FILE_HEADER_BYTES)
      await expectCorrupt(SNAPSHOT_1, (offset) => offset === expected)
    }
  })

  test('bytes after the end marker fail open()', async () => {
    await snapshotOnly()
    const path = join(dir, SNAPSHOT_1)
    const pristine = await readFile(path)
    await writeFile(path, Buffer.concat([pristine, Buffer.from([0])]))
    // Reported at the first byte after the end marker.
    await expectCorrupt(SNAPSHOT_1, (offset) => offset === pristine.length)
  })
})

describe('missing and leftover files', () => {
  test('a missing segment between the snapshot and a later segment fails open()', async () => {
    const store = await openStore(dir, MANUAL)
    await store.addValue('b', 'k', 'v')
    await store.snapshot()
    await store.addValue('b', 'k2', 'v2')
    await store.close()
    await rename(join(dir, WAL_2), join(dir, WAL_3))
    const error = await expectCorrupt(WAL_3)
    expect(error.message).toContain(WAL_2)
  })

  test('segments without the snapshot that covered the ones before fail open()', async () => {
    const store = await openStore(dir, MANUAL)
    await store.addValue('b', 'k', 'v')
    await store.snapshot()
    await store.close()
    await rm(join(dir, SNAPSHOT_1))
    const error = await expectCorrupt(WAL_2)
    expect(error.message).toContain(WAL_1)
  })

  test('leftovers of an interrupted snapshot or retirement are ignored and removed', async () => {
    const store = await openStore(dir, MANUAL)
    await store.addValue('b', 'old', 'deleted before the snapshot')
    await store.close()
    const oldWal = await readFile(join(dir, WAL_1))
    const again = await openStore(dir, MANUAL)
    // The delete goes to wal-1 too, so the snapshot covering it lacks 'old' and nothing after
    // the snapshot deletes it: replaying the leftover wal-1 below would bring 'old' back.
    await again.deleteKey('b', 'old')
    await again.addValue('b', 'k', 'v')
    await again.snapshot()
    await again.close()
    // A crash after the snapshot was renamed into place but before wal-1 was removed, and one
    // in the middle of writing the next snapshot, after it created the next segment's temporary
    // file (a snapshot begins by creating the segment that takes the writes meanwhile).
    await writeFile(join(dir, WAL_1), oldWal)
    await writeFile(join(dir, 'snapshot-0000000000000002.snap.tmp'), 'half a snapshot')
    await writeFile(join(dir, 'wal-0000000000000003.log.tmp'), 'half a segment header')
    const reopened = await openStore(dir, MANUAL)
    expect(await reopened.existsKey('b', 'old')).toBe(false)
    expect(await text(reopened.getValue('b', 'k'))).toBe('v')
    await reopened.close()
    await expect(stat(join(dir, WAL_1))).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(stat(join(dir, 'snapshot-0000000000000002.snap.tmp'))).rejects.toMatchObject({
      code: 'ENOENT',
    })
    await expect(stat(join(dir, 'wal-0000000000000003.log.tmp'))).rejects.toMatchObject({
      code: 'ENOENT',
    })
  })

  test('an older snapshot left by an interrupted retirement is removed, and the newest is loaded', async () => {
    const store = await openStore(dir, MANUAL)
    await store.addValue('b', 'k', 'in snapshot 1')
    await store.snapshot()
    const olderSnapshot = await readFile(join(dir, SNAPSHOT_1))
    await store.addValue('b', 'k', 'in snapshot 2')
    await store.snapshot()
    await store.close()
    // A crash after snapshot-2 was renamed into place but before snapshot-1 was removed.
    await writeFile(join(dir, SNAPSHOT_1), olderSnapshot)
    const reopened = await openStore(dir, MANUAL)
    expect(await text(reopened.getValue('b', 'k'))).toBe('in snapshot 2')
    await reopened.close()
    await expect(stat(join(dir, SNAPSHOT_1))).rejects.toMatchObject({ code: 'ENOENT' })
    expect((await readdir(dir)).sort()).toEqual([SNAPSHOT_2, WAL_3])
  })

  /**
   * WAL_1 ending in a torn record (its last one, cut inside its frame header), followed by
   * WAL_2 and no snapshot covering WAL_1. With `laterRecord` false WAL_2 holds no records: the
   * state a kill leaves when it lands in an append while the next segment had just been created
   * for a snapshot. With `laterRecord` true WAL_2 holds one: a state no crash leaves, since
   * appends to WAL_2 began only after every record of WAL_1 was written. Returns WAL_1's path,
   * where its torn record starts, and its torn length.
   */
  async function tornTailBeforeSegment(
    laterRecord = false,
  ): Promise<{ wal: string; start: number; length: number }> {
    const { starts } = await fiveRecords()
    const wal = join(dir, WAL_1)
    const pristine = await readFile(wal)
    const store = await openStore(dir, MANUAL)
    await store.snapshot()
    if (laterRecord) await store.addValue('b', 'later', 'in wal-2')
    await store.close()
    await rm(join(dir, SNAPSHOT_1))
    const start = starts[4]!
    const length = start + 5
    await writeFile(wal, pristine.subarray(0, length))
    return { wal, start, length }
  }

  test('a torn tail in a segment followed only by empty segments is recovered', async () => {
    await tornTailBeforeSegment()
    const warnings = await tornWarnings(async () => {
      const reopened = await openStore(dir, MANUAL)
      expect(await reopened.existsKey('b', 'k3')).toBe(true)
      expect(await reopened.existsKey('b', 'k4')).toBe(false)
      await reopened.close()
    })
    expect(warnings).toHaveLength(1)
  })

  test('a damaged later segment fails open() before a torn tail before it is cut off', async () => {
    const { wal, length } = await tornTailBeforeSegment()
    const next = join(dir, WAL_2)
    const damaged = await readFile(next)
    damaged[3]! ^= 1
    await writeFile(next, damaged)
    await expectCorrupt(WAL_2, (offset) => offset === 0)
    // KV_CORRUPT_STORE modifies nothing: the torn tail is still there for whoever repairs it.
    expect((await stat(wal)).size).toBe(length)
  })

  test('a torn record in a segment followed by a segment holding records is corruption, not cut off', async () => {
    const { wal, start } = await tornTailBeforeSegment(true)
    const torn = await readFile(wal)
    const later = await readFile(join(dir, WAL_2))
    const warnings = await tornWarnings(async () => {
      const error = await expectCorrupt(WAL_1, (offset) => offset === start)
      expect(error.message).toContain('later segments hold records')
    })
    expect(warnings).toEqual([])
    expect((await readFile(wal)).equals(torn)).toBe(true)
    expect((await readFile(join(dir, WAL_2))).equals(later)).toBe(true)
  })

  test('a later segment whose first page was lost (zeros) but whose records go on after it still makes the torn record before it corruption', async () => {
    const { wal, start } = await tornTailBeforeSegment(true)
    // WAL_2 as a power cut leaves it: no seal (the process did not close the store), and its
    // first page lost — zeros from its header on, over its batch frame and the start of its
    // record — while the rest of the record reached the disk. Both segments look torn; only one
    // can be.
    const next = join(dir, WAL_2)
    const sealed = await readFile(next)
    const later = sealed.subarray(0, sealed.length - BATCH_FRAME_BYTES)
    const lostTo = FILE_HEADER_BYTES + 40
    expect(later.length).toBeGreaterThan(lostTo)
    later.fill(0, FILE_HEADER_BYTES, lostTo)
    await writeFile(next, later)
    const torn = await readFile(wal)
    const warnings = await tornWarnings(async () => {
      const error = await expectCorrupt(WAL_1, (offset) => offset === start)
      expect(error.message).toContain('later segments hold records')
    })
    // Nothing was cut off, in either segment.
    expect(warnings).toEqual([])
    expect((await readFile(wal)).equals(torn)).toBe(true)
    expect((await readFile(next)).equals(later)).toBe(true)
  })
})

function hex(text: string): string {
  return Buffer.from(text).toString('hex')
}

async function text(value: Promise<Uint8Array | null>): Promise<string | null> {
  const bytes = await value
  return bytes === null ? null : Buffer.from(bytes).toString('utf8')
}
