/**
 * BucketGate's cost under `acrossBuckets` (id_scheme: infini): a deleteBucket() waits for every
 * write given before it, of any bucket, and each write must be waited for once, not once per
 * deletion given while it is pending (10,000 pending writes and 1,000 deletions took 1.7 GB).
 * Counted, not timed: how many reactions each pending write gets.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { expect, it } from 'vitest'
import { BucketGate } from '../src/bucket-gate.js'

/** A promise that counts the reactions registered on it. */
class Counted<T> extends Promise<T> {
  reactions = 0
  // biome-ignore lint/suspicious/noThenProperty: counting the reactions is the point.
  override then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.reactions++
    return super.then(onFulfilled, onRejected)
  }
}

it('waits for each pending write once, however many deletions are given meanwhile', async () => {
  const gate = new BucketGate({ acrossBuckets: true })
  const release: Array<() => void> = []
  const writes: Counted<void>[] = []
  for (let i = 0; i < 50; i++) {
    gate.write(`w${i % 5}`, () => {
      const write = new Counted<void>((resolve) => release.push(resolve))
      writes.push(write)
      return write
    })
  }
  const order: string[] = []
  const deletions = Array.from({ length: 40 }, (_, i) =>
    gate.deleteBucket(`d${i}`, async () => {
      order.push(`d${i}`)
    }),
  )
  await new Promise((resolve) => setImmediate(resolve))
  // Every deletion waits for the writes given before it.
  expect(order).toEqual([])
  // A write's reactions: its result's own, the gate's bookkeeping, one barrier — not one per
  // deletion.
  expect(Math.max(...writes.map((write) => write.reactions))).toBeLessThanOrEqual(4)
  for (const resolve of release) resolve()
  await Promise.all(deletions)
  expect(order).toHaveLength(40)
})

it('keeps no result of a settled write alive through its barriers', async () => {
  const gate = new BucketGate({ acrossBuckets: true })
  const results = new WeakRef(await holdOneRound(gate))
  // One more round: the barrier before it held the first round's results, were they kept.
  await holdOneRound(gate)
  await new Promise((resolve) => setImmediate(resolve))
  collectGarbage()
  expect(results.deref()).toBeUndefined()
})

/** A full garbage collection, without starting Node with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc')
  ;(runInNewContext('gc') as () => void)()
}

/**
 * One write resolving with a fresh object, and a deletion given while it is pending (so that the
 * deletion's barrier waits for it); resolves that object once both have settled.
 */
async function holdOneRound(gate: BucketGate): Promise<object> {
  const value = { payload: new Uint8Array(1024) }
  const write = gate.write('w', async () => value)
  await Promise.all([write, gate.deleteBucket('d', async () => {})])
  return value
}
