import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { compress, decompress } from '../src/lz4/index.js'
import {
  checkBucket,
  checkEntries,
  checkKey,
  checkKeysOptions,
  checkValue,
  keepPrefix,
  Limits,
  toBytes,
} from '../src/validate.js'

const codeOf = (fn: () => unknown): { code?: string; argument?: string; message: string } => {
  try {
    fn()
  } catch (error) {
    return error as { code?: string; argument?: string; message: string }
  }
  throw new Error('expected a throw')
}

describe('checkBucket', () => {
  it('accepts names up to 255 UTF-8 bytes, counting multibyte characters by their bytes', () => {
    expect(checkBucket('a'.repeat(255))).toHaveLength(255)
    expect(checkBucket(`${'é'.repeat(127)}a`)).toBeTruthy() // 254 + 1 bytes
    expect(codeOf(() => checkBucket('é'.repeat(128))).code).toBe('KV_INVALID_ARGUMENT') // 256 bytes
    expect(codeOf(() => checkBucket('😀'.repeat(64))).code).toBe('KV_INVALID_ARGUMENT') // 256 bytes
    expect(checkBucket(`${'😀'.repeat(63)}abc`)).toBeTruthy() // 252 + 3 bytes
  })

  it('rejects non-strings, the empty string and lone surrogates, naming the argument', () => {
    for (const bad of [undefined, null, 1, {}, [], new Uint8Array(1), '']) {
      const error = codeOf(() => checkBucket(bad))
      expect(error.code).toBe('KV_INVALID_ARGUMENT')
      expect(error.argument).toBe('bucket')
      expect(error.message).toMatch(/^bucket must be a non-empty string/)
    }
    expect(codeOf(() => checkBucket('a\ud800')).message).toMatch(/lone surrogate/)
  })

  it('accepts NUL and control characters', () => {
    expect(checkBucket('a\0b\u0001')).toBe('a\0b\u0001')
  })
})

describe('checkKey', () => {
  it('encodes strings as UTF-8 and passes bytes through', () => {
    expect([...checkKey('é')]).toEqual([0xc3, 0xa9])
    const bytes = new Uint8Array([0, 255])
    expect(checkKey(bytes)).toBe(bytes)
    expect(checkKey(Buffer.from([1]))).toBeInstanceOf(Uint8Array)
  })

  it('enforces 64 KiB', () => {
    expect(checkKey(new Uint8Array(Limits.MAX_KEY_BYTES))).toHaveLength(65536)
    const error = codeOf(() => checkKey(new Uint8Array(Limits.MAX_KEY_BYTES + 1)))
    expect(error.code).toBe('KV_INVALID_ARGUMENT')
    expect(error.message).toMatch(/key must be at most 65536 bytes/)
  })

  it('rejects other types with a hint', () => {
    expect(codeOf(() => checkKey(new ArrayBuffer(2))).message).toMatch(
      /ArrayBuffer \(wrap it in a Uint8Array\)/,
    )
    expect(codeOf(() => checkKey(new Uint16Array(2))).message).toMatch(/Uint16Array/)
    expect(codeOf(() => checkKey(42)).message).toMatch(/got number/)
    expect(codeOf(() => checkKey('\udc00')).message).toMatch(/lone surrogate/)
  })
})

