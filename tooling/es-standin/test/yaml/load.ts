/**
 * Loads a YAML REST test file (rest-api-spec/test/README.asciidoc format): an optional
 * `requires` (or legacy `skip`) section, optional `setup` and `teardown`, and named tests, each a
 * list of steps, separated by `---`.
 */
import { readFileSync } from 'node:fs'
import { parseAllDocuments } from 'yaml'

/** One step: `{do: …}`, `{match: …}`, `{set: …}`, … */
export type Step = Record<string, unknown>

/** A parsed test file. */
export interface YamlFile {
  /** `requires: {serverless, stack}`: whether the file applies to a stack (non-serverless) cluster. */
  stack: boolean
  setup: Step[]
  teardown: Step[]
  tests: Array<{ name: string; steps: Step[] }>
}

/** Parses a test file. */
export function loadYamlFile(path: string): YamlFile {
  const file: YamlFile = { stack: true, setup: [], teardown: [], tests: [] }
  for (const document of parseAllDocuments(readFileSync(path, 'utf8'))) {
    if (document.errors.length > 0) throw new Error(`${path}: ${document.errors[0]!.message}`)
    const section = document.toJS() as Record<string, unknown> | null
    if (section === null) continue
    for (const [name, value] of Object.entries(section)) {
      if (name === 'requires') file.stack = (value as { stack?: boolean }).stack !== false
      else if (name === 'setup') file.setup = value as Step[]
      else if (name === 'teardown') file.teardown = value as Step[]
      else file.tests.push({ name, steps: value as Step[] })
    }
  }
  return file
}
