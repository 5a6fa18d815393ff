/**
 * The engines under the store: classic-level (LevelDB) on disk, memory-level in `memory_mode`.
 * Both are loaded lazily, so importing the package loads neither, and memory mode never loads
 * LevelDB's native addon.
 *
 * @module
 */
import { CorruptStoreError, LockedError } from '@kv/core'
import type { ClassicLevel } from 'classic-level'
import type { BadgerConfig } from './config.js'

/**
 * A database with binary keys and values, as this package opens every one. memory-level has the
 * same surface except `approximateSize`, `compactRange` and `getProperty`, which are called only
 * when {@link Engine.inMemory} is false.
 */
export type LevelDb = ClassicLevel<Uint8Array, Uint8Array>

/** An open database and what kind it is. */
export interface Engine {
  db: LevelDb
  /** True for memory-level, whose reads return the very buffers it stores (copy them). */
  inMemory: boolean
}

const binary = { keyEncoding: 'view', valueEncoding: 'view' } as const

/** Opens a LevelDB at `location` with the options `config` maps to. */
export async function openClassic(location: string, config: BadgerConfig): Promise<Engine> {
  const { ClassicLevel } = await import('classic-level')
  const db = new ClassicLevel<Uint8Array, Uint8Array>(location, {
    ...binary,
    writeBufferSize: config.mem_table_size,
    compression: config.compression,
    cacheSize: config.cache_size,
  })
  try {
    await db.open()
  } catch (error) {
    throw openError(error, location)
  }
  return { db, inMemory: false }
}

/** Opens an empty memory-level database. */
export async function openMemory(): Promise<Engine> {
  const { MemoryLevel } = await import('memory-level')
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ ...binary, storeEncoding: 'view' })
  await db.open()
  return { db: db as unknown as LevelDb, inMemory: true }
}

interface LevelError {
  code?: unknown
  cause?: unknown
}

/** The `code` of a level error or of its cause (`open()` wraps the engine's error). */
function levelCodes(error: unknown): unknown[] {
  const codes: unknown[] = []
  for (
    let e = error as LevelError | undefined, depth = 0;
    e && depth < 4;
    e = e.cause as LevelError, depth++
  ) {
    codes.push(e.code)
  }
  return codes
}

/** Maps a failure to open LevelDB to a typed error: locked, corrupt, or the original error. */
export function openError(error: unknown, location: string): unknown {
  const codes = levelCodes(error)
  const cause = (error as LevelError).cause ?? error
  if (codes.includes('LEVEL_LOCKED')) {
    return new LockedError(
      `The LevelDB database at ${location} is locked by another process or another open store; close that one first, or give this store its own badger.path.`,
      { cause },
    )
  }
  if (codes.includes('LEVEL_CORRUPTION')) {
    return new CorruptStoreError(
      `The LevelDB database at ${location} is corrupt (${(cause as Error).message}); restore it from a backup, or repair it with ClassicLevel.repair() and check what it recovered.`,
      { cause, file: location },
    )
  }
  return error
}
