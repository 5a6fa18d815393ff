/**
 * Pieces of the CLI tested in-process: the concurrency windows, migrate's verification
 * (with a target that really misses entries), exit codes, key encodings, progress formatting.
 */

import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type BytesLike,
  CorruptStoreError,
  type Entry,
  InvalidConfigError,
  LockedError,
  MemoryStore,
  NotOpenError,
} from '@kv/core'
import { afterEach, describe, expect, it } from 'vitest'
import { CliError, ExitCode, exitCodeFor, kvCodeOf } from '../src/exit-codes.js'
import { ExportFile } from '../src/export-file.js'
import { Interrupt } from '../src/interrupt.js'
import { formatKey, keyJson, parseKey } from '../src/keys.js'
import { CopyFailure, copyAll, verify } from '../src/migrate.js'
import { duration, Progress } from '../src/progress.js'
import { keySlot, OrderedWindow, WriteWindow } from '../src/window.js'

const quiet = () => new Progress({ label: 'test', mode: 'off' })

describe('WriteWindow', () => {
  it('never has more than `size` operations in flight, and drains them all', async () => {
    const window = new WriteWindow(3)
    let inFlight = 0
    let peak = 0
    let done = 0
    for (let i = 0; i < 20; i++) {
      const wait = window.add(async () => {
        peak = Math.max(peak, ++inFlight)
        await new Promise((resolve) => setTimeout(resolve, 1))
        inFlight--
        done++
      })
      if (wait) await wait
    }
    await window.drain()
    expect(peak).toBe(3)
    expect(done).toBe(20)
  })

  it('rethrows the first failure (as onError made it) and starts nothing after it', async () => {
    const window = new WriteWindow(2)
    let started = 0
    const fail = async () => {
      started++
      throw new Error('boom')
    }
    window.add(
      fail,
      (error) => new CliError(ExitCode.UNEXPECTED, `tagged ${(error as Error).message}`),
    )
    await window.settle()
    expect(() => window.add(async () => void started++)).toThrow(/tagged boom/)
    await expect(window.drain()).rejects.toThrow(/tagged boom/)
    expect(started).toBe(1)
  })
})

describe('OrderedWindow', () => {
  it('returns results in the order the operations started', async () => {
    const window = new OrderedWindow<number>(3)
    const out: number[] = []
    for (let i = 0; i < 10; i++) {
      const delay = (10 - i) % 4
      const result = await window.push(
        new Promise((resolve) => setTimeout(() => resolve(i), delay)),
      )
      if (result) out.push(result.value)
    }
    for await (const value of window.drain()) out.push(value)
    expect(out).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })
})

