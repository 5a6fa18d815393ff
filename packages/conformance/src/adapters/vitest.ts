/**
 * `@kv/conformance/vitest`: runs the suite under vitest.
 *
 * @example
 * ```ts
 * import { runConformance } from '@kv/conformance'
 * import { vitestRunner } from '@kv/conformance/vitest'
 * runConformance(vitestRunner, { name: 'my-backend', create: () => new MyStore() })
 * ```
 *
 * @module
 */
import { describe, test } from 'vitest'
import type { ConformanceRunner } from '../runner.js'

/** The {@link ConformanceRunner} of vitest: `describe` and `test`; skips use `ctx.skip(reason)`. */
export const vitestRunner: ConformanceRunner = {
  describe(name, body) {
    describe(name, body)
  },
  test(name, fn, options = {}) {
    test(name, { timeout: options.timeout }, async (context) => {
      await fn({ skip: (reason) => context.skip(reason) })
    })
  },
}
