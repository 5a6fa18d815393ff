/** sendInParts: the outcome of each item of a request sent again in parts. */
import { describe, expect, it } from 'vitest'
import { ItemFailure } from '../src/batcher.js'
import { sendInParts } from '../src/operations.js'

class TooLarge extends Error {}
const splitOnTooLarge = (error: unknown) => error instanceof TooLarge

describe('sendInParts', () => {
  it('fails the items of a part answered with fewer results than it has items, and gives no result to another caller', async () => {
    // A request of more than two is refused as too large; the part [c, d] is answered short.
    const send = async (items: string[]) => {
      if (items.length > 2) throw new TooLarge()
      return items[0] === 'c' ? ['ok:c'] : items.map((item) => `ok:${item}`)
    }
    const outcomes = await sendInParts(['a', 'b', 'c', 'd'], send, splitOnTooLarge, (_, e) => e)
    expect(outcomes.slice(0, 2)).toEqual(['ok:a', 'ok:b'])
    expect(outcomes).toHaveLength(4)
    for (const outcome of outcomes.slice(2)) {
      expect(outcome).toBeInstanceOf(ItemFailure)
      expect((outcome as ItemFailure).error).toMatchObject({
        code: 'KV_BACKEND_ERROR',
        message: expect.stringMatching(/answered a request of 2 operation\(s\) with 1 result/),
      })
    }
  })

  it('fails an item alone with what alone() makes of its error, and sends the halves in order', async () => {
    const sent: string[][] = []
    const send = async (items: string[]) => {
      sent.push(items)
      if (items.length > 1 || items[0] === 'big') throw new TooLarge()
      return items.map((item) => `ok:${item}`)
    }
    const outcomes = await sendInParts(['a', 'big', 'c'], send, splitOnTooLarge, (item) => item)
    expect(sent).toEqual([['a', 'big', 'c'], ['a', 'big'], ['a'], ['big'], ['c']])
    expect(outcomes).toEqual(['ok:a', new ItemFailure('big'), 'ok:c'])
  })
})
