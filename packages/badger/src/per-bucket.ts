/**
 * Per-bucket mode (`single_bucket_mode: false`): one LevelDB per bucket.
 *
 * On disk, under `path`:
 * - `meta/`: a small LevelDB that holds the store's lock, so a second process fails at `open()`
 *   rather than at its first write to a bucket;
 * - `buckets/<dir>/name`: the bucket's name in UTF-8, `<dir>` derived from it by
 *   {@link bucketDirName}; `buckets/<dir>/db/`: the bucket's LevelDB;
 * - `trash/`: deleted buckets on their way out (emptied at open).
 *
 * A bucket's directory is created on its first write: the name file first (written to a temporary
 * file and renamed), the database second, so a directory without a name file never holds data and
 * is removed at the next open. `deleteBucket` closes the bucket's database and renames its
 * directory into `trash/` (atomic: after a crash the bucket is either whole or gone), then
 * removes it.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { compareBytes, type Entry, fromUtf8, utf8 } from '@kv/core'
import { bucketDirName, isBucketDirName } from './bucket-dir.js'
import type { BadgerConfig } from './config.js'
import { type Engine, openClassic } from './engine.js'
import type { Layout } from './layout.js'
import { Partition } from './partition.js'
import { type BucketStats, scanRange, type TopKeys } from './stats.js'
import { WriteQueue } from './write-queue.js'

const NAME_FILE = 'name'

/** Above every key (keys are at most 64 KiB): with an empty start, the whole database. */
let wholeEnd: Uint8Array | undefined
const whole = (): [Uint8Array, Uint8Array] => [
  new Uint8Array(0),
  (wholeEnd ??= new Uint8Array(64 * 1024 + 1).fill(0xff)),
]

interface Bucket {
  name: string
  dir: string
  /** closed: on disk, database not open; busy: being opened, created or deleted (see `ready`). */
  state: 'closed' | 'busy' | 'open' | 'deleted'
  ready: Promise<void>
  engine?: Engine
  queue?: WriteQueue
  partition?: Partition
}

