/**
 * The YAML runner itself must be able to fail: a runner that passes everything would prove
 * nothing about the stand-in. Every assertion step it implements (match, is_true, is_false,
 * catch, length, gt/gte/lt/lte) and the stash (set) are shown failing when they do not hold.
 */
import { Client } from '@elastic/elasticsearch'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../src/index.js'
import { Runner } from './yaml/run.js'

let standin: Standin
let client: Client

beforeAll(async () => {
  standin = await startStandin()
  client = new Client({ node: standin.url, maxRetries: 0 })
})

afterAll(async () => {
  await client?.close()
  await standin?.close()
})

describe('YAML runner', () => {
  it('fails a match that does not hold', async () => {
    const runner = new Runner(client)
    await expect(
      runner.run([{ do: { info: {} } }, { match: { tagline: 'You Know, for Nothing' } }]),
    ).rejects.toThrow(/match tagline/)
  })

  it('fails is_true on a missing field and is_false on a present one', async () => {
    const runner = new Runner(client)
    await expect(runner.run([{ do: { info: {} } }, { is_true: 'no_such_field' }])).rejects.toThrow(
      /is_true/,
    )
    await expect(runner.run([{ do: { info: {} } }, { is_false: 'tagline' }])).rejects.toThrow(
      /is_false/,
    )
  })

  it('checks catch: against the status code', async () => {
    const runner = new Runner(client)
    await runner.run([
      { do: { catch: 'missing', get: { index: 'nope', id: '1' } } },
      { match: { 'error.type': 'index_not_found_exception' } },
    ])
    await expect(
      runner.run([{ do: { catch: 'conflict', get: { index: 'nope', id: '1' } } }]),
    ).rejects.toThrow(/expected catch conflict/)
    await expect(runner.run([{ do: { catch: 'missing', info: {} } }])).rejects.toThrow(
      /expected an error/,
    )
  })

  it('stashes values with set and substitutes them', async () => {
    const runner = new Runner(client)
    await runner.run([
      { do: { index: { index: 'stash', body: { a: 1 }, refresh: true } } },
      { set: { _id: 'id' } },
      { do: { get: { index: 'stash', id: '$id' } } },
      { match: { _id: '$id', _source: { a: 1 } } },
      { match: { _id: '/^[A-Za-z0-9_-]{20,}$/' } },
    ])
    standin.reset()
  })

  it('fails a length that does not hold, on an array, an object and a missing path', async () => {
    const runner = new Runner(client)
    const mget = { do: { mget: { body: { docs: [{ _index: 'nope', _id: '1' }] } } } }
    await runner.run([mget, { length: { docs: 1 } }, { length: { 'docs.0': 3 } }])
    await expect(runner.run([mget, { length: { docs: 2 } }])).rejects.toThrow(
      /length docs: expected 2, got 1/,
    )
    await expect(runner.run([mget, { length: { 'docs.0': 2 } }])).rejects.toThrow(
      /length docs\.0: expected 2, got 3/,
    )
    await expect(runner.run([mget, { length: { no_such_field: 0 } }])).rejects.toThrow(
      /length no_such_field/,
    )
  })

  it('fails gt, gte, lt and lte on the wrong side of the limit, and on a missing value', async () => {
    const runner = new Runner(client)
    await client.index({ index: 'compare', document: { a: 1 }, refresh: true })
    const count = { do: { count: { index: 'compare' } } }
    // count is 1: each comparison holds at one limit and fails at the next.
    await runner.run([count, { gt: { count: 0 } }, { gte: { count: 1 } }])
    await runner.run([count, { lt: { count: 2 } }, { lte: { count: 1 } }])
    for (const [kind, limit] of [
      ['gt', 1],
      ['gte', 2],
      ['lt', 1],
      ['lte', 0],
    ] as const) {
      await expect(runner.run([count, { [kind]: { count: limit } }]), kind).rejects.toThrow(
        new RegExp(`^${kind} count: 1 is not ${kind} ${limit}$`),
      )
    }
    await expect(runner.run([count, { gte: { no_such_field: 0 } }])).rejects.toThrow(
      /gte no_such_field/,
    )
    standin.reset()
  })

  it('set stashes the value of the last response, so a step using it fails when it differs', async () => {
    const runner = new Runner(client)
    await runner.run([
      { do: { index: { index: 'stash', id: 'first', body: { n: 1 }, refresh: true } } },
      { set: { _id: 'id' } },
      { do: { index: { index: 'stash', id: 'second', body: { n: 2 }, refresh: true } } },
      { do: { get: { index: 'stash', id: '$id' } } },
      { match: { _source: { n: 1 } } },
    ])
    // The stash holds "first", not the later response's id.
    await expect(runner.run([{ match: { _id: '$id' } }])).resolves.toBeUndefined()
    await expect(
      runner.run([{ do: { get: { index: 'stash', id: 'second' } } }, { match: { _id: '$id' } }]),
    ).rejects.toThrow(/match _id: expected "first", got "second"/)
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the YAML tests' own ${name} stash syntax.
    await expect(runner.run([{ match: { _id: 'prefix-${id}' } }])).rejects.toThrow(
      /match _id: expected "prefix-first", got "second"/,
    )
    standin.reset()
  })
})
