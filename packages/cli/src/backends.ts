/**
 * Loading backends. The CLI depends on no backend: each is an optional peer dependency, imported
 * by package name when it is needed, and its import registers it with @kv/core (SPEC §3). So
 * `kv` works with whichever backends are installed, and a missing one gets a message naming the
 * package to install.
 *
 * @module
 */
import { activeStore, getStore, isKVError, type KVStore, stores } from '@kv/core'
import { CliError, ExitCode } from './exit-codes.js'

/**
 * The backends `kv` knows, by registry name, with their packages. The order is the order of
 * preference for the default backend, least preferred first: they are imported in this order and
 * the most recently registered enabled store becomes @kv/core's active store, so the default is
 * badger, else simple_kv, else elastic.
 */
export const BACKEND_PACKAGES: Readonly<Record<string, string>> = {
  elastic: '@kv/elastic',
  simple_kv: '@kv/simple',
  badger: '@kv/badger',
}

/**
 * Per backend, the configuration key that keeps its data in memory only, to name it when a
 * command that writes refuses such a store. Whether a store persists is the store's to say
 * (`KVStore.persistent`); this only makes the message precise.
 */
export const MEMORY_ONLY_SETTING: Readonly<Record<string, string>> = { badger: 'memory_mode' }

/** Other spellings accepted for `--backend`, `--from` and `--to`. */
const ALIASES: Readonly<Record<string, string>> = { simple: 'simple_kv' }

/** The registry name for a name given on the command line; throws a usage error for an unknown one. */
export function backendName(given: string): string {
  const name = ALIASES[given] ?? given
  if (BACKEND_PACKAGES[name] === undefined) {
    throw new CliError(
      ExitCode.USAGE,
      `unknown backend "${given}"; kv knows ${Object.keys(BACKEND_PACKAGES).join(', ')}`,
    )
  }
  return name
}

// One import per package per process; a second `loadBackend` of the same name reuses it.
const loaded = new Map<string, Promise<boolean>>()

function isMissingPackage(error: unknown, pkg: string): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown }
  return (
    code === 'ERR_MODULE_NOT_FOUND' && typeof message === 'string' && message.includes(`'${pkg}'`)
  )
}

/**
 * Imports the package of backend `name` (which registers it). Resolves `false` when the package
 * is not installed; a package that is installed but fails to load is an error.
 */
function importBackend(name: string): Promise<boolean> {
  let result = loaded.get(name)
  if (result === undefined) {
    const pkg = BACKEND_PACKAGES[name]!
    // The specifier is a variable so that bundlers leave the import to run time.
    result = import(pkg).then(
      () => true,
      (error: unknown) => {
        if (isMissingPackage(error, pkg)) return false
        throw new CliError(
          ExitCode.BACKEND_UNAVAILABLE,
          `the ${name} backend (${pkg}) is installed but failed to load: ${(error as Error).message}`,
          { cause: error },
        )
      },
    )
    loaded.set(name, result)
  }
  return result
}

/** The store of backend `name`, importing its package; a clear error when it is not installed. */
export async function loadBackend(given: string): Promise<KVStore> {
  const name = backendName(given)
  if (!(await importBackend(name))) {
    throw new CliError(
      ExitCode.BACKEND_UNAVAILABLE,
      `the ${name} backend is not installed: npm install ${BACKEND_PACKAGES[name]}`,
    )
  }
  try {
    return getStore(name)
  } catch (error) {
    throw separateCore(name, error)
  }
}

/**
 * The package loaded but its store is not in our registry: it registered with a copy of
 * @kv/core whose process-wide state has another layout (copies of the same layout share one
 * registry, see @kv/core's shared-state). Explain instead of "not registered".
 */
function separateCore(name: string, error: unknown): unknown {
  if (!isKVError(error, 'KV_NO_BACKEND')) return error
  return new CliError(
    ExitCode.BACKEND_UNAVAILABLE,
    `${BACKEND_PACKAGES[name]} loaded but registered its store with another copy of @kv/core: install @kv/cli and ${BACKEND_PACKAGES[name]} in the same project (npm install @kv/cli ${BACKEND_PACKAGES[name]}) so that they share one @kv/core`,
    { cause: error },
  )
}

/**
 * The default store: every installed backend is imported (in the order of
 * {@link BACKEND_PACKAGES}) and @kv/core's active store is taken, which prefers badger, then
 * simple_kv, then elastic, skipping those whose configuration says `enabled: false`.
 */
export async function loadDefaultBackend(): Promise<KVStore> {
  const installed: string[] = []
  for (const name of Object.keys(BACKEND_PACKAGES)) {
    if (await importBackend(name)) installed.push(name)
  }
  if (installed.length === 0) {
    throw new CliError(
      ExitCode.BACKEND_UNAVAILABLE,
      'no kv backend is installed: npm install @kv/badger (or @kv/simple, or @kv/elastic)',
    )
  }
  try {
    return activeStore()
  } catch (error) {
    // Registered but every one disabled: @kv/core's error says so. Only an empty registry
    // means the backends registered with another copy of @kv/core.
    if (stores().length > 0) throw error
    throw separateCore(installed[installed.length - 1]!, error)
  }
}
