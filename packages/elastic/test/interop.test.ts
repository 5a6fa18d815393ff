/**
 * Go INFINI framework interoperability (SPEC §6): under `id_scheme: infini` every entry of the
 * fixture is written with exactly the Go framework's `_id` and `content`; documents inserted raw,
 * as the Go framework writes them (only `content`), read back; the colliding pair behaves as the
 * README says, in issue order with deleteBucket() of either entry's bucket (also against a
 * seeded random model); an index created by the Go framework (mapping only `content`) is adopted;
 * an index written under both schemes lists each key once.
 */
import { readFileSync } from 'node:fs'
import type { Client } from '@elastic/elasticsearch'
import { isKVError } from '@kv/core'
import { type Standin, startStandin } from '@kv/es-standin'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ElasticKV, IdCollisionError } from '../src/index.js'
import { type Proxy as FaultProxy, forward } from './proxy.js'
import { adminClient, collect, freshIndexName, signal, withStoreBehindProxy } from './targets.js'

interface Line {
  _id: string
  bucket: string
  key: string
  value: string
  content: string
}

const lines: Line[] = readFileSync(
  new URL('./fixtures/infini-documents.jsonl', import.meta.url),
  'utf8',
)
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as Line)
const b64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'))
const collidingIds = new Set(
  lines.map((line) => line._id).filter((id, i, all) => all.indexOf(id) !== i),
)

let standin: Standin
let admin: Client

beforeAll(async () => {
  standin = await startStandin()
  admin = adminClient({ endpoint: standin.url })
})

afterAll(async () => {
  await admin.close()
  await standin.close()
})

const openStore = async (index: string, scheme: 'infini' | 'default' = 'infini') => {
  const store = new ElasticKV({ endpoint: standin.url, index_name: index, id_scheme: scheme })
  await store.open()
  return store
}

describe('id_scheme: infini writes the Go framework documents', () => {
  it('has the fixture, including one colliding pair', () => {
    expect(lines.length).toBeGreaterThanOrEqual(10)
    expect(collidingIds.size).toBe(1)
  })

  for (const line of lines) {
    const label = `bucket ${JSON.stringify(line.bucket)} key ${line.key || '(empty)'} → _id ${line._id}`
    it(label, async () => {
      const index = freshIndexName('interop')
      const store = await openStore(index)
      try {
        await store.addValue(line.bucket, b64(line.key), b64(line.value))
        const stored = await admin.get<{ content: string; bucket: string }>({ index, id: line._id })
        expect(stored._id).toBe(line._id)
        expect(stored._source?.content).toBe(line.content)
        expect(stored._source?.bucket).toBe(line.bucket)
        expect(await store.getValue(line.bucket, b64(line.key))).toEqual(b64(line.value))
      } finally {
        await store.close()
      }
    })
  }
})

describe('documents written by the Go framework read back', () => {
  it('reads every fixture document inserted raw with only content, by id', async () => {
    const index = freshIndexName('raw')
    // The Go framework's own mapping: content binary without doc values, nothing else.
    await admin.indices.create({
      index,
      mappings: { properties: { content: { type: 'binary', doc_values: false } } },
    })
    const unique = lines.filter((line) => !collidingIds.has(line._id))
    await admin.bulk({
      refresh: true,
      operations: unique.flatMap((line) => [
        { index: { _index: index, _id: line._id } },
        { content: line.content },
      ]),
    })
    const store = await openStore(index)
    try {
      for (const line of unique) {
        expect(await store.getValue(line.bucket, b64(line.key)), line._id).toEqual(b64(line.value))
        expect(await store.existsKey(line.bucket, b64(line.key))).toBe(true)
      }
      // The store adopted the Go index: it added its keyword fields to the mapping.
      const mapping = await admin.indices.getMapping({ index })
      expect(mapping[index]?.mappings.properties?.bucket).toEqual({ type: 'keyword' })
      // A raw document is not listed (it names no bucket) but can be overwritten and deleted.
      const [first] = unique
      await store.addValue(first!.bucket, b64(first!.key), 'from node')
      expect(await store.getValue(first!.bucket, b64(first!.key))).toEqual(
        new TextEncoder().encode('from node'),
      )
      await store.deleteKey(first!.bucket, b64(first!.key))
      expect(await store.getValue(first!.bucket, b64(first!.key))).toBeNull()
    } finally {
      await store.close()
    }
  })

  it('does not read a raw Go document under id_scheme: default (different ids)', async () => {
    const index = freshIndexName('raw-default')
    const [line] = lines
    const store = await openStore(index, 'default')
    try {
      await admin.index({
        index,
        id: line!._id,
        document: { content: line!.content },
        refresh: true,
      })
      expect(await store.getValue(line!.bucket, b64(line!.key))).toBeNull()
    } finally {
      await store.close()
    }
  })
})

