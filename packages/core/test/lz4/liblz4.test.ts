/**
 * Cross-checks the codec against liblz4 1.9.x, the reference implementation, through Debian's
 * python3-lz4: everything we encode must decode with liblz4 to the input, and everything liblz4
 * encodes (in each of its modes) must decode with ours.
 *
 * python3-lz4 is required: without it this file fails, unless KV_SKIP_LIBLZ4=1 says to skip.
 */
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CorruptValueError } from '../../src/errors.js'
import { compress, decompress } from '../../src/lz4/index.js'
import { blockViolation } from './support/block-rules.js'
import { prng, shapes } from './support/corpus.js'
import { findPython, type Job, type JobResult, runLiblz4 } from './support/liblz4.js'
import { damagedValue } from './support/mutations.js'
import { rawLz4jsBlock, stored } from './support/raw-lz4js.js'

const skip = process.env.KV_SKIP_LIBLZ4 === '1'
if (skip) {
  console.warn('liblz4 cross-check SKIPPED: KV_SKIP_LIBLZ4=1 is set')
}

interface Case {
  name: string
  raw: Uint8Array
}

/**
 * The fixture vectors' inputs, every shape at every size 0..300, then random sizes up to 70,000 of every shape, and sizes
 * around LZ4's 64 KiB match window.
 */
function corpus(): Case[] {
  const cases: Case[] = readFileSync(
    new URL('../fixtures/go-lz4-v1.jsonl', import.meta.url),
    'utf8',
  )
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { name: string; raw: string })
    .map(({ name, raw }) => ({
      name: `vector ${name}`,
      raw: new Uint8Array(Buffer.from(raw, 'base64')),
    }))
  for (const [shape, make] of Object.entries(shapes)) {
    for (let n = 0; n <= 300; n++) cases.push({ name: `${shape}-${n}`, raw: make(n, n + 1) })
  }
  const next = prng(0x11a4)
  for (const [shape, make] of Object.entries(shapes)) {
    for (let i = 0; i < 12; i++) {
      const n = 301 + ((next() * 69_700) | 0)
      cases.push({ name: `${shape}-${n}`, raw: make(n, i) })
    }
    for (const n of [65_535, 65_536, 65_537, 70_000]) {
      cases.push({ name: `${shape}-${n}`, raw: make(n, n) })
    }
  }
  return cases
}

const python = skip ? undefined : findPython()

const header = (value: Uint8Array): number =>
  new DataView(value.buffer, value.byteOffset, value.length).getUint32(0, true)

if (!skip && python === undefined) {
  it('liblz4 cross-check finds python3-lz4', () => {
    // Fail, not skip: a cross-check that silently does not run would let invalid blocks ship.
    throw new Error(
      'The liblz4 cross-check needs python3-lz4 (Debian) and found no python3 with the lz4 ' +
        'module. Install it: apt-get update && apt-get install -y python3-lz4. Or set ' +
        'KV_PYTHON3 to a python3 that has it, or KV_SKIP_LIBLZ4=1 to skip this check.',
    )
  })
}

describe.skipIf(python === undefined)('liblz4 cross-check (python3-lz4)', () => {
  const cases = corpus()

  it(`liblz4 decodes what we encode (${cases.length} inputs)`, () => {
    const jobs: Job[] = cases.map(({ raw }) => ({ op: 'decompress', data: compress(raw) }))
    const { version, results } = runLiblz4(python!, jobs)
    console.info(`liblz4 ${version} via ${python}`)
    const failures = cases.flatMap(({ name, raw }, i) => {
      const result = results[i]!
      if (!result.ok) return [`${name}: liblz4 rejected our block: ${result.error}`]
      return Buffer.compare(result.data, raw) === 0 ? [] : [`${name}: liblz4 decoded other bytes`]
    })
    expect(failures).toEqual([])
  }, 60_000)

  it.each(['default', 'fast', 'high_compression'] as const)(
    'we decode what liblz4 encodes in %s mode',
    (mode) => {
      const jobs: Job[] = cases.map(({ raw }) => ({ op: 'compress', mode, data: raw }))
      const { results } = runLiblz4(python!, jobs)
      const failures = cases.flatMap(({ name, raw }, i) => {
        const result: JobResult = results[i]!
        if (!result.ok) return [`${name}: liblz4 failed to compress: ${result.error}`]
        const decoded = decompress(result.data)
        return Buffer.compare(decoded, raw) === 0 ? [] : [`${name}: we decoded other bytes`]
      })
      expect(failures).toEqual([])
    },
    60_000,
  )

  it('agrees with liblz4 on damaged values: when both decode one, they give the same bytes', () => {
    const damaged = fc
      .sample(damagedValue, { numRuns: 3000, seed: 0x4c5a34 })
      // python-lz4 allocates the declared size up front; keep its memory use small.
      .filter((value) => value.length >= 4 && header(value) <= 1 << 20)
    const { results } = runLiblz4(
      python!,
      damaged.map((data) => ({ op: 'decompress', data })),
    )
    let both = 0
    const disagreements = damaged.flatMap((value, i) => {
      const theirs = results[i]!
      let ours: Uint8Array | undefined
      try {
        ours = decompress(value)
      } catch (error) {
        if (!(error instanceof CorruptValueError)) throw error
      }
      if (!theirs.ok || ours === undefined) return []
      both++
      return Buffer.compare(ours, theirs.data) === 0 ? [] : [Buffer.from(value).toString('hex')]
    })
    expect(disagreements).toEqual([])
    expect(both).toBeGreaterThan(50)
  }, 60_000)

  it('sees a bad block: liblz4 rejects what lz4js writes unrepaired', () => {
    // Guards the guard: if liblz4 accepted lz4js's late last match, passing the first test
    // would prove nothing about our repair.
    const bad = cases.flatMap(({ name, raw }) => {
      const block = rawLz4jsBlock(raw)
      return block && blockViolation(block, raw.length) ? [{ name, raw, block }] : []
    })
    expect(bad.length).toBeGreaterThan(100)
    const sample = bad.slice(0, 20)
    const { results } = runLiblz4(
      python!,
      sample.map(({ raw, block }) => ({ op: 'decompress', data: stored(raw.length, block) })),
    )
    expect(results.filter((result) => result.ok)).toEqual([])
  })
})