/** Fsyncs a file or directory. */
async function fsync(path: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** One LevelDB per bucket, each in its own directory. */
export class PerBucket implements Layout {
  readonly #path: string
  readonly #config: BadgerConfig
  readonly #meta: Engine
  readonly #buckets = new Map<string, Bucket>()

  private constructor(path: string, config: BadgerConfig, meta: Engine) {
    this.#path = path
    this.#config = config
    this.#meta = meta
  }

  /** Opens the store at `path`: takes the lock, empties the trash, finds the buckets. */
  static async open(path: string, config: BadgerConfig): Promise<PerBucket> {
    await mkdir(join(path, 'buckets'), { recursive: true })
    const meta = await openClassic(join(path, 'meta'), {
      ...config,
      mem_table_size: 64 * 1024,
      cache_size: 0,
    })
    try {
      const layout = new PerBucket(path, config, meta)
      await rm(join(path, 'trash'), { recursive: true, force: true })
      await layout.#scan()
      return layout
    } catch (error) {
      await meta.db.close()
      throw error
    }
  }

  async #scan(): Promise<void> {
    const root = join(this.#path, 'buckets')
    for (const dir of await readdir(root)) {
      if (!isBucketDirName(dir)) continue
      let bytes: Buffer
      try {
        bytes = await readFile(join(root, dir, NAME_FILE))
      } catch (error) {
        // Created but never named: interrupted before its database existed, so it holds nothing.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          await rm(join(root, dir), { recursive: true, force: true })
          continue
        }
        throw error
      }
      let name: string
      try {
        name = fromUtf8(bytes)
      } catch {
        continue
      }
      // A name file that does not derive back to its directory was not written by us: skip it.
      if (bucketDirName(name) !== dir) continue
      this.#buckets.set(name, {
        name,
        dir: join(root, dir),
        state: 'closed',
        ready: Promise.resolve(),
      })
    }
  }

  // ---- finding a bucket's database --------------------------------------------------------

  /** The open partition of `bucket`, or a promise of it; `undefined` when it does not exist. */
  #lookup(bucket: string, create: boolean): Partition | undefined | Promise<Partition | undefined> {
    const entry = this.#buckets.get(bucket)
    if (entry?.state === 'open') return entry.partition
    if (entry === undefined && !create) return undefined
    return this.#lookupSlow(bucket, create)
  }

  async #lookupSlow(bucket: string, create: boolean): Promise<Partition | undefined> {
    for (;;) {
      const entry = this.#buckets.get(bucket)
      if (entry === undefined) {
        if (!create) return undefined
        await this.#transition(this.#newEntry(bucket), (e) => this.#create(e))
      } else if (entry.state === 'open') {
        return entry.partition
      } else if (entry.state === 'closed') {
        await this.#transition(entry, (e) => this.#openEntry(e))
      } else {
        await entry.ready.catch(() => {})
      }
    }
  }

  #newEntry(name: string): Bucket {
    const entry: Bucket = {
      name,
      dir: join(this.#path, 'buckets', bucketDirName(name)),
      state: 'closed',
      ready: Promise.resolve(),
    }
    this.#buckets.set(name, entry)
    return entry
  }

  /** Runs `change` with the entry marked busy; other operations on the bucket wait for it. */
  #transition(entry: Bucket, change: (entry: Bucket) => Promise<void>): Promise<void> {
    entry.state = 'busy'
    entry.ready = change(entry)
    return entry.ready
  }

  async #create(entry: Bucket): Promise<void> {
    try {
      await mkdir(entry.dir, { recursive: true })
      const temp = join(entry.dir, `${NAME_FILE}.tmp`)
      await writeFile(temp, utf8(entry.name), { flush: this.#config.sync_writes })
      await rename(temp, join(entry.dir, NAME_FILE))
      if (this.#config.sync_writes) {
        await fsync(entry.dir)
        await fsync(join(this.#path, 'buckets'))
      }
    } catch (error) {
      this.#buckets.delete(entry.name)
      throw error
    }
    await this.#openEntry(entry)
  }

  async #openEntry(entry: Bucket): Promise<void> {
    try {
      const engine = await openClassic(join(entry.dir, 'db'), this.#config)
      const queue = new WriteQueue(engine.db, { sync: this.#config.sync_writes, copy: false })
      entry.engine = engine
      entry.queue = queue
      entry.partition = new Partition(
        { db: engine.db, queue, inMemory: false, syncReads: this.#config.sync_reads },
        undefined,
      )
      entry.state = 'open'
    } catch (error) {
      entry.state = 'closed'
      throw error
    }
  }

  /** Writes what is queued for the bucket and closes its database. */
  async #closeEntry(entry: Bucket): Promise<void> {
    if (entry.engine === undefined) return
    await entry.queue!.drain()
    await entry.engine.db.close()
    entry.engine = undefined
    entry.queue = undefined
    entry.partition = undefined
  }

  // ---- operations -------------------------------------------------------------------------

  get(bucket: string, key: Uint8Array) {
    const found = this.#lookup(bucket, false)
    if (found === undefined) return null
    if (found instanceof Promise) {
      // The database is being opened: keep a copy of the key until it is.
      const k = key.slice()
      return found.then((p) => (p === undefined ? null : p.get(k)))
    }
    return found.get(key)
  }

  has(bucket: string, key: Uint8Array) {
    const found = this.#lookup(bucket, false)
    if (found === undefined) return false
    if (found instanceof Promise) {
      const k = key.slice()
      return found.then((p) => (p === undefined ? false : p.has(k)))
    }
    return found.has(key)
  }

  put(bucket: string, key: Uint8Array, value: Uint8Array): Promise<void> {
    const found = this.#lookup(bucket, true)
    if (found instanceof Promise) {
      // The database is being opened: keep our own copies until it is.
      const k = key.slice()
      const v = value.slice()
      return found.then((p) => p!.put(k, v))
    }
    return found!.put(key, value)
  }

  putMany(bucket: string, entries: readonly Entry[]): Promise<void> {
    const found = this.#lookup(bucket, true)
    if (found instanceof Promise) {
      const copies = entries.map(([key, value]): Entry => [key.slice(), value.slice()])
      return found.then((p) => p!.putMany(copies))
    }
    return found!.putMany(entries)
  }

  del(bucket: string, key: Uint8Array): Promise<void> {
    const found = this.#lookup(bucket, false)
    if (found === undefined) return Promise.resolve()
    if (found instanceof Promise) {
      const k = key.slice()
      return found.then((p) => p?.del(k))
    }
    return found.del(key)
  }

  deleteBucket(bucket: string): Promise<void> {
    const entry = this.#buckets.get(bucket)
    if (entry === undefined) return Promise.resolve()
    if (entry.state === 'busy') {
      // Let the opening or deletion in progress finish, then decide again.
      return entry.ready.catch(() => {}).then(() => this.deleteBucket(bucket))
    }
    return this.#transition(entry, (e) => this.#delete(e))
  }

  async #delete(entry: Bucket): Promise<void> {
    try {
      await this.#closeEntry(entry)
    } catch (error) {
      entry.state = 'closed'
      throw error
    }
    await this.#remove(entry)
  }

  /** Moves the closed bucket's directory into the trash, forgets it, and empties the trash. */
  async #remove(entry: Bucket): Promise<void> {
    const trash = join(this.#path, 'trash')
    const doomed = join(trash, randomUUID())
    await mkdir(trash, { recursive: true })
    try {
      await rename(entry.dir, doomed)
    } catch (error) {
      entry.state = 'closed'
      throw error
    }
    entry.state = 'deleted'
    this.#buckets.delete(entry.name)
    if (this.#config.sync_writes) await fsync(join(this.#path, 'buckets'))
    await rm(doomed, { recursive: true, force: true })
  }

  /**
   * Compacts the bucket's database; when the bucket turns out empty, removes its directory
   * instead (puts and their deletes flushed into one table stay there until LevelDB compacts
   * that level, so an emptied database may not shrink otherwise). The emptiness is checked with
   * the bucket's writes drained and new ones held back, so no write is lost.
   */
  async compact(bucket: string): Promise<void> {
    const entry = this.#buckets.get(bucket)
    if (entry?.state !== 'open') return
    await entry.engine!.db.compactRange(...whole())
    if (entry.state !== 'open' || !(await entry.partition!.isEmpty())) return
    await this.#transition(entry, async (e) => {
      await e.queue!.drain()
      if (!(await e.partition!.isEmpty())) {
        e.state = 'open'
        return
      }
      await this.#delete(e)
    })
  }

  async *keys(
    bucket: string,
    prefix: Uint8Array | undefined,
    limit: number,
  ): AsyncGenerator<Uint8Array> {
    const partition = await this.#lookup(bucket, false)
    if (partition === undefined) return
    const entry = this.#buckets.get(bucket)
    try {
      yield* partition.keys(prefix, limit)
    } catch (error) {
      // The bucket was deleted while we listed it: its database closed under us; the listing ends.
      if (entry?.state === 'deleted' || this.#buckets.get(bucket) !== entry) return
      throw error
    }
  }

  /** The non-empty buckets, in ascending order of their UTF-8 bytes. */
  async *buckets(): AsyncGenerator<string> {
    const names = [...this.#buckets.keys()]
      .map((name) => ({ name, bytes: utf8(name) }))
      .sort((a, b) => compareBytes(a.bytes, b.bytes))
    for (const { name } of names) {
      const partition = await this.#lookup(name, false)
      if (partition !== undefined && !(await partition.isEmpty())) yield name
    }
  }

  async stats(top: TopKeys): Promise<BucketStats[]> {
    const result: BucketStats[] = []
    for await (const bucket of this.buckets()) {
      const entry = this.#buckets.get(bucket)
      if (entry?.state !== 'open') continue
      const db = entry.engine!.db
      const counts = await scanRange(db, { gte: new Uint8Array(0) }, 0, bucket, top)
      const approximateDiskBytes = await db.approximateSize(...whole())
      result.push({ bucket, ...counts, approximateDiskBytes })
    }
    return result
  }

  async close(): Promise<void> {
    const errors: unknown[] = []
    for (const entry of this.#buckets.values()) {
      await entry.ready.catch(() => {})
      await this.#closeEntry(entry).catch((error: unknown) => errors.push(error))
      if (entry.state === 'open') entry.state = 'closed'
    }
    this.#buckets.clear()
    await this.#meta.db.close()
    if (errors.length > 0) throw errors[0]
  }
}
