// Deterministic benchmark inputs: the same bytes on every run and every machine, so numbers
// from different runs compare.

import { prng } from '@kv/test-helpers'

export { prng }

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'kv', 'store', 'bucket', 'value', 'index', 'node']
const STATUSES = ['active', 'idle', 'banned', 'pending']

/**
 * A JSON array of user-like records, at least `size` bytes long, like the documents a kv store
 * holds: repeated keys, small numbers, short strings, some free text.
 */
export function jsonDocument(size, seed = 1) {
  const random = prng(seed)
  const pick = (list) => list[Math.floor(random() * list.length)]
  const records = []
  let length = 2
  for (let id = 0; length < size; id++) {
    const record = {
      id,
      user: `user-${Math.floor(random() * 100000)}`,
      email: `u${Math.floor(random() * 1e6)}@example.com`,
      status: pick(STATUSES),
      score: Math.floor(random() * 1000),
      ratio: Math.round(random() * 1e4) / 1e4,
      tags: Array.from({ length: Math.floor(random() * 4) }, () => pick(WORDS)),
      note: Array.from({ length: 3 + Math.floor(random() * 8) }, () => pick(WORDS)).join(' '),
      created: new Date(1.7e12 + Math.floor(random() * 1e10)).toISOString(),
    }
    records.push(record)
    length += JSON.stringify(record).length + 1
  }
  return new TextEncoder().encode(JSON.stringify(records))
}

/** `size` bytes from the seeded PRNG: incompressible. */
export function randomBytes(size, seed = 2) {
  const random = prng(seed)
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = Math.floor(random() * 256)
  return out
}
