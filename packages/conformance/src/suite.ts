import type { ConformanceRunner } from './runner.js'
import type { ConformanceTarget } from './target.js'

/**
 * One concern of the suite (or the whole of it): registers its tests on `runner` against
 * `target`. Every concern registers one `describe` group named after itself.
 */
export type ConformanceSuite = (runner: ConformanceRunner, target: ConformanceTarget) => void
