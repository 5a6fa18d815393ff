import { defineConfig } from 'tsup'

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'adapters/vitest': 'src/adapters/vitest.ts',
    'adapters/node-test': 'src/adapters/node-test.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node22',
  // Keep `node:` imports as written: `node:test` has no bare `test` equivalent.
  removeNodeProtocol: false,
  // The runners are the user's: never bundle them.
  external: ['vitest'],
})
