/**
 * The YAML runner itself must be able to fail: a runner that passes everything would prove
 * nothing about the stand-in.
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
})
