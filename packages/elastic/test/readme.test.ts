/**
 * The README's requests match what the store sends: every request of a session (open() creating
 * the index, and open() adding fields to a Go framework's index; writes, reads, listings,
 * deleteBucket(), close()) has a row in the "Privileges" table, and every request the README
 * names with a method (`GET /{index}/_refresh`) is sent with that method. The requests are
 * recorded by a proxy in front of the stand-in.
 */
import { readFileSync } from 'node:fs'
import { type Standin, startStandin } from '@kv/es-standin'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ElasticKV } from '../src/index.js'
import { startProxy } from './proxy.js'
import { adminClient, collect, freshIndexName } from './targets.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

/** The `request` cells of the README's "Privileges" table, without their comments. */
function privilegeRows(): string[] {
  const section = readme.split(/^## Privileges$/m)[1]!.split(/^## /m)[0]!
  return section
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|\s*-/.test(line))
    .slice(1) // the header
    .map((line) => /`([^`]+)`/.exec(line.split('|')[2] ?? '')?.[1] ?? '')
}

/** Whether a table cell (`GET /{index}/_mapping`, or an endpoint alone: `_mget`) names `request`. */
const names = (cell: string, request: string): boolean =>
  cell === request || (cell.startsWith('_') && request.endsWith(`/${cell}`))

let standin: Standin
let proxy: Awaited<ReturnType<typeof startProxy>>
/** `METHOD path` of every request the store sent, the index name replaced by `{index}`. */
const sent = new Set<string>()
beforeAll(async () => {
  standin = await startStandin()
  proxy = await startProxy(standin.url)
  const index = freshIndexName('readme')
  const goIndex = freshIndexName('readme-go')
  proxy.intercept = (req) => {
    const path = req.url
      .split('?')[0]!
      .replace(`/${goIndex}`, '/{index}')
      .replace(`/${index}`, '/{index}')
    sent.add(`${req.method} ${path}`)
    return undefined
  }
  // A session on a missing index, with refresh: false (close() refreshes).
  const store = new ElasticKV({ endpoint: proxy.url, index_name: index })
  await store.open()
  await store.addValue('b', 'k', 'v')
  await store.getValue('b', 'k')
  await collect(store.keys('b'))
  await collect(store.buckets())
  await store.deleteKey('b', 'k')
  await store.addValue('c', 'k', 'v')
  await store.deleteBucket('c')
  await store.addValue('b', 'k', 'v')
  await store.close()
  // An index the Go framework created (it maps only `content`): open() adds the other fields.
  const admin = adminClient({ endpoint: standin.url })
  await admin.indices.create({
    index: goIndex,
    mappings: { properties: { content: { type: 'binary', doc_values: false } } },
  })
  await admin.close()
  const go = new ElasticKV({ endpoint: proxy.url, index_name: goIndex })
  await go.open()
  await go.close()
})
afterAll(async () => {
  await proxy.close()
  await standin.close()
})

describe('the README', () => {
  it('has a row in the Privileges table for every request the store sends', () => {
    const rows = privilegeRows()
    expect(rows.length).toBeGreaterThan(5)
    const missing = [...sent].filter((request) => !rows.some((cell) => names(cell, request)))
    expect(missing).toEqual([])
    // The session sent what the table lists: GET / (monitor), the refresh, the mapping update.
    expect(sent).toContain('GET /')
    expect(sent).toContain('GET /{index}/_refresh')
    expect(sent).toContain('PUT /{index}/_mapping')
  })

  it('names every request it gives a method for with the method the store sends it with', () => {
    const written = [...readme.matchAll(/`(GET|HEAD|PUT|POST|DELETE) (\/[^`\s]*)`/g)].map(
      ([, method, path]) => ({ method: method!, path: path! }),
    )
    const methodsOf = (path: string) =>
      [...sent].filter((request) => request.endsWith(` ${path}`)).map((r) => r.split(' ')[0])
    const wrong = written
      .filter(({ path }) => methodsOf(path).length > 0)
      .filter(({ method, path }) => !methodsOf(path).includes(method))
      .map(({ method, path }) => `${method} ${path} (sent: ${methodsOf(path).join(', ')})`)
    expect(wrong).toEqual([])
    expect(written.map(({ method, path }) => `${method} ${path}`)).toContain(
      'GET /{index}/_refresh',
    )
  })
})