describe('the colliding pair (bucket "a_b" key "c", bucket "a" key "b_c")', () => {
  const pair = lines.filter((line) => collidingIds.has(line._id))
  const [first, second] = pair as [Line, Line]

  it('keeps the first entry and refuses the second write with KV_NOT_SUPPORTED', async () => {
    const store = await openStore(freshIndexName('collide'))
    try {
      await store.addValue(first.bucket, b64(first.key), b64(first.value))
      const error = await store
        .addValue(second.bucket, b64(second.key), b64(second.value))
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(IdCollisionError)
      expect(isKVError(error, 'KV_NOT_SUPPORTED')).toBe(true)
      expect((error as IdCollisionError).existingBucket).toBe(first.bucket)
      expect((error as IdCollisionError).existingKey).toEqual(b64(first.key))
      expect((error as Error).message).toContain(first._id)
      // The other key reads as missing, never as the first entry's value.
      expect(await store.getValue(second.bucket, b64(second.key))).toBeNull()
      expect(await store.existsKey(second.bucket, b64(second.key))).toBe(false)
      // Deleting it deletes nothing.
      await store.deleteKey(second.bucket, b64(second.key))
      expect(await store.getValue(first.bucket, b64(first.key))).toEqual(b64(first.value))
      // Once the first is deleted, the second can be written.
      await store.deleteKey(first.bucket, b64(first.key))
      await store.addValue(second.bucket, b64(second.key), b64(second.value))
      expect(await store.getValue(second.bucket, b64(second.key))).toEqual(b64(second.value))
      expect(await store.getValue(first.bucket, b64(first.key))).toBeNull()
    } finally {
      await store.close()
    }
  })

  it('refuses only the colliding write of a coalesced batch', async () => {
    const store = await openStore(freshIndexName('collide-batch'))
    try {
      await store.addValue(first.bucket, b64(first.key), b64(first.value))
      standinCounts.reset()
      const results = await Promise.allSettled([
        store.addValue('x', 'one', '1'),
        store.addValue(second.bucket, b64(second.key), b64(second.value)),
        store.addValue('x', 'two', '2'),
      ])
      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
      expect(await store.getValue('x', 'two')).toEqual(new TextEncoder().encode('2'))
      expect(standinCounts.get().total).toBeLessThanOrEqual(3)
    } finally {
      await store.close()
    }
  })

  // Issue order with deleteBucket() (README, "collisions" and "Consistency"): an entry whose
  // bucket is being deleted by a deleteBucket() issued before a write is gone in issue order, so
  // it does not make the write a collision; a deleteBucket() issued after the write does not
  // make room for it.
  const firstBytes = [first.bucket, b64(first.key), b64(first.value)] as const
  const secondBytes = [second.bucket, b64(second.key), b64(second.value)] as const

  it('writes the other key in the same turn as deleteBucket() of the stored entry', async () => {
    const store = await openStore(freshIndexName('collide-delete-bucket'))
    try {
      await store.addValue(...firstBytes)
      const deleting = store.deleteBucket(first.bucket)
      const writing = store.addValue(...secondBytes)
      // Issued after the deletion too: a delete of the deleted key deletes nothing of the other.
      const deletingKey = store.deleteKey(first.bucket, b64(first.key))
      await Promise.all([deleting, writing, deletingKey])
      expect(await store.getValue(second.bucket, b64(second.key))).toEqual(b64(second.value))
      expect(await store.getValue(first.bucket, b64(first.key))).toBeNull()
    } finally {
      await store.close()
    }
  })

  it('writes the other key a turn after deleteBucket() of the stored entry, while it runs', async () => {
    await throughProxy(async (store, proxy) => {
      await store.addValue(...firstBytes)
      const read = signal()
      // deleteBucket() is held at its refresh until the write has read the document (the stored
      // entry still there): the write must wait for the deletion, not refuse.
      proxy.intercept = async (req) => {
        const path = req.url.split('?')[0]!
        if (path.endsWith('/_mget')) {
          const answer = await forward(standin.url, req)
          read.open()
          return answer
        }
        if (path.endsWith('/_refresh')) {
          await read.promise
          return forward(standin.url, req)
        }
        return undefined
      }
      const deleting = store.deleteBucket(first.bucket)
      await new Promise(setImmediate)
      const writing = store.addValue(...secondBytes)
      await Promise.all([deleting, writing])
      proxy.intercept = undefined
      expect(await store.getValue(second.bucket, b64(second.key))).toEqual(b64(second.value))
      expect(await store.getValue(first.bucket, b64(first.key))).toBeNull()
    })
  })

  it('refuses the other key when deleteBucket() of the stored entry is issued after the write', async () => {
    await throughProxy(async (store, proxy) => {
      await store.addValue(...firstBytes)
      const settled = signal()
      // deleteBucket() is held at its refresh until the write has settled: the write must not
      // wait for a deletion issued after it.
      proxy.intercept = async (req) => {
        if (!req.url.split('?')[0]!.endsWith('/_refresh')) return undefined
        await settled.promise
        return forward(standin.url, req)
      }
      const writing = store.addValue(...secondBytes)
      const deleting = store.deleteBucket(first.bucket)
      const error = await writing.catch((e: unknown) => e)
      settled.open()
      await deleting
      proxy.intercept = undefined
      // When the write was issued, the id belonged to the stored entry.
      expect(error).toBeInstanceOf(IdCollisionError)
      expect((error as IdCollisionError).existingBucket).toBe(first.bucket)
      expect(await store.getValue(first.bucket, b64(first.key))).toBeNull()
      expect(await store.getValue(second.bucket, b64(second.key))).toBeNull()
    })
  })

  it('a write between two deleteBucket() calls waits only for the first, and the second keeps it', async () => {
    await throughProxy(async (store, proxy) => {
      await store.addValue(...firstBytes)
      const settled = signal()
      let refreshes = 0
      // The second deleteBucket() is held at its refresh until the write has settled.
      proxy.intercept = async (req) => {
        if (!req.url.split('?')[0]!.endsWith('/_refresh')) return undefined
        if (++refreshes === 1) return undefined
        await settled.promise
        return forward(standin.url, req)
      }
      const deletingFirst = store.deleteBucket(first.bucket)
      const writing = store.addValue(...secondBytes)
      const deletingSecond = store.deleteBucket(first.bucket)
      await writing.finally(settled.open)
      await Promise.all([deletingFirst, deletingSecond])
      proxy.intercept = undefined
      expect(await store.getValue(second.bucket, b64(second.key))).toEqual(b64(second.value))
      expect(await store.getValue(first.bucket, b64(first.key))).toBeNull()
    })
  })

  it('keeps issue order between colliding writes when one waits for deleteBucket() of its bucket', async () => {
    const store = await openStore(freshIndexName('collide-gated'))
    try {
      // The write of the first entry waits for the deletion of its bucket; the write of the
      // second, issued after it, comes after it and finds the id taken (not the other way round).
      const deleting = store.deleteBucket(first.bucket)
      const results = await Promise.allSettled([
        store.addValue(...firstBytes),
        store.addValue(...secondBytes),
      ])
      await deleting
      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected'])
      expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(IdCollisionError)
      expect(await store.getValue(first.bucket, b64(first.key))).toEqual(b64(first.value))
      // With a second deletion of the bucket issued between them, the first entry is deleted
      // again before the second is written.
      const deletingAgain = store.deleteBucket(first.bucket)
      const rewritingFirst = store.addValue(...firstBytes)
      const deletingLast = store.deleteBucket(first.bucket)
      const writingSecond = store.addValue(...secondBytes)
      await Promise.all([deletingAgain, rewritingFirst, deletingLast, writingSecond])
      expect(await store.getValue(first.bucket, b64(first.key))).toBeNull()
      expect(await store.getValue(second.bucket, b64(second.key))).toEqual(b64(second.value))
    } finally {
      await store.close()
    }
  })

  // deleteBucket() issued after a write of the other bucket waits for it, even when that write
  // is still queued (behind a deletion of its own bucket, or behind another write of its id):
  // the write meets the entry and is refused, never finds the id freed by a later deletion.
  it('refuses a write queued behind deleteBucket() of its bucket when the stored entry is deleted after it', async () => {
    const store = await openStore(freshIndexName('collide-queued-gate'))
    try {
      await store.addValue(...firstBytes)
      // Issue order: the second's bucket is deleted (nothing there), the second is written and
      // meets the first (refused), then the first's bucket is deleted.
      const results = await settledWithin(
        [
          store.deleteBucket(second.bucket),
          store.addValue(...secondBytes),
          store.deleteBucket(first.bucket),
        ],
        'deleteBucket, addValue, deleteBucket',
      )
      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
      expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(IdCollisionError)
      expect(await store.getValue(second.bucket, b64(second.key))).toBeNull()
      expect(await store.getValue(first.bucket, b64(first.key))).toBeNull()
    } finally {
      await store.close()
    }
  })

  it('refuses both writes of a key queued one behind the other when the stored entry is deleted after them', async () => {
    const store = await openStore(freshIndexName('collide-queued-id'))
    try {
      await store.addValue(...secondBytes)
      // Issue order: both writes of the first key meet the second's entry (both refused), then
      // the second's bucket is deleted; nothing of the first key is left.
      const results = await settledWithin(
        [
          store.addValue(first.bucket, b64(first.key), 'x1'),
          store.addValue(first.bucket, b64(first.key), 'x2'),
          store.deleteBucket(second.bucket),
        ],
        'addValue, addValue, deleteBucket',
      )
      expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'fulfilled'])
      for (const result of results.slice(0, 2)) {
        expect((result as PromiseRejectedResult).reason).toBeInstanceOf(IdCollisionError)
      }
      expect(await store.getValue(first.bucket, b64(first.key))).toBeNull()
      expect(await store.getValue(second.bucket, b64(second.key))).toBeNull()
    } finally {
      await store.close()
    }
  })

  it('matches an issue-order model over seeded random writes, deletes and deleteBucket() calls', async () => {
    // Two colliding pairs over the two buckets; each round issues a few calls, some in one turn,
    // some a turn apart, and compares each call's outcome and the final entries with the model:
    // the calls applied one at a time in issue order.
    const keys = [
      [first.bucket, b64(first.key)],
      [second.bucket, b64(second.key)],
      [first.bucket, Buffer.from('d')],
      [second.bucket, Buffer.from('b_d')],
    ] as const
    const buckets = [first.bucket, second.bucket]
    type Held = { bucket: string; key: Uint8Array; value: string }
    const idOf = (bucket: string, key: Uint8Array) => `${bucket}_${Buffer.from(key).toString()}`
    const owns = (held: Held, bucket: string, key: Uint8Array) =>
      held.bucket === bucket && Buffer.from(held.key).equals(key)
    let seed = 20_261_126
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff
      return seed / 0x80000000
    }
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
    const store = await openStore(freshIndexName('collide-model'))
    const mismatches: string[] = []
    try {
      for (let round = 0; round < 24; round++) {
        for (const bucket of buckets) await store.deleteBucket(bucket)
        // Document id → the entry holding it, after the calls issued so far.
        const model = new Map<string, Held>()
        const calls: { what: string; result: Promise<unknown>; expected: string }[] = []
        const count = 4 + Math.floor(random() * 6)
        for (let i = 0; i < count; i++) {
          const choice = random()
          if (choice < 0.5) {
            const [bucket, key] = pick(keys)
            const value = `v${round}.${i}`
            const held = model.get(idOf(bucket, key))
            const collides = held !== undefined && !owns(held, bucket, key)
            if (!collides) model.set(idOf(bucket, key), { bucket, key, value })
            calls.push({
              what: `addValue ${bucket}/${Buffer.from(key)}=${value}`,
              result: store.addValue(bucket, key, value),
              expected: collides ? 'collision' : 'ok',
            })
          } else if (choice < 0.7) {
            const [bucket, key] = pick(keys)
            const held = model.get(idOf(bucket, key))
            if (held !== undefined && owns(held, bucket, key)) model.delete(idOf(bucket, key))
            calls.push({
              what: `deleteKey ${bucket}/${Buffer.from(key)}`,
              result: store.deleteKey(bucket, key),
              expected: 'ok',
            })
          } else {
            const bucket = pick(buckets)
            for (const [id, held] of model) if (held.bucket === bucket) model.delete(id)
            calls.push({
              what: `deleteBucket ${bucket}`,
              result: store.deleteBucket(bucket),
              expected: 'ok',
            })
          }
          if (random() < 0.3) await new Promise(setImmediate)
        }
        const results = await settledWithin(
          calls.map((call) => call.result),
          `round ${round}`,
        )
        const outcomes = results.map((result) =>
          result.status === 'fulfilled'
            ? 'ok'
            : result.reason instanceof IdCollisionError
              ? 'collision'
              : String(result.reason),
        )
        const problems: string[] = []
        for (const [i, call] of calls.entries()) {
          if (outcomes[i] !== call.expected) {
            problems.push(`${call.what}: ${outcomes[i]}, expected ${call.expected}`)
          }
        }
        for (const [bucket, key] of keys) {
          const stored = await store.getValue(bucket, key)
          const held = model.get(idOf(bucket, key))
          const expected = held !== undefined && owns(held, bucket, key) ? held.value : null
          const got = stored === null ? null : Buffer.from(stored).toString()
          if (got !== expected)
            problems.push(`${bucket}/${Buffer.from(key)} = ${got}, expected ${expected}`)
        }
        if (problems.length > 0) {
          mismatches.push(
            `round ${round} [${calls.map((call) => call.what).join('; ')}]: ${problems.join('; ')}`,
          )
        }
      }
    } finally {
      await store.close()
    }
    expect(mismatches).toEqual([])
  })

  it('under id_scheme: default both entries coexist', async () => {
    const store = await openStore(freshIndexName('collide-default'), 'default')
    try {
      for (const line of pair) await store.addValue(line.bucket, b64(line.key), b64(line.value))
      for (const line of pair)
        expect(await store.getValue(line.bucket, b64(line.key))).toEqual(b64(line.value))
    } finally {
      await store.close()
    }
  })
})

