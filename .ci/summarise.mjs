// Reads the test run's output (colours stripped) on stdin and prints one closing line,
// "N passed, N failed, N skipped", summed over every vitest summary ("Tests  12 passed | 1 skipped")
// and node:test summary ("ℹ pass 12") in it.
let text = ''
for await (const chunk of process.stdin) text += chunk
const totals = { passed: 0, failed: 0, skipped: 0 }
for (const line of text.split('\n')) {
  const vitest = line.match(/^\S*\s*Tests\s+(.*\(\d+\))\s*$/)
  if (vitest) {
    for (const [, count, kind] of vitest[1].matchAll(/(\d+) (passed|failed|skipped)/g))
      totals[kind] += Number(count)
    continue
  }
  const node = line.match(/^\S*\s*ℹ (pass|fail|skipped) (\d+)\s*$/)
  if (node)
    totals[{ pass: 'passed', fail: 'failed', skipped: 'skipped' }[node[1]]] += Number(node[2])
}
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`)