describe('checkValue', () => {
  it('enforces the backend limit', () => {
    expect(checkValue('abc', 3)).toHaveLength(3)
    const error = codeOf(() => checkValue('abcd', 3))
    expect(error.code).toBe('KV_INVALID_ARGUMENT')
    expect(error.argument).toBe('value')
    expect(error.message).toMatch(/4 bytes, over this backend's limit of 3 bytes/)
  })
})

describe('checkEntries', () => {
  it('returns the bytes of every pair, in order, from arrays, Maps and generators', () => {
    const expected = [
      [new Uint8Array([0x61]), new Uint8Array([0x31])],
      [new Uint8Array([0x62]), new Uint8Array([])],
    ]
    expect(
      checkEntries(
        [
          ['a', '1'],
          ['b', ''],
        ],
        10,
      ),
    ).toEqual(expected)
    expect(
      checkEntries(
        new Map([
          ['a', '1'],
          ['b', ''],
        ]),
        10,
      ),
    ).toEqual(expected)
    function* pairs(): Generator<[string, string]> {
      yield ['a', '1']
      yield ['b', '']
    }
    expect(checkEntries(pairs(), 10)).toEqual(expected)
    expect(checkEntries([], 10)).toEqual([])
  })

  it('refuses what is not an iterable of pairs, naming the argument', () => {
    for (const bad of [undefined, null, 42, 'ab', { a: 'b' }]) {
      const error = codeOf(() => checkEntries(bad, 10))
      expect(error.code).toBe('KV_INVALID_ARGUMENT')
      expect(error.argument).toBe('entries')
      expect(error.message).toMatch(/entries must be an iterable of \[key, value\] pairs/)
    }
  })

  it('names the first bad pair, its key or its value', () => {
    const pairs = (last: unknown) => [['ok', 'v'], last]
    const cases: [unknown, string, RegExp][] = [
      [['k'], 'entries[1]', /entries\[1\] must be a \[key, value\] pair .*got an array of 1/],
      ['kv', 'entries[1]', /got string/],
      [[42, 'v'], 'entries[1].key', /entries\[1\]\.key must be a Uint8Array or a string/],
      [['k', 'v'.repeat(11)], 'entries[1].value', /entries\[1\]\.value is 11 bytes/],
      [['k'.repeat(Limits.MAX_KEY_BYTES + 1), 'v'], 'entries[1].key', /at most 65536 bytes/],
    ]
    for (const [last, argument, message] of cases) {
      const error = codeOf(() => checkEntries(pairs(last), 10))
      expect(error.code).toBe('KV_INVALID_ARGUMENT')
      expect(error.argument).toBe(argument)
      expect(error.message).toMatch(message)
    }
  })
})

describe('messages about the wrong type say what was given', () => {
  it('a Uint8Array where a pair was expected, an async iterable of pairs, a string limit, a plain object', () => {
    const pairAsBytes = codeOf(() => checkEntries([new Uint8Array(2)], 100))
    expect(pairAsBytes.message).toMatch(/got a Uint8Array$/)
    const buffer = codeOf(() => checkEntries([Buffer.from('ab')], 100))
    expect(buffer.message).toMatch(/got a Buffer$/)
    async function* pairs() {
      yield ['k', 'v']
    }
    const async = codeOf(() => checkEntries(pairs(), 100))
    expect(async).toMatchObject({ code: 'KV_INVALID_ARGUMENT', argument: 'entries' })
    expect(async.message).toMatch(
      /got an async iterable: collect it first \(await Array\.fromAsync/,
    )
    expect(codeOf(() => checkKeysOptions({ limit: '3' })).message).toMatch(/got "3" \(a string\)$/)
    expect(codeOf(() => checkKeysOptions({ limit: 2n })).message).toMatch(/got 2n \(a bigint\)$/)
    expect(codeOf(() => checkKeysOptions({ limit: [3] })).message).toMatch(/got an array$/)
    expect(codeOf(() => checkKeysOptions({ limit: null })).message).toMatch(/got null$/)
    expect(codeOf(() => checkKeysOptions({ limit: true })).message).toMatch(
      /got true \(a boolean\)$/,
    )
    expect(codeOf(() => checkKeysOptions({ limit: Object.create(null) })).message).toMatch(
      /got an object$/,
    )
    expect(codeOf(() => checkKeysOptions({ limit: 1.5 })).message).toMatch(/got 1\.5$/)
    expect(codeOf(() => checkKey({})).message).toMatch(/got an object$/)
    expect(codeOf(() => checkKey(Object.create(null))).message).toMatch(/got an object$/)
    expect(codeOf(() => checkKey(new Date(0))).message).toMatch(/got an object \(Date\)$/)
    expect(codeOf(() => checkKey(new Uint16Array(2))).message).toMatch(
      /got a Uint16Array \(pass a Uint8Array\)$/,
    )
    expect(codeOf(() => checkKey(new Int16Array(2))).message).toMatch(
      /got an Int16Array \(pass a Uint8Array\)$/,
    )
    const nameless = new Uint8Array(2)
    Object.defineProperty(nameless, 'constructor', { value: undefined })
    expect(codeOf(() => checkEntries([nameless], 100)).message).toMatch(/got a Uint8Array$/)
  })
})

describe('checkKeysOptions', () => {
  it('normalises defaults and prefixes', () => {
    expect(checkKeysOptions(undefined)).toEqual({
      prefix: undefined,
      limit: Number.POSITIVE_INFINITY,
    })
    expect(checkKeysOptions({ prefix: 'a', limit: 0 })).toEqual({
      prefix: new Uint8Array([97]),
      limit: 0,
    })
  })

  it('rejects bad limits, bad prefixes and unknown options', () => {
    for (const limit of [-1, 1.5, Number.NaN, '3']) {
      expect(codeOf(() => checkKeysOptions({ limit })).argument).toBe('options.limit')
    }
    expect(codeOf(() => checkKeysOptions({ prefix: 3 })).argument).toBe('options.prefix')
    expect(codeOf(() => checkKeysOptions({ limt: 3 })).message).toMatch(
      /options.limt is not an option/,
    )
    expect(codeOf(() => checkKeysOptions('x')).argument).toBe('options')
    // A Map or an array has no prefix or limit property: refused, not taken as no options.
    for (const options of [new Map([['limit', 1]]), [['limit', 1]]]) {
      expect(codeOf(() => checkKeysOptions(options))).toMatchObject({
        argument: 'options',
        message: expect.stringMatching(
          /options must be a plain object such as \{ prefix, limit \}/,
        ),
      })
    }
    // An object made in another realm is a plain object all the same.
    expect(checkKeysOptions(runInNewContext('({ limit: 2 })')).limit).toBe(2)
  })
})

describe('a Uint8Array of another realm (a vm context, as Jest makes)', () => {
  it('is taken as bytes by the checks, compress and decompress, and a prefix is copied', () => {
    const foreign = runInNewContext('new Uint8Array([1, 2, 3])') as Uint8Array
    expect(foreign instanceof Uint8Array).toBe(false)
    expect(toBytes(foreign, 'key')).toEqual(new Uint8Array([1, 2, 3]))
    expect(checkKey(foreign)).toEqual(new Uint8Array([1, 2, 3]))
    expect(checkValue(foreign, 16)).toEqual(new Uint8Array([1, 2, 3]))
    expect(decompress(compress(foreign))).toEqual(new Uint8Array([1, 2, 3]))
    const stored = runInNewContext(`new Uint8Array([${[...compress(new Uint8Array([7, 7]))]}])`)
    expect(decompress(stored as Uint8Array)).toEqual(new Uint8Array([7, 7]))
    // keys() copies a prefix when it is called: a later change by the caller does not count.
    const prefix = runInNewContext('new Uint8Array([9])') as Uint8Array
    const kept = keepPrefix({ prefix }) as { prefix: Uint8Array }
    prefix[0] = 1
    expect(kept.prefix).toEqual(new Uint8Array([9]))
    // One whose buffer is detached is empty, as one of this realm is; not a TypeError.
    const detached = runInNewContext(
      'const a = new Uint8Array([1, 2]); a.buffer.transfer(); a',
    ) as Uint8Array
    expect(toBytes(detached, 'value')).toEqual(new Uint8Array(0))
    expect(() => decompress(detached)).toThrow(
      expect.objectContaining({ code: 'KV_CORRUPT_VALUE' }),
    )
    // What only claims to be a Uint8Array (its own toStringTag) is not taken for one.
    for (const spoof of [new DataView(new ArrayBuffer(4)), new Float64Array(1)]) {
      Object.defineProperty(spoof, Symbol.toStringTag, { value: 'Uint8Array' })
      expect(codeOf(() => toBytes(spoof, 'value'))).toMatchObject({ code: 'KV_INVALID_ARGUMENT' })
    }
  })
})

describe('string encoding', () => {
  it('encodes ASCII, non-ASCII and long strings exactly as TextEncoder does', () => {
    const encoder = new TextEncoder()
    const samples = [
      '',
      'a',
      'session-abc-123',
      '\u007f',
      'é',
      'aé',
      'x'.repeat(64),
      'x'.repeat(65),
      `${'y'.repeat(63)}😀`,
      '\0\u0001',
    ]
    for (const sample of samples) expect([...checkKey(sample)]).toEqual([...encoder.encode(sample)])
  })
})
