import type { ConformanceRunner } from './runner.js'
import type { ConformanceSuite } from './suite.js'
import { basicCrud } from './suites/basic-crud.js'
import { batchWrites } from './suites/batch-writes.js'
import { binaryData } from './suites/binary-data.js'
import { buckets } from './suites/buckets.js'
import { compression } from './suites/compression.js'
import { concurrency } from './suites/concurrency.js'
import { extensions } from './suites/extensions.js'
import { invalidInput } from './suites/invalid-input.js'
import { largeListings } from './suites/large-listings.js'
import { lifecycle } from './suites/lifecycle.js'
import { modelBased } from './suites/model-based.js'
import { persistence } from './suites/persistence.js'
import type { ConformanceTarget } from './target.js'

/** Every concern of the suite, in the order {@link runConformance} registers them. */
export const concerns: Readonly<Record<string, ConformanceSuite>> = {
  basicCrud,
  buckets,
  binaryData,
  compression,
  lifecycle,
  concurrency,
  batchWrites,
  invalidInput,
  extensions,
  largeListings,
  persistence,
  modelBased,
}

/**
 * Registers the whole conformance suite against `target` under one group named `target.name`.
 *
 * @example
 * ```ts
 * import { runConformance } from '@kv/conformance'
 * import { vitestRunner } from '@kv/conformance/vitest'
 * runConformance(vitestRunner, { name: 'my-backend', create: () => new MyStore() })
 * ```
 */
export function runConformance(runner: ConformanceRunner, target: ConformanceTarget): void {
  runner.describe(target.name, () => {
    for (const suite of Object.values(concerns)) suite(runner, target)
  })
}
