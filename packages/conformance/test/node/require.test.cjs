// The CommonJS build works too: require() of each entry.
const { test } = require('node:test')
const assert = require('node:assert/strict')

test('the CommonJS entries load and export the suite and the adapters', () => {
  const main = require('../../dist/index.cjs')
  assert.equal(typeof main.runConformance, 'function')
  assert.equal(typeof main.collectResults, 'function')
  assert.equal(typeof main.modelBased, 'function')
  assert.equal(typeof require('../../dist/adapters/node-test.cjs').nodeTestRunner.test, 'function')
})
