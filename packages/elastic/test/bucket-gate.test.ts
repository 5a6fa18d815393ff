/**
 * BucketGate's cost under `acrossBuckets` (id_scheme: infini): a deleteBucket() waits for every
 * write given before it, of any bucket, and each write must be waited for once, not once per
 * deletion given while it is pending (10,000 pending writes and 1,000 deletions took 1.7 GB).
 * Counted, not timed: how many reactions each pending write gets.
 */
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
