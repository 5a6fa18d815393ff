import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // The crash, lock and registration tests run fixtures that import ../../dist.
    globalSetup: ['./test/require-build.ts'],
    // The machine is shared and has two cores: be generous.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