describe('copyAll and verify', () => {
  let interrupt: Interrupt | undefined
  afterEach(() => interrupt?.dispose())

  async function stores() {
    const source = new MemoryStore()
    const target = new MemoryStore()
    await source.open()
    await target.open()
    for (let i = 0; i < 50; i++) await source.addValue(`b${i % 3}`, `k${i}`, `v${i}`)
    return { source, target }
  }

  it('copies everything and the verification agrees, counts and values', async () => {
    const { source, target } = await stores()
    interrupt = new Interrupt()
    const copied = await copyAll(source, target, { batch: 7, concurrency: 2 }, quiet(), interrupt)
    expect(copied).toEqual({ copied: 50, buckets: 3, interrupted: false })
    const result = await verify(source, target, true, 8, quiet(), interrupt)
    expect(result.ok).toBe(true)
    expect(
      result.buckets.map((b) => [b.bucket, b.source, b.target, b.missing, b.different]),
    ).toEqual([
      ['b0', 17, 17, 0, 0],
      ['b1', 17, 17, 0, 0],
      ['b2', 16, 16, 0, 0],
    ])
  })

  it('finds missing keys by count, and different values with value checks', async () => {
    const { source, target } = await stores()
    interrupt = new Interrupt()
    await copyAll(source, target, { batch: 7, concurrency: 2 }, quiet(), interrupt)
    await target.deleteKey('b1', 'k1')
    await target.addValue('b2', 'k2', 'changed')
    const counts = await verify(source, target, false, 8, quiet(), interrupt)
    expect(counts.ok).toBe(false)
    expect(counts.buckets.find((b) => b.bucket === 'b1')).toMatchObject({ source: 17, target: 16 })
    // Same count, different value: only the value check sees it.
    await target.deleteKey('b2', 'k2')
    await target.addValue('b2', 'k2', 'changed')
    await target.addValue('b1', 'k1', 'v1')
    expect((await verify(source, target, false, 8, quiet(), interrupt)).ok).toBe(true)
    const values = await verify(source, target, true, 8, quiet(), interrupt)
    expect(values.ok).toBe(false)
    expect(values.buckets.find((b) => b.bucket === 'b2')).toMatchObject({
      missing: 0,
      different: 1,
    })
  })

  it('copies one entry per addValue with batch 1, and batches that do not divide the bucket', async () => {
    for (const batch of [1, 5, 16, 1000]) {
      const { source, target } = await stores()
      interrupt = new Interrupt()
      const copied = await copyAll(source, target, { batch, concurrency: 3 }, quiet(), interrupt)
      interrupt.dispose()
      expect(copied, `batch ${batch}`).toEqual({ copied: 50, buckets: 3, interrupted: false })
      interrupt = new Interrupt()
      expect((await verify(source, target, true, 8, quiet(), interrupt)).ok).toBe(true)
      interrupt.dispose()
    }
  })

  it('names the first and last key of a batch whose write fails, and writes no later batch', async () => {
    const { source } = await stores()
    let batches = 0
    class RefusingStore extends MemoryStore {
      protected override _putMany(bucket: string, entries: readonly Entry[]) {
        batches++
        if (bucket === 'b1') throw new Error('refused')
        return super._putMany(bucket, entries)
      }
    }
    const target = new RefusingStore()
    await target.open()
    interrupt = new Interrupt()
    const failure = await copyAll(source, target, { batch: 10, concurrency: 1 }, quiet(), interrupt)
      .then(() => undefined)
      .catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(CopyFailure)
    const { bucket, key, lastKey, cause } = failure as CopyFailure
    expect(bucket).toBe('b1')
    // b1 holds k1, k4, …, k49 (17 keys) in byte order: the first batch is k1 … k34.
    expect(new TextDecoder().decode(key)).toBe('k1')
    expect(new TextDecoder().decode(lastKey)).toBe('k34')
    expect((cause as Error).message).toBe('refused')
    // Small values: the batch is written in one part, with one addValues.
    expect((failure as CopyFailure).phase).toBe('write')
    expect((failure as CopyFailure).entries).toBe(10)
    // b0's two batches, then b1's first; nothing after the failure.
    expect(batches).toBe(3)
    expect(await target.existsKey('b0', 'k0')).toBe(true)
    expect(await target.existsKey('b2', 'k2')).toBe(false)
  })

  it('names the values read together when a read from the source fails, and writes none of them', async () => {
    class FailingSource extends MemoryStore {
      override async getValue(bucket: string, key: BytesLike) {
        if (Buffer.from(key).toString() === 'k36') throw new Error('unreadable')
        return super.getValue(bucket, key)
      }
    }
    const source = new FailingSource()
    const target = new MemoryStore()
    await source.open()
    await target.open()
    for (let i = 0; i < 50; i++) await source.addValue(`b${i % 3}`, `k${i}`, `v${i}`)
    interrupt = new Interrupt()
    const failure = await copyAll(source, target, { batch: 17, concurrency: 1 }, quiet(), interrupt)
      .then(() => undefined)
      .catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(CopyFailure)
    const { bucket, key, lastKey, entries, phase, cause } = failure as CopyFailure
    // b0 (k0, k12, k15, …, k9 in byte order) is read 1, 2, 4, then 8 values at once: k3 … k48.
    expect([bucket, phase, entries]).toEqual(['b0', 'read', 8])
    expect(new TextDecoder().decode(key)).toBe('k3')
    expect(new TextDecoder().decode(lastKey)).toBe('k48')
    expect((cause as Error).message).toBe('unreadable')
    expect(await target.existsKey('b0', 'k0')).toBe(false)
  })

  it('stops at an interrupt after the batches in flight, which it writes and counts', async () => {
    // A source whose reads wait for the test: the batches copyAll starts stay in flight until the
    // gate opens, so the interrupt lands while they are pending. A batch reads its values a few
    // at a time (one first: their size is not known yet), so the interrupt comes once each batch
    // has started its first read.
    let open!: () => void
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    const read: string[] = []
    let allStarted!: () => void
    const started = new Promise<void>((resolve) => {
      allStarted = resolve
    })
    const batch = 7
    const concurrency = 2
    class GatedStore extends MemoryStore {
      override async getValue(bucket: string, key: BytesLike) {
        read.push(`${bucket}/${Buffer.from(key).toString()}`)
        if (read.length === concurrency) allStarted()
        await gate
        return super.getValue(bucket, key)
      }
    }
    const source = new GatedStore()
    const target = new MemoryStore()
    await source.open()
    await target.open()
    for (let i = 0; i < 50; i++) await source.addValue(`b${i % 3}`, `k${i}`, `v${i}`)
    interrupt = new Interrupt()
    const copying = copyAll(source, target, { batch, concurrency }, quiet(), interrupt)
    // Both batches are reading (the window is full): interrupt, then let them finish.
    await Promise.race([started, copying])
    expect(read).toHaveLength(concurrency)
    process.emit('SIGINT')
    open()
    const result = await copying
    expect(result.interrupted).toBe(true)
    // The started batches read the rest of their keys, no other; every entry of them written
    // and counted.
    const inFlight = [...read]
    expect(inFlight).toHaveLength(batch * concurrency)
    expect(result.copied).toBe(inFlight.length)
    const inTarget: string[] = []
    for await (const bucket of target.buckets())
      for await (const key of target.keys(bucket)) {
        const name = `${bucket}/${new TextDecoder().decode(key)}`
        inTarget.push(name)
        expect(await target.getValue(bucket, key)).toEqual(await source.getValue(bucket, key))
      }
    expect(inTarget.sort()).toEqual(inFlight.sort())
    expect(interrupt.error('x').exitCode).toBe(130)
  })
})

