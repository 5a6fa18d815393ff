import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // test/node/ runs under node:test against the built package (see the `test` script).
    exclude: [...configDefaults.exclude, 'test/node/**'],
  },
})
