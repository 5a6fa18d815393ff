import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Child-process tests run the built package; check it exists before anything runs.
    globalSetup: ['./test/helpers/require-build.ts'],
    // The machine is shared and has two cores: be generous.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