describe('WriteWindow with key slots', () => {
  /** A write that takes `ms` and then records `value` for `key`, as a slow backend would. */
  const store = new Map<string, string>()
  const started: string[] = []
  const slowWrite = (key: string, value: string, ms: number) => async () => {
    started.push(`${key}=${value}`)
    await new Promise((resolve) => setTimeout(resolve, ms))
    store.set(key, value)
  }
  const slot = (key: string, bucket = 'b') => keySlot(bucket, Buffer.from(key))

  it('runs the writes of a key in the order added, though earlier ones would finish later, and holds up no other key', async () => {
    expect(slot('a')).not.toBe(slot('x'))
    const window = new WriteWindow(8)
    window.add(slowWrite('a', '1', 60), undefined, slot('a'))
    window.add(slowWrite('a', '2', 30), undefined, slot('a'))
    window.add(slowWrite('x', 'only', 1), undefined, slot('x'))
    window.add(slowWrite('a', '3', 1), undefined, slot('a'))
    // The other key started at once, alongside the first write of "a".
    expect(started).toEqual(['a=1', 'x=only'])
    await window.drain()
    expect(started).toEqual(['a=1', 'x=only', 'a=2', 'a=3'])
    expect(store.get('a')).toBe('3')
    // A key's slot depends on its bucket too, and a bucket name cannot run into the key.
    expect(slot('a', 'c')).not.toBe(slot('a'))
    expect(keySlot('ab', Buffer.from('c'))).not.toBe(keySlot('a', Buffer.from('bc')))
  })

  it('does not run a write whose predecessor in its slot failed; the first failure is rethrown', async () => {
    const window = new WriteWindow(8)
    let ran = false
    window.add(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 10))
        throw new Error('disk full')
      },
      (error) => new Error(`line 1: ${(error as Error).message}`),
      slot('k'),
    )
    window.add(
      async () => {
        ran = true
      },
      (error) => new Error(`line 2: ${(error as Error).message}`),
      slot('k'),
    )
    await expect(window.drain()).rejects.toThrow('line 1: disk full')
    expect(ran).toBe(false)
  })
})

