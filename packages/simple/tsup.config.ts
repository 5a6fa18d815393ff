import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/index.ts', 'src/store-entry.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  // One copy of the store code shared by both entries in CJS too (ESM splits by default), so
  // that '@kv/simple' and '@kv/simple/store' export the same class.
  splitting: true,
  target: 'node22',
})
