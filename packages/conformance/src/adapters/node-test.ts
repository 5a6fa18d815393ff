/**
 * `@kv/conformance/node-test`: runs the suite under Node's built-in runner (`node --test`).
 *
 * @example
 * ```js
 * import { runConformance } from '@kv/conformance'
 * import { nodeTestRunner } from '@kv/conformance/node-test'
 * runConformance(nodeTestRunner, { name: 'my-backend', create: () => new MyStore() })
 * ```
 *
 * @module
 */
import { describe, test } from 'node:test'
import type { ConformanceRunner } from '../runner.js'

/** The {@link ConformanceRunner} of `node:test`: `describe` and `test`; skips use `t.skip(reason)`. */
export const nodeTestRunner: ConformanceRunner = {
  describe(name, body) {
    describe(name, body)
  },
  test(name, fn, options = {}) {
    test(name, { timeout: options.timeout }, async (t) => {
      await fn({ skip: (reason) => t.skip(reason) })
    })
  },
}