describe('a second interrupt', () => {
  it('exits at once with 130, after removing the partial export file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kv-cli-interrupt-'))
    const exits: number[] = []
    const interrupt = new Interrupt(undefined, (code) => exits.push(code))
    try {
      const file = await ExportFile.create(join(dir, 'out.ndjson'))
      interrupt.atForcedExit(() => file.removeNow())
      file.stream.write('{"format":"kv-export","version":1}\n')
      const partialFiles = async () => (await readdir(dir)).filter((n) => n.endsWith('.partial'))
      expect(await partialFiles()).toHaveLength(1)
      process.emit('SIGINT')
      expect(exits).toEqual([])
      expect(await partialFiles()).toHaveLength(1)
      process.emit('SIGINT')
      expect(exits).toEqual([130])
      expect(await readdir(dir)).toEqual([])
    } finally {
      interrupt.dispose()
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('exit codes', () => {
  it('maps kv error codes to the documented classes', () => {
    expect(exitCodeFor(new InvalidConfigError('x'))).toBe(4)
    expect(exitCodeFor(new LockedError('x'))).toBe(5)
    expect(exitCodeFor(new CorruptStoreError('x'))).toBe(6)
    expect(exitCodeFor(new NotOpenError())).toBe(1)
    expect(exitCodeFor(new Error('x'))).toBe(1)
    expect(exitCodeFor(new CliError(ExitCode.VERIFY_FAILED, 'x'))).toBe(7)
  })

  it('prints the kv error code of an error the CLI explains in its own words', () => {
    expect(kvCodeOf(new LockedError('x'))).toBe('KV_LOCKED')
    const explained = new CliError(ExitCode.BACKEND_UNAVAILABLE, 'cannot import', {
      cause: new LockedError('x'),
    })
    expect(kvCodeOf(explained)).toBe('KV_LOCKED')
    expect(kvCodeOf(new CliError(ExitCode.VERIFY_FAILED, 'x'))).toBeUndefined()
    expect(kvCodeOf(new Error('x'))).toBeUndefined()
  })
})

describe('keys', () => {
  it('parses and prints utf8, hex and base64', () => {
    expect(parseKey('héllo', 'utf8')).toEqual(Buffer.from('héllo'))
    expect(parseKey('00ff', 'hex')).toEqual(Buffer.from([0, 255]))
    expect(parseKey('AP8=', 'base64')).toEqual(Buffer.from([0, 255]))
    expect(() => parseKey('0f0', 'hex')).toThrow(/not valid hex/)
    expect(() => parseKey('AP8', 'base64')).toThrow(/not valid base64/)
    expect(formatKey(Buffer.from([0, 255]), 'hex')).toBe('00ff')
    expect(keyJson(Buffer.from([0xff]))).toEqual({ key: '/w==' })
    expect(keyJson(Buffer.from('a'))).toEqual({ key: 'YQ==', keyText: 'a' })
  })

  it('keeps a leading U+FEFF (byte order mark) in keyText', () => {
    // EF BB BF is U+FEFF in UTF-8: a key of its own, not a marker to drop.
    const key = Buffer.from([0xef, 0xbb, 0xbf, 0x6b])
    expect(keyJson(key).keyText).toBe('\uFEFFk')
  })
})

describe('progress', () => {
  it('formats durations', () => {
    expect(duration(5.4)).toBe('5s')
    expect(duration(65)).toBe('1m05s')
    expect(duration(3720)).toBe('1h02m')
    expect(duration(Number.NaN)).toBe('?')
  })
})
