import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // npm installs from the registry and child processes on a shared 2-core machine: generous
    // limits; none is a timing assertion.
    testTimeout: 120_000,
    // Two npm installs of at most 150 s each (test/scratch.ts), and the packing before them.
    hookTimeout: 420_000,
  },
})
