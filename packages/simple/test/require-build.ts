import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The crash, lock and registration tests spawn processes that load ../../dist: it must be built. */
export default function requireBuild(): void {
  const dist = fileURLToPath(new URL('../dist/store-entry.js', import.meta.url))
  if (!existsSync(dist)) {
    throw new Error(`${dist} is missing: run \`pnpm --filter @kv/simple build\` before the tests.`)
  }
}
