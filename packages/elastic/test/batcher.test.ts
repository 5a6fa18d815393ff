/**
 * The Batcher on its own: items queued together go out together within the limits, each caller
 * gets its own result, a failed request fails exactly the items it carried, and items of one
 * order key wait for a request in flight with that key.
 */
import { describe, expect, it } from 'vitest'
import { Batcher } from '../src/batcher.js'

function recorder<T = number>(fail?: (items: T[]) => boolean) {
  const batches: T[][] = []
  let release: (() => void) | undefined
  const gate = { hold: false }
  const send = async (items: T[]): Promise<string[]> => {
    batches.push(items)
    if (gate.hold) await new Promise<void>((resolve) => (release = resolve))
    if (fail?.(items)) throw new Error(`batch ${items.join(',')} failed`)
    return items.map((item) => `result ${item}`)
  }
  return { batches, send, gate, release: () => release?.() }
}

describe('Batcher', () => {
  it('sends items queued in the same turn as one batch and routes each result', async () => {
    const { batches, send } = recorder()
    const batcher = new Batcher(send, {
      maxItems: 100,
      maxBytes: 1000,
      maxInFlight: 4,
      weigh: () => 1,
    })
    const results = await Promise.all([1, 2, 3].map((item) => batcher.add(item)))
    expect(results).toEqual(['result 1', 'result 2', 'result 3'])
    expect(batches).toEqual([[1, 2, 3]])
  })

  it('splits at maxItems and at maxBytes, sending an oversized item alone', async () => {
    const { batches, send } = recorder()
    const batcher = new Batcher(send, {
      maxItems: 2,
      maxBytes: 10,
      maxInFlight: 8,
      weigh: (item: number) => item,
    })
    await Promise.all([1, 2, 3, 4, 20, 5].map((item) => batcher.add(item)))
    expect(batches).toEqual([[1, 2], [3, 4], [20], [5]])
  })

  it('coalesces items that arrive while maxInFlight requests are out', async () => {
    const { batches, send, gate, release } = recorder()
    const batcher = new Batcher(send, {
      maxItems: 100,
      maxBytes: 1000,
      maxInFlight: 1,
      weigh: () => 1,
    })
    gate.hold = true
    const first = batcher.add(1)
    await new Promise((resolve) => setImmediate(resolve))
    const later = [2, 3, 4].map((item) => batcher.add(item))
    await new Promise((resolve) => setImmediate(resolve))
    expect(batches).toEqual([[1]])
    gate.hold = false
    release()
    await Promise.all([first, ...later])
    expect(batches).toEqual([[1], [2, 3, 4]])
  })

  it('rejects exactly the items of a failed request', async () => {
    const { send } = recorder((items) => items.includes(2))
    const batcher = new Batcher(send, {
      maxItems: 2,
      maxBytes: 1000,
      maxInFlight: 4,
      weigh: () => 1,
    })
    const results = await Promise.allSettled([1, 2, 3, 4].map((item) => batcher.add(item)))
    expect(results.map((result) => result.status)).toEqual([
      'rejected',
      'rejected',
      'fulfilled',
      'fulfilled',
    ])
  })

  it('holds items whose order key is in a request in flight, sending the others, and then the held ones in order', async () => {
    const { batches, send, gate, release } = recorder<string>()
    const batcher = new Batcher(send, {
      maxItems: 100,
      maxBytes: 1000,
      maxInFlight: 4,
      weigh: () => 1,
      // "a1" has key "a"; "-1" has no key and is never held.
      orderKey: (item: string) => (item[0] === '-' ? undefined : item[0]),
    })
    gate.hold = true
    const first = batcher.add('a1')
    await new Promise((resolve) => setImmediate(resolve))
    expect(batches).toEqual([['a1']])
    gate.hold = false
    const later = ['a2', 'b1', '-1', 'a3', 'b2'].map((item) => batcher.add(item))
    await Promise.all(later.filter((_, i) => i !== 0 && i !== 3))
    // "a2" and "a3" wait for the request carrying "a1"; "b1" and "b2" go together, in order.
    expect(batches).toEqual([['a1'], ['b1', '-1', 'b2']])
    release()
    await Promise.all([first, ...later])
    expect(batches).toEqual([['a1'], ['b1', '-1', 'b2'], ['a2', 'a3']])
  })
})
