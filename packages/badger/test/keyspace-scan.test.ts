/**
 * Single-bucket mode reads many buckets with one LevelDB iterator: `buckets()` one per page of
 * buckets, `stats()` one for the whole keyspace. Counted at the classic-level boundary (every
 * iterator, `keys()` ones included, is made by `ClassicLevel.prototype._iterator`), not timed.
 */
import { randomBytes } from 'node:crypto'
import { ClassicLevel } from 'classic-level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BadgerKV } from '../src/index.js'
import { removeDir, tempDir } from './helpers/temp.js'

type Proto = Record<string, (...args: unknown[]) => unknown>
type Iter = { nextv: (size: number) => Promise<unknown[]> }

/** Counts the iterators made, the entries they return and the size estimates asked for. */
function countLevelDb(): { iterators: number; read: number; estimates: number; restore(): void } {
  const proto = ClassicLevel.prototype as unknown as Proto
  const iterator = proto._iterator!
  const approximateSize = proto.approximateSize!
  const counts = {
    iterators: 0,
    read: 0,
    estimates: 0,
    restore() {
      proto._iterator = iterator
      proto.approximateSize = approximateSize
    },
  }
  proto._iterator = function (this: unknown, ...args: unknown[]) {
    counts.iterators++
    const it = iterator.apply(this, args) as Iter
    const nextv = it.nextv.bind(it)
    it.nextv = async (size) => {
      const page = await nextv(size)
      counts.read += page.length
      return page
    }
    return it
  }
  proto.approximateSize = function (this: unknown, ...args: unknown[]) {
    counts.estimates++
    return approximateSize.apply(this, args)
  }
  return counts
}

async function collect(names: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const name of names) out.push(name)
  return out
}

/** The oracle's order: ascending UTF-8 bytes. */
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))

describe('single_bucket_mode: buckets() and stats() over many buckets', () => {
  const SMALL = 300
  const BIG_KEYS = 2000
  // Same-length names, so that equal entries weigh the same; plus names that stress the prefix
  // test: one a prefix of another, NUL inside, and the big bucket among the small ones.
  const small = [
    ...Array.from({ length: SMALL }, (_, i) => `s-${String(i).padStart(4, '0')}`),
    'p',
    'p\u0000',
    'pq',
  ]
  const big = 's-0150-big'
  const expected = [...small, big].sort(byBytes)
  let path: string
  let store: BadgerKV
  beforeEach(async () => {
    path = await tempDir('keyspace-scan')
    const options = { path, value_log_gc_enabled: false }
    const writer = new BadgerKV(options)
    await writer.open()
    for (const name of small) await writer.addValue(name, 'k', randomBytes(100))
    await writer.addValues(
      big,
      Array.from(
        { length: BIG_KEYS },
        (_, i) => [`k${String(i).padStart(5, '0')}`, randomBytes(200)] as const,
      ),
    )
    await writer.close()
    // Reopened: LevelDB writes its log into a table at open, where size estimates see it.
    store = new BadgerKV(options)
    await store.open()
  })
  afterEach(async () => {
    await store.close()
    await removeDir(path)
  })

  it('buckets() lists every bucket with one iterator per page, skipping the keys of a large bucket', async () => {
    const counts = countLevelDb()
    let listed: string[]
    try {
      listed = await collect(store.buckets())
    } finally {
      counts.restore()
    }
    expect(listed).toEqual(expected)
    // 304 buckets: pages of 64, 128 and 256 (an iterator per bucket made 305).
    expect(counts.iterators).toBeLessThanOrEqual(3)
    // The big bucket's 2,000 keys are skipped by a seek, not read.
    expect(counts.read).toBeLessThan(SMALL + 200)
  })

  it('buckets() sees buckets created or emptied after its first page from the next page on', async () => {
    const listing = store.buckets()[Symbol.asyncIterator]()
    const first = await listing.next()
    expect(first.value).toBe(expected[0])
    // The first page (64 buckets) is read: these are past it.
    await store.addValue('z-new', 'k', 'v')
    await store.deleteBucket('s-0299')
    const rest: string[] = []
    for (let next = await listing.next(); !next.done; next = await listing.next()) {
      rest.push(next.value)
    }
    expect([first.value, ...rest]).toEqual(
      [...expected.filter((name) => name !== 's-0299'), 'z-new'].sort(byBytes),
    )
  })

  it('stats() reads the keyspace with one iterator and a few size estimates, figures per bucket', async () => {
    const counts = countLevelDb()
    let stats: Awaited<ReturnType<BadgerKV['stats']>>
    try {
      stats = await store.stats({ top: 3 })
    } finally {
      counts.restore()
    }
    expect(counts.iterators).toBe(1)
    // The big bucket's own estimate, and one for each run of small buckets around it (an
    // estimate per bucket asked for 304).
    expect(counts.estimates).toBeLessThanOrEqual(3)
    expect(stats.buckets.map((b) => b.bucket)).toEqual(expected)
    for (const b of stats.buckets) {
      if (b.bucket === big) {
        expect(b).toMatchObject({
          keys: BIG_KEYS,
          keyBytes: BIG_KEYS * 6,
          valueBytes: BIG_KEYS * 200,
        })
        // Random values do not compress: the tables hold at least most of them.
        expect(b.approximateDiskBytes).toBeGreaterThan(BIG_KEYS * 200 * 0.8)
      } else {
        expect(b).toMatchObject({ keys: 1, keyBytes: 1, valueBytes: 100 })
        expect(Number.isInteger(b.approximateDiskBytes)).toBe(true)
      }
    }
    // The small buckets after the big one (equal names and values: equal weights) share one
    // estimate equally, to the rounding; 149 values of 100 random bytes fill several 4 KiB
    // blocks, so that estimate is not 0 and each gets a part of it.
    const after = stats.buckets.filter((b) => /^s-\d{4}$/.test(b.bucket) && b.bucket > big)
    expect(after).toHaveLength(149)
    const shares = after.map((b) => b.approximateDiskBytes!)
    expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1)
    expect(Math.min(...shares)).toBeGreaterThan(0)
    expect(stats.topKeys.map((t) => t.bucket)).toEqual([big, big, big])
    expect(stats.totalKeys).toBe(small.length + BIG_KEYS)
  })
})
