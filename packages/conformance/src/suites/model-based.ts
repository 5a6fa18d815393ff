/**
 * Model-based test: random sequences of operations against the target and against a reference
 * model (plain maps), compared after every step. Covers every rule of SPEC §3 in combination:
 * look-alike buckets (`a`, `a,b`, `a_b`, `a\0`, `ü`), colliding and prefix keys, empty values,
 * raw, compressed and batch writes (`addValues`, a key given twice in one batch), listing with
 * prefix and limit, and, for persistent targets, close/reopen in the middle of a run.
 *
 * @module
 */
import assert from 'node:assert/strict'
import { compress, InvalidArgumentError, type KVStore } from '@kv/core'
import fc from 'fast-check'
import { assertBytes, bucketNames, collect, hex } from '../harness/assertions.js'
import { StoreSession } from '../harness/session.js'
import {
  describeOperation,
  keyArgument,
  MODEL_BUCKETS,
  type Operation,
  operationArbitrary,
} from '../model/operations.js'
import { ReferenceModel } from '../model/reference.js'
import type { ConformanceSuite } from '../suite.js'
import { type ConformanceTarget, TargetDefaults, testTimeout } from '../target.js'

/** How many of the steps before a failure its message shows. */
const TRACE_LENGTH = 30

/** Applies `op` to the store and the model, asserting that the store answers as the model does. */
async function step(session: StoreSession, model: ReferenceModel, op: Operation): Promise<void> {
  const store: KVStore = session.store
  switch (op.kind) {
    case 'put':
      await store.addValue(op.bucket, keyArgument(op.key), op.value)
      model.put(op.bucket, op.key.bytes, op.value)
      return
    case 'putMany':
      await store.addValues(
        op.bucket,
        op.pairs.map(([key, value]) => [keyArgument(key), value] as const),
      )
      // In order, so that a key given twice ends with its last value.
      for (const [key, value] of op.pairs) model.put(op.bucket, key.bytes, value)
      return
    case 'putCompressed':
      await store.addValueCompress(op.bucket, keyArgument(op.key), op.value)
      model.put(op.bucket, op.key.bytes, compress(op.value))
      return
    case 'get': {
      const expected = model.get(op.bucket, op.key.bytes)
      const actual = await store.getValue(op.bucket, keyArgument(op.key))
      if (expected === null)
        assert.equal(actual, null, `expected null, got 0x${actual && hex(actual)}`)
      else assertBytes(actual, expected, 'getValue')
      return
    }
    case 'getCompressed': {
      const expected = model.getCompressed(op.bucket, op.key.bytes)
      let actual: Uint8Array | null
      try {
        actual = await store.getCompressedValue(op.bucket, keyArgument(op.key))
      } catch (error) {
        const code = (error as { code?: unknown }).code
        assert.ok('corrupt' in expected, `expected a value, got an error: ${String(error)}`)
        assert.equal(code, 'KV_CORRUPT_VALUE', `expected KV_CORRUPT_VALUE, got ${String(error)}`)
        return
      }
      assert.ok(
        !('corrupt' in expected),
        `expected a KV_CORRUPT_VALUE rejection, got ${actual && `0x${hex(actual)}`}`,
      )
      if (expected.value === null) assert.equal(actual, null, 'expected null')
      else assertBytes(actual, expected.value, 'getCompressedValue')
      return
    }
    case 'exists':
      assert.equal(
        await store.existsKey(op.bucket, keyArgument(op.key)),
        model.get(op.bucket, op.key.bytes) !== null,
      )
      return
    case 'delete':
      await store.deleteKey(op.bucket, keyArgument(op.key))
      model.delete(op.bucket, op.key.bytes)
      return
    case 'deleteBucket':
      await store.deleteBucket(op.bucket)
      model.deleteBucket(op.bucket)
      return
    case 'keys': {
      const options = {
        ...(op.prefix && { prefix: op.prefix }),
        ...(op.limit !== undefined && { limit: op.limit }),
      }
      const actual = (await collect(store.keys(op.bucket, options))).map(hex)
      assert.deepEqual(actual, model.keys(op.bucket, op.prefix, op.limit).map(hex))
      return
    }
    case 'buckets':
      assert.deepEqual(await bucketNames(store), model.buckets())
      return
    case 'reopen':
      if (op.newObject) await session.reopen()
      else await session.cycle()
      return
  }
}

