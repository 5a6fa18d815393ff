/**
 * The Batcher on its own: items queued together go out together within the limits, each caller
 * gets its own result, a failed request fails exactly the items it carried (an ItemFailure in
 * its answer only its own item), and items of one order key wait for a request in flight with
 * that key.
 */
import { describe, expect, it } from 'vitest'
import { Batcher, ItemFailure } from '../src/batcher.js'

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

  it('rejects only the items a request answers with an ItemFailure, with its error', async () => {
    const failed = new Error('item 2 failed alone')
    const batcher = new Batcher(
      async (items: number[]) =>
        items.map((item) => (item === 2 ? new ItemFailure(failed) : `result ${item}`)),
      { maxItems: 100, maxBytes: 1000, maxInFlight: 4, weigh: () => 1 },
    )
    const results = await Promise.allSettled([1, 2, 3].map((item) => batcher.add(item)))
    expect(results).toEqual([
      { status: 'fulfilled', value: 'result 1' },
      { status: 'rejected', reason: failed },
      { status: 'fulfilled', value: 'result 3' },
    ])
  })

  it('sends a key with many queued items in batches of the limit, one request at a time, in order', async () => {
    const sent: string[][] = []
    let hotInFlight = 0
    let overlapped = false
    const send = async (items: string[]): Promise<string[]> => {
      sent.push(items)
      const hot = items.some((item) => item.startsWith('hot:'))
      if (hot && hotInFlight++ > 0) overlapped = true
      // Answer a few turns later, so that other requests are in flight meanwhile.
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
      if (hot) hotInFlight--
      return items
    }
    const batcher = new Batcher(send, {
      maxItems: 7,
      maxBytes: 1000,
      maxInFlight: 3,
      weigh: () => 1,
      orderKey: (item: string) => item.split(':')[0],
    })
    const items = Array.from({ length: 60 }, (_, i) => (i % 4 === 0 ? `cold${i}:${i}` : `hot:${i}`))
    expect(await Promise.all(items.map((item) => batcher.add(item)))).toEqual(items)
    expect(overlapped).toBe(false)
    expect(sent.flat().sort()).toEqual([...items].sort())
    for (const batch of sent) expect(batch.length).toBeLessThanOrEqual(7)
    const hotSent = sent.flat().filter((item) => item.startsWith('hot:'))
    expect(hotSent).toEqual(items.filter((item) => item.startsWith('hot:')))
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
    // "a2" and "a3" wait for the request carrying "a1"; "b1" and "b2" go together, in order
    // (where "-1" goes among them does not matter: it is another document).
    expect(batches).toHaveLength(2)
    expect(batches[1]!.filter((item) => item[0] === 'b')).toEqual(['b1', 'b2'])
    expect([...batches[1]!].sort()).toEqual(['-1', 'b1', 'b2'])
    release()
    await Promise.all([first, ...later])
    expect(batches).toHaveLength(3)
    expect(batches[2]).toEqual(['a2', 'a3'])
  })
})
