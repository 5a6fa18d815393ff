import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Real HTTP servers on a shared, loaded 2-core machine: generous limits; none is a timing assertion.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
