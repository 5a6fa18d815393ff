// Helpers shared by the tests and benchmarks of every kv package. Plain ESM JavaScript (with
// declarations beside it) so that child-process fixtures can import it without a build step.

/**
 * mulberry32: a small seeded PRNG. Its quality is plenty for making test data and choosing
 * moments to kill a process, and the same seed gives the same sequence on every machine, so a
 * failing randomised run can be replayed from its printed seed.
 */
export function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
