/**
 * Writes of one key keep the order they were issued in, even when they travel in different
 * `_bulk` requests and the client retries one of them: a later write of a key is not sent while
 * a request carrying an earlier write of it is in flight (retries included). Otherwise a 502 from
 * a gateway that reached the cluster makes the client re-send a delete after a later put of the
 * same key, and the put is lost although both calls succeeded.
 */
import { type Standin, startStandin } from '@kv/es-standin'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ElasticKV } from '../src/index.js'
import { forward, startProxy } from './proxy.js'
import { freshIndexName } from './targets.js'

let standin: Standin
beforeAll(async () => {
  standin = await startStandin()
})
afterAll(async () => {
  await standin.close()
})

const text = (value: string): Uint8Array => new TextEncoder().encode(value)
const isBulk = (url: string): boolean => url.split('?')[0]!.endsWith('/_bulk')

describe('the order of writes of one key', () => {
  it('a put issued while a retried delete of the key is in flight is applied after the retry', async () => {
    let release: () => void = () => {}
    const released = new Promise<void>((resolve) => (release = resolve))
    // The key "other" as the document's key field holds it (lowercase hex of its bytes).
    const otherHex = Buffer.from('other').toString('hex')
    let delivered = false
    let applied: () => void = () => {}
    const deleteApplied = new Promise<void>((resolve) => (applied = resolve))
    const proxy = await startProxy(standin.url, async (req) => {
      if (!isBulk(req.url)) return undefined
      const body = req.body.toString('utf8')
      if (body.includes('"delete"') && !delivered) {
        // The delete reaches the cluster, but the client hears 502 (as from a gateway), once
        // the test lets it: then the client sends the same request again.
        delivered = true
        await forward(standin.url, req)
        applied()
        await released
        return { status: 502 }
      }
      if (body.includes(otherHex)) {
        // The write of "other" was issued together with the put of "k": once it has been
        // applied, whatever was sent with it has been applied too. Now the 502.
        const answer = await forward(standin.url, req)
        release()
        return answer
      }
      return undefined
    })
    const store = new ElasticKV({ endpoint: proxy.url, index_name: freshIndexName('ordering') })
    await store.open()
    try {
      await store.addValue('b', 'k', 'old')
      const deleted = store.deleteKey('b', 'k')
      // The delete has been applied, and its request waits for its answer, before the put is issued.
      await deleteApplied
      const put = store.addValue('b', 'k', 'new')
      const other = store.addValue('b', 'other', 'x')
      await Promise.all([deleted, put, other])
      expect(proxy.answered.filter((answer) => answer === 'POST /_bulk')).toHaveLength(2)
      // The put was issued after the delete: its value is the one kept.
      expect(await store.getValue('b', 'k')).toEqual(text('new'))
    } finally {
      release()
      await store.close()
      await proxy.close()
    }
  })
})

describe.each(['default', 'infini'] as const)(
  'overlapping writes of one key (id_scheme: %s)',
  (scheme) => {
    // Under infini each write reads the document and then writes it only if unchanged; two such
    // writes of one key issued together would both read the same version, and the later one,
    // finding it changed, would count itself as ordered first: the earlier would win.
    const value = async (store: ElasticKV) => {
      const stored = await store.getValue('b', 'k')
      return stored === null ? null : new TextDecoder().decode(stored)
    }

    it('the one issued last wins: put and put, put and delete, delete and put', async () => {
      const store = new ElasticKV({
        endpoint: standin.url,
        index_name: freshIndexName(`overlap-${scheme}`),
        id_scheme: scheme,
      })
      await store.open()
      try {
        await store.addValue('b', 'k', 'v0')
        await Promise.all([store.addValue('b', 'k', 'first'), store.addValue('b', 'k', 'second')])
        expect(await value(store)).toBe('second')
        await Promise.all([store.addValue('b', 'k', 'before'), store.deleteKey('b', 'k')])
        expect(await value(store)).toBe(null)
        await Promise.all([store.deleteKey('b', 'k'), store.addValue('b', 'k', 'after')])
        expect(await value(store)).toBe('after')
        // Many at once, in both orders of issue.
        await Promise.all(Array.from({ length: 20 }, (_, i) => store.addValue('b', 'k', `n${i}`)))
        expect(await value(store)).toBe('n19')
      } finally {
        await store.close()
      }
    })
  },
)
