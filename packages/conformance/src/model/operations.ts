/**
 * The operations of the model-based test, their random generation (fast-check arbitraries) and
 * how to print them. Buckets and keys come from small alphabets so that collisions, shared
 * prefixes and look-alike bucket names (`a`, `a,b`, `a_b`, `a\0`) happen often.
 *
 * @module
 */
import fc from 'fast-check'
import { goLz4Vectors } from '../fixtures/go-lz4-vectors.js'
import { hex, show } from '../harness/assertions.js'
import { text } from '../harness/data.js'

/** Bucket names of the model test: look-alikes under the Go framework's joins, NUL, non-ASCII. */
export const MODEL_BUCKETS = ['a', 'a,b', 'a_b', 'a\0', 'ü', 'b'] as const

/** How a key is passed: as bytes, as a string (when it is ASCII), as a Buffer, or as a view into a larger buffer. */
export type KeyForm = 'bytes' | 'string' | 'buffer' | 'view'

/** A key as the test passes it. */
export interface KeyArg {
  bytes: Uint8Array
  form: KeyForm
}

/** One step of a model run. */
export type Operation =
  | { kind: 'put'; bucket: string; key: KeyArg; value: Uint8Array }
  | { kind: 'putMany'; bucket: string; pairs: (readonly [KeyArg, Uint8Array])[] }
  | { kind: 'putCompressed'; bucket: string; key: KeyArg; value: Uint8Array }
  | { kind: 'get'; bucket: string; key: KeyArg }
  | { kind: 'getCompressed'; bucket: string; key: KeyArg }
  | { kind: 'exists'; bucket: string; key: KeyArg }
  | { kind: 'delete'; bucket: string; key: KeyArg }
  | { kind: 'deleteBucket'; bucket: string }
  | { kind: 'keys'; bucket: string; prefix: Uint8Array | undefined; limit: number | undefined }
  | { kind: 'buckets' }
  | { kind: 'reopen'; newObject: boolean }

const bucket = fc.constantFrom(...MODEL_BUCKETS)
const keyBytes = (maxLength: number) =>
  fc
    .array(fc.constantFrom(0x00, 0x61, 0x62, 0xff), { maxLength })
    .map((list) => Uint8Array.from(list))
const keyForm = fc.constantFrom<KeyForm>('bytes', 'string', 'buffer', 'view')
const key = fc.record({ bytes: keyBytes(3), form: keyForm })
const value = fc.oneof(
  fc.constant(new Uint8Array(0)),
  fc.uint8Array({ maxLength: 24 }),
  fc.constantFrom('hello', 'hello hello hello hello', '{"a":1,"a":1,"a":1}').map(text),
  // Values that are valid LZ4 in the Go layout, stored raw: getCompressedValue decodes them.
  fc.constantFrom(...goLz4Vectors.map((v) => new Uint8Array(Buffer.from(v.go, 'base64')))),
)

/**
 * The pairs of one `addValues`: one to four, and half the time one more that repeats an earlier
 * pair's key (in a form of its own, so `"a"` and the bytes `61` must be one key) with a value of
 * its own: the last pair must win. (Without it, short runs caught a store whose first pair wins
 * a third as often.)
 */
const pairs = fc
  .tuple(
    fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 4 }),
    fc.option(fc.tuple(fc.nat(), keyForm, value), {
      nil: undefined,
      freq: 2,
    }),
  )
  .map(([list, again]): (readonly [KeyArg, Uint8Array])[] => {
    if (again === undefined) return list
    const [index, form, repeated] = again
    return [...list, [{ bytes: list[index % list.length]![0].bytes, form }, repeated]]
  })

/** Random operations; `persistent` adds close/reopen steps. */
export function operationArbitrary(persistent: boolean): fc.Arbitrary<Operation> {
  const choices: fc.WeightedArbitrary<Operation>[] = [
    // put and putMany share the weight put had alone: a run makes as many write calls as before.
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('put' as const), bucket, key, value }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('putMany' as const), bucket, pairs }) },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('putCompressed' as const), bucket, key, value }),
    },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('get' as const), bucket, key }) },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('getCompressed' as const), bucket, key }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('exists' as const), bucket, key }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), bucket, key }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteBucket' as const), bucket }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('keys' as const),
        bucket,
        prefix: fc.option(keyBytes(2), { nil: undefined }),
        limit: fc.option(fc.constantFrom(0, 1, 2, 5), { nil: undefined }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('buckets' as const) }) },
  ]
  if (persistent) {
    choices.push({
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('reopen' as const), newObject: fc.boolean() }),
    })
  }
  return fc.oneof(...choices)
}

/** The key argument in its form. A string is used only when the bytes are ASCII. */
export function keyArgument({ bytes, form }: KeyArg): Uint8Array | string {
  switch (form) {
    case 'string':
      return bytes.every((b) => b < 0x80) ? Buffer.from(bytes).toString('latin1') : bytes.slice()
    case 'buffer':
      return Buffer.from(bytes)
    case 'view': {
      const backing = new Uint8Array(bytes.length + 4).fill(0xee)
      backing.set(bytes, 2)
      return backing.subarray(2, 2 + bytes.length)
    }
    default:
      return bytes.slice()
  }
}

/** A short, readable form of an operation for failure messages. */
export function describeOperation(op: Operation): string {
  const k = (arg: KeyArg) =>
    `0x${hex(arg.bytes) || '(empty)'}${arg.form === 'bytes' ? '' : ` as ${arg.form}`}`
  switch (op.kind) {
    case 'put':
    case 'putCompressed':
      return `${op.kind === 'put' ? 'addValue' : 'addValueCompress'}(${show(op.bucket)}, ${k(op.key)}, 0x${hex(op.value) || '(empty)'})`
    case 'putMany':
      return `addValues(${show(op.bucket)}, [${op.pairs.map(([key, v]) => `[${k(key)}, 0x${hex(v) || '(empty)'}]`).join(', ')}])`
    case 'get':
      return `getValue(${show(op.bucket)}, ${k(op.key)})`
    case 'getCompressed':
      return `getCompressedValue(${show(op.bucket)}, ${k(op.key)})`
    case 'exists':
      return `existsKey(${show(op.bucket)}, ${k(op.key)})`
    case 'delete':
      return `deleteKey(${show(op.bucket)}, ${k(op.key)})`
    case 'deleteBucket':
      return `deleteBucket(${show(op.bucket)})`
    case 'keys':
      return `keys(${show(op.bucket)}, { prefix: ${op.prefix === undefined ? 'none' : `0x${hex(op.prefix)}`}, limit: ${op.limit ?? 'none'} })`
    case 'buckets':
      return 'buckets()'
    case 'reopen':
      return op.newObject ? 'close(); reopen() a new object; open()' : 'close(); open()'
  }
}
