// One round of the 64-writer `sync_writes: false` benchmark, in a fresh process (run by
// bench/run.mjs):
//   put.mjs string|bytes <ms>
// times 64 writers on a new SimpleKV growing from empty, then, in the same process, the no-op
// backend through @kv/core (and, with string keys, core's MemoryStore) with the same loop.
// Prints one JSON line.
//
// The store runs first in its own process, as in an application with one backend: V8 optimises
// @kv/core's shared methods for the backends it has met, and the same store timed after the
// no-op backend in one process made 406–452 k/s where it made 445–558 k/s first (4 alternating
// pairs of processes). The references run after it, so their figures are, if anything, low.
import {
  benchDir,
  concurrentFor,
  gc,
  keyNumber,
  keyStringOf,
  MemoryStore,
  NullStore,
  removeDir,
  SimpleKV,
  VALUE,
  writeKeyBytes,
} from './common.mjs'

const [kind, ms] = [process.argv[2], Number(process.argv[3])]
// Uint8Array keys: each writer fills its own 16 bytes for every call. The store copies a key
// before addValue returns, so the buffer may be reused once the call is awaited.
const keyBuffers = Array.from({ length: 64 }, () => new Uint8Array(16))
const keyAt =
  kind === 'string'
    ? (w, n) => keyStringOf(keyNumber(w, n))
    : (w, n) => writeKeyBytes(keyNumber(w, n), keyBuffers[w])

/** Opens `store`, times 64 writers on it, and closes it. */
async function writeFor(store, after = () => {}) {
  await store.open()
  gc()
  const rate = await concurrentFor(ms, 64, (w, n) => store.addValue('bench', keyAt(w, n), VALUE))
  const extra = after(store)
  await store.close()
  return { rate, ...extra }
}

const dir = benchDir('put-async')
const simple = await writeFor(
  new SimpleKV({ path: dir, sync_writes: false, snapshot_interval_seconds: 0 }),
  (store) => {
    const { entries, snapshot } = store.stats()
    return { entries, snapshots: snapshot }
  },
)
removeDir(dir)
const noop = await writeFor(new NullStore())
const memory = kind === 'string' ? await writeFor(new MemoryStore()) : undefined
console.log(JSON.stringify({ simple, noop: noop.rate, memory: memory?.rate }))
