/**
 * The small runner interface the suites are written against, so that one suite runs under
 * vitest, `node:test`, or any runner with an adapter of a few lines.
 *
 * @module
 */

/** What a test body receives from the runner. */
export interface ConformanceTestContext {
  /**
   * Marks the test as skipped, with the reason. The body returns right after calling it (some
   * runners, such as vitest, also throw from here to stop the test).
   */
  skip(reason: string): void
}

/** A test body. Assertion failures are thrown `AssertionError`s from `node:assert/strict`. */
export type ConformanceTestFn = (context: ConformanceTestContext) => Promise<void>

/** Options of one test. */
export interface ConformanceTestOptions {
  /** Milliseconds before the runner fails the test. */
  timeout?: number
}

/**
 * A test runner, as the suites see it: nested groups and tests. Adapters exist for vitest
 * (`@kv/conformance/vitest`) and `node:test` (`@kv/conformance/node-test`); {@link collectResults}
 * runs a suite in-process without any runner.
 */
export interface ConformanceRunner {
  /** Registers a group of tests; `body` registers them synchronously. */
  describe(name: string, body: () => void): void
  /** Registers one test. */
  test(name: string, fn: ConformanceTestFn, options?: ConformanceTestOptions): void
}
