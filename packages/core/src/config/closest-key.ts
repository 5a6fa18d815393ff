/**
 * "Did you mean": the known key a mistyped one most likely stands for, for the message of an
 * unknown configuration key.
 *
 * @module
 */

/** The number of single-character edits that turn `a` into `b` (Levenshtein distance). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      )
    }
    previous = current
  }
  return previous[b.length]!
}

/**
 * The key of `known` closest to `key`, when it is a likely misspelling of one (`badgr`) or a
 * shortening (`simple` for `simple_kv`); otherwise undefined.
 */
export function closestKey(key: string, known: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of known) {
    const distance = key.length >= 3 && candidate.startsWith(key) ? 1 : editDistance(key, candidate)
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance]
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined
}
