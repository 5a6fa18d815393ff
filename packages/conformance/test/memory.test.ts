import { MemoryStore } from '@kv/core'
import { vitestRunner } from '../src/adapters/vitest.js'
import { runConformance } from '../src/index.js'

// The reference backend passes everything; persistence tests skip (it forgets on close).
runConformance(vitestRunner, {
  name: 'MemoryStore',
  create: () => new MemoryStore(),
})

// With persistAcrossClose the data lives as long as the object: the persistence tests and the
// model test's close/reopen steps run, and reopen hands back the same object.
runConformance(vitestRunner, {
  name: 'MemoryStore (persistAcrossClose)',
  create: () => new MemoryStore({ persistAcrossClose: true }),
  reopen: (closed) => closed,
  capabilities: { persistent: true },
})
