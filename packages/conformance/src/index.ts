/**
 * `@kv/conformance`: the conformance suite every kv backend passes (SPEC §3), written against a
 * tiny runner interface so that it runs under vitest (`@kv/conformance/vitest`), `node:test`
 * (`@kv/conformance/node-test`), or in-process ({@link collectResults}).
 *
 * @packageDocumentation
 */
export { type CollectOptions, type ConformanceResult, collectResults } from './adapters/collect.js'
export { concerns, runConformance } from './run-conformance.js'
export type {
  ConformanceRunner,
  ConformanceTestContext,
  ConformanceTestFn,
  ConformanceTestOptions,
} from './runner.js'
export type { ConformanceSuite } from './suite.js'
export { basicCrud } from './suites/basic-crud.js'
export { batchWrites } from './suites/batch-writes.js'
export { binaryData } from './suites/binary-data.js'
export { buckets } from './suites/buckets.js'
export { compression } from './suites/compression.js'
export { concurrency } from './suites/concurrency.js'
export { extensions } from './suites/extensions.js'
export { invalidInput } from './suites/invalid-input.js'
export { largeListings } from './suites/large-listings.js'
export { lifecycle } from './suites/lifecycle.js'
export { modelBased } from './suites/model-based.js'
export { persistence } from './suites/persistence.js'
export { type ConformanceCapabilities, type ConformanceTarget, TargetDefaults } from './target.js'
