/**
 * Keeps the stand-in honest: drives the official @elastic/elasticsearch client through every file
 * of Elastic's client test suite (vendored in vendor/elasticsearch-clients-tests) against it.
 * For each test: setup, steps, teardown, then every index is deleted (README.asciidoc).
 */
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from '@elastic/elasticsearch'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../src/index.js'
import { loadYamlFile } from './yaml/load.js'
import { Runner } from './yaml/run.js'

const root = fileURLToPath(new URL('../vendor/elasticsearch-clients-tests/tests', import.meta.url))
const files = (readdirSync(root, { recursive: true }) as string[])
  .filter((name) => name.endsWith('.yml'))
  .map((name) => join(root, name))
  .sort()

let standin: Standin
let client: Client
const ran = new Set<string>()

beforeAll(async () => {
  standin = await startStandin()
  client = new Client({ node: standin.url, maxRetries: 0 })
})

afterAll(async () => {
  await client?.close()
  await standin?.close()
})

describe('Elastic client YAML tests against the stand-in', () => {
  it('finds the vendored files', () => {
    expect(files.length).toBe(18)
  })

  for (const path of files) {
    const name = relative(root, path)
    const file = loadYamlFile(path)
    describe(name, () => {
      for (const test of file.tests) {
        it.skipIf(!file.stack)(test.name, async () => {
          const runner = new Runner(client)
          try {
            await runner.run(file.setup)
            runner.resetStash()
            await runner.run(test.steps)
          } finally {
            await runner.run(file.teardown)
            standin.reset()
          }
          ran.add(name)
        })
      }
    })
  }

  it('ran every file', () => {
    expect([...ran].sort()).toEqual(files.map((path) => relative(root, path)))
  })
})