/** Thrown when the test's time budget is spent, so that it fails with advice, not a timeout. */
class OutOfTime extends Error {}

/** Runs one sequence on a fresh store; a failure names the step and the steps before it. */
async function runSequence(
  target: ConformanceTarget,
  ops: Operation[],
  deadline: number,
): Promise<void> {
  if (Date.now() > deadline) throw new OutOfTime()
  const session = await StoreSession.start(target)
  const model = new ReferenceModel()
  let passed = false
  try {
    for (const [i, op] of ops.entries()) {
      if (Date.now() > deadline) throw new OutOfTime()
      try {
        await step(session, model, op)
      } catch (error) {
        const trace = ops
          .slice(Math.max(0, i - TRACE_LENGTH), i + 1)
          .map((o, j) => `  #${Math.max(0, i - TRACE_LENGTH) + j} ${describeOperation(o)}`)
        throw new Error(
          `step #${i} ${describeOperation(op)} disagrees with the model: ${(error as Error).message}\n` +
            `steps up to it:\n${trace.join('\n')}`,
          { cause: error },
        )
      }
    }
    // The final state, in full.
    for (const bucket of MODEL_BUCKETS) {
      assert.deepEqual(
        (await collect(session.store.keys(bucket))).map(hex),
        model.keys(bucket, undefined, undefined).map(hex),
        `final keys of ${JSON.stringify(bucket)}`,
      )
    }
    assert.deepEqual(await bucketNames(session.store), model.buckets(), 'final buckets()')
    passed = true
  } finally {
    await session.dispose(!passed)
  }
}

/**
 * `value`, when it is a positive integer. Zero runs or operations would let any store pass the
 * test (and a negative or fractional count makes fast-check fail obscurely or never stop), so
 * registering the suite with one fails at once, naming the option.
 */
function positiveInteger(value: number, option: 'modelRuns' | 'modelOps'): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(
      `target.${option}`,
      `target.${option} must be a positive integer (a test of no operations checks nothing), got ${String(value)}`,
    )
  }
  return value
}

/** Model-based: random operation sequences compared with a reference model. */
export const modelBased: ConformanceSuite = (runner, target) => {
  const runs = positiveInteger(target.modelRuns ?? TargetDefaults.modelRuns, 'modelRuns')
  const ops = positiveInteger(target.modelOps ?? TargetDefaults.modelOps, 'modelOps')
  runner.describe('model-based', () => {
    // Generous: 50 ms per operation covers slow backends; the suite never waits for it idly.
    const timeout = Math.max(testTimeout(target), runs * ops * 50)
    const persistent = target.capabilities?.persistent === true

    runner.test(
      `§3 ${runs} random sequences of ${ops} operations agree with a reference model`,
      async () => {
        // Stop a little before the runner's timeout, so that the failure says what to do.
        const deadline = Date.now() + Math.max(timeout - 10_000, timeout * 0.8)
        const sequences = fc.array(operationArbitrary(persistent), {
          minLength: ops,
          maxLength: ops,
        })
        const property = fc.asyncProperty(sequences, (list) => runSequence(target, list, deadline))
        const details = await fc.check(property, {
          numRuns: runs,
          // Each run is a fresh store and `ops` steps; the message names the failing step and
          // the steps before it, which is worth more than shrinking a long sequence slowly.
          endOnFailure: true,
          ...(target.modelSeed !== undefined && { seed: target.modelSeed }),
        })
        if (!details.failed) return
        if (details.errorInstance instanceof OutOfTime) {
          throw new Error(
            `The model-based test ran out of time after ${details.numRuns - 1} of ${runs} runs of ${ops} operations; ` +
              'lower modelRuns or modelOps for this target (or raise its timeout).',
          )
        }
        const cause = details.errorInstance as Error
        throw new Error(
          `Run ${details.numRuns} of ${runs} failed (replay with modelSeed: ${details.seed}): ${cause.message}`,
          { cause },
        )
      },
      { timeout },
    )
  })
}
