import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Every test runs the built executable as a child process, some of them many times.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Two cores shared with other work: run the files one after another.
    fileParallelism: false,
  },
})
