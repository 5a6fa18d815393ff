// Runs the conformance suite under node:test (`node --test test/node/`), through the BUILT
// package as a third-party backend would import it. Build first: `pnpm build`.
import { MemoryStore } from '@kv/core'
import { nodeTestRunner } from '../../dist/adapters/node-test.js'
import { runConformance } from '../../dist/index.js'

runConformance(nodeTestRunner, {
  name: 'MemoryStore under node:test',
  create: () => new MemoryStore({ persistAcrossClose: true }),
  reopen: (closed) => closed,
  capabilities: { persistent: true },
})
