import { readFileSync } from 'node:fs'
import { defineConfig } from 'tsup'

const { version } = JSON.parse(
  readFileSync(new URL('./package.json', import.meta.url), 'utf8'),
) as {
  version: string
}

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    // The two builds run side by side: this one must not delete the executable the other writes.
    clean: ['**/*', '!bin.js', '!bin.js.map'],
    target: 'node22',
  },
  {
    // The executable: ESM only, with its shebang; commander and the backends stay external.
    entry: ['src/bin.ts'],
    format: ['esm'],
    sourcemap: true,
    target: 'node22',
    define: { __KV_CLI_VERSION__: JSON.stringify(version) },
  },
])
