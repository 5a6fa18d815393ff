/**
 * A tiny in-process runner: registers a suite's tests, runs them one after another and returns
 * what happened to each. Used to check the suite itself (that it fails against broken stores),
 * and handy for running the suite from a script.
 *
 * @module
 */
import type { ConformanceRunner, ConformanceTestFn } from '../runner.js'
import type { ConformanceSuite } from '../suite.js'
import { type ConformanceTarget, testTimeout } from '../target.js'

/** What happened to one test. */
export interface ConformanceResult {
  /** The test's name as registered, e.g. `§3.2 an empty value is a real value`. */
  name: string
  /** The groups around the test, outermost first (target name, concern). */
  groups: string[]
  /** True when the test ran and passed (false when it failed or was skipped). */
  passed: boolean
  /** True when the test skipped itself; `skipReason` says why. */
  skipped: boolean
  /** Why the test skipped itself. */
  skipReason?: string
  /** Why the test failed: the thrown error (an `AssertionError` for a broken rule). */
  error?: unknown
}

/** Options of {@link collectResults}. */
export interface CollectOptions {
  /** Runs only the tests whose name this accepts (all by default). */
  filter?: (name: string, groups: readonly string[]) => boolean
}

/** Thrown by `skip()` to stop a test body, as vitest does. */
class SkipSignal {
  constructor(readonly reason: string) {}
}

interface Registered {
  name: string
  groups: string[]
  fn: ConformanceTestFn
  timeout: number | undefined
}

/**
 * Runs `suite` (a concern such as `basicCrud`, or `runConformance` itself) against `target`
 * sequentially and returns one result per test. A test that exceeds its timeout fails (its work
 * may continue in the background).
 */
export async function collectResults(
  suite: ConformanceSuite,
  target: ConformanceTarget,
  options: CollectOptions = {},
): Promise<ConformanceResult[]> {
  const registered: Registered[] = []
  const groups: string[] = []
  const runner: ConformanceRunner = {
    describe(name, body) {
      groups.push(name)
      try {
        body()
      } finally {
        groups.pop()
      }
    },
    test(name, fn, testOptions = {}) {
      registered.push({ name, groups: [...groups], fn, timeout: testOptions.timeout })
    },
  }
  suite(runner, target)

  const results: ConformanceResult[] = []
  for (const test of registered) {
    if (options.filter !== undefined && !options.filter(test.name, test.groups)) continue
    results.push(await runOne(test, test.timeout ?? testTimeout(target)))
  }
  return results
}

async function runOne(test: Registered, timeout: number): Promise<ConformanceResult> {
  const base = { name: test.name, groups: test.groups }
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the test timed out after ${timeout} ms`)), timeout)
  })
  try {
    const context = {
      skip(reason: string): never {
        throw new SkipSignal(reason)
      },
    }
    await Promise.race([test.fn(context), timedOut])
    return { ...base, passed: true, skipped: false }
  } catch (error) {
    if (error instanceof SkipSignal)
      return { ...base, passed: false, skipped: true, skipReason: error.reason }
    return { ...base, passed: false, skipped: false, error }
  } finally {
    clearTimeout(timer)
  }
}