describe('one index written under both id schemes', () => {
  // The two schemes give one (bucket, key) different ids, so each store keeps its own document.
  const writeBoth = async (index: string) => {
    const stores = [await openStore(index, 'default'), await openStore(index, 'infini')]
    try {
      for (const [i, store] of stores.entries()) {
        await store.addValue('s', 'a', `a${i}`)
        await store.addValue('s', 'k', `k${i}`)
      }
      await stores[0]!.addValue('s', 'z', 'z')
    } finally {
      for (const store of stores) await store.close()
    }
  }

  it('lists each key once', async () => {
    const index = freshIndexName('mixed')
    await writeBoth(index)
    const store = await openStore(index, 'default')
    try {
      const listed = (await collect(store.keys('s'))).map((key) => Buffer.from(key).toString())
      expect(listed).toEqual(['a', 'k', 'z'])
      // Both documents are there: the raw search sees two for each key written twice.
      await admin.indices.refresh({ index })
      expect((await admin.count({ index, query: { term: { bucket: 's' } } })).count).toBe(5)
      // Each store reads only its own scheme's document (as the README says).
      expect(await store.getValue('s', 'k')).toEqual(new TextEncoder().encode('k0'))
    } finally {
      await store.close()
    }
  })
})

/** How long calls may take to settle before a test calls it a deadlock (not a speed check). */
const DEADLOCK_MS = 30_000

/**
 * The calls' outcomes, as Promise.allSettled gives them; fails instead when they have not all
 * settled after DEADLOCK_MS (a wait cycle would otherwise hang the test).
 */
async function settledWithin(
  calls: Promise<unknown>[],
  what: string,
): Promise<PromiseSettledResult<unknown>[]> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: not settled after ${DEADLOCK_MS} ms (a wait cycle?)`)),
      DEADLOCK_MS,
    )
  })
  try {
    return await Promise.race([Promise.allSettled(calls), deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** Opens an infini store through a proxy to the stand-in, runs `body`, and closes both. */
function throughProxy(body: (store: ElasticKV, proxy: FaultProxy) => Promise<void>) {
  return withStoreBehindProxy(standin.url, 'collide-proxy', { id_scheme: 'infini' }, body)
}

const standinCounts = {
  reset: () => standin.resetCounts(),
  get: () => standin.counts(),
}
