/**
 * Deterministic test inputs of the shapes that matter to an LZ4 codec: incompressible, runs,
 * short periods, text-like JSON, and inputs built to put lz4js's last match where the format's
 * end-of-block rules forbid it.
 */

import { prng } from '@kv/test-helpers'

export { prng }

/** A function making `n` bytes of one shape from a seed. */
export type Shape = (n: number, seed: number) => Uint8Array

export const zeros: Shape = (n) => new Uint8Array(n)

export const random: Shape = (n, seed) => {
  const next = prng(seed)
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (next() * 256) | 0
  return out
}

/** A random pattern of 1 to 16 bytes repeated: long overlapping matches. */
export const periodic: Shape = (n, seed) => {
  const next = prng(seed)
  const period = 1 + ((next() * 16) | 0)
  const pattern = random(period, seed + 1)
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = pattern[i % period]!
  return out
}

const WORDS = ['id', 'user', 'status', 'active', 'idle', 'score', 'tags', 'alpha', 'beta', 'kv']

/** JSON-like text: many short matches at varied offsets, like real stored documents. */
export const json: Shape = (n, seed) => {
  const next = prng(seed)
  let text = ''
  while (text.length < n) {
    const word = WORDS[(next() * WORDS.length) | 0]
    text += `{"${word}": ${(next() * 1000) | 0}, "${WORDS[(next() * WORDS.length) | 0]}": "${word}-${(next() * 50) | 0}"}, `
  }
  return new TextEncoder().encode(text.slice(0, n))
}

/** Mostly random with random copies of earlier spans: matches mixed with literals. */
export const mixed: Shape = (n, seed) => {
  const next = prng(seed)
  const out = random(n, seed + 7)
  for (let i = 16; i < n; ) {
    const length = 4 + ((next() * 40) | 0)
    const from = (next() * i) | 0
    for (let k = 0; k < length && i < n; k++) out[i++] = out[from + k]!
    i += (next() * 24) | 0
  }
  return out
}

/**
 * Inputs built so that lz4js's last match starts 10 or 11 bytes before the end, where the
 * format forbids it (liblz4 rejects such a block): a JSON-like body, so lz4js keeps searching
 * every position, ending with a copy of 4 to 6 of its first bytes followed by bytes seen nowhere.
 */
export const tailTrap: Shape = (n, seed) => {
  const out = json(n, seed)
  if (n < 13) return out
  const start = n - 10 - (seed % 2)
  const length = 4 + (seed % 3)
  const from = (seed * 7) % Math.max(1, start - 8)
  for (let k = 0; k < length; k++) out[start + k] = out[from + k]!
  for (let p = start + length; p < n; p++) out[p] = 0xf0 + ((p + seed) % 16)
  return out
}

export const shapes: Record<string, Shape> = { zeros, random, periodic, json, mixed, tailTrap }
