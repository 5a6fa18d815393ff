/**
 * One run of a command: the global options, the stores it opened (closed at the end, whatever
 * happens), and the exit code it chose.
 *
 * @module
 */
import { BackendDisabledError, configFilePath, InvalidConfigError, type KVStore } from '@kv/core'
import type { Command } from 'commander'
import { backendName, loadBackend, loadDefaultBackend, MEMORY_ONLY_SETTING } from './backends.js'
import { describeConfig, sectionFromFile, useConfigFile } from './config.js'
import { ExitCode as Exit, type ExitCode } from './exit-codes.js'
import { Progress, progressMode } from './progress.js'

/** The options every command accepts. */
export interface GlobalOptions {
  /** `--config FILE`. */
  config?: string
  /** `--backend NAME`. */
  backend?: string
  /** `--json`: structured output. */
  json?: boolean
  /** `--no-progress` sets this to false. */
  progress?: boolean
}

/** The state of one command run. */
export class Session {
  /** The global options. */
  readonly options: GlobalOptions
  /** The exit code of a command that ends without an error but not with success (`exists` false). */
  exitCode: ExitCode = Exit.OK
  readonly #opened: KVStore[] = []

  constructor(options: GlobalOptions) {
    this.options = options
    useConfigFile(options.config)
  }

  /** Whether `--json` was given. */
  get json(): boolean {
    return this.options.json === true
  }

  /**
   * The store the command works on (`--backend`, else the default), opened. With `writes` (the
   * command's name), a store whose data would not outlive this process is refused (see
   * {@link refuseNonPersistent}).
   */
  async store(writes?: string): Promise<KVStore> {
    const store =
      this.options.backend === undefined
        ? await loadDefaultBackend()
        : await loadBackend(this.options.backend)
    await this.open(store)
    if (writes !== undefined) refuseNonPersistent(store, writes, describeConfig())
    return store
  }

  /**
   * The store the command would work on (as {@link Session.store}), configured but not opened,
   * so nothing is read or created (`import --dry-run`: no empty database, no lock taken, no
   * cluster contacted). Its `limits` are those of its configuration. A store that would not keep
   * what `writes` (the command's name) writes is refused, as {@link Session.store} does.
   */
  async unopenedStore(writes: string): Promise<KVStore> {
    const registered =
      this.options.backend === undefined
        ? await loadDefaultBackend()
        : await loadBackend(this.options.backend)
    if (registered.isEnabled?.() === false) {
      throw new BackendDisabledError(
        `The ${registered.name} backend is disabled by its configuration (${registered.name}.enabled: false); set enabled: true to use it.`,
      )
    }
    // The registered store reads its section, and so learns its configured value limit, only at
    // open(); an instance given the same section knows it at once.
    const file = configFilePath()
    const Store = registered.constructor as new (options: unknown) => KVStore
    const store = new Store(file === undefined ? {} : sectionFromFile(file, registered.name))
    // Configured by options, the store knows from its construction whether it persists.
    refuseNonPersistent(store, writes, describeConfig())
    return store
  }

  /**
   * The store of backend `name`, opened; with `configFile`, a separate instance configured by
   * that file's section instead of the registered one (`migrate --from-config`). With `writes`,
   * as {@link Session.store}.
   */
  async storeNamed(name: string, configFile?: string, writes?: string): Promise<KVStore> {
    const registered = await loadBackend(name)
    const Store = registered.constructor as new (options: unknown) => KVStore
    const store = await this.open(
      configFile === undefined
        ? registered
        : new Store(sectionFromFile(configFile, backendName(name))),
    )
    if (writes !== undefined) {
      refuseNonPersistent(
        store,
        writes,
        configFile ?? describeConfig(),
        'migrate to another backend or configuration (--to, --to-config)',
      )
    }
    return store
  }

  /**
   * Refuses, before any store is opened, a store of backend `name` (configured by `configFile`,
   * else by the configuration in force) that would not keep what `writes` (the command's name)
   * writes, as {@link Session.storeNamed} does once it is open: `migrate` checks its target
   * first, so that a refused migration does not create an empty source database either.
   */
  async refuseNonPersistentNamed(
    name: string,
    configFile: string | undefined,
    writes: string,
  ): Promise<void> {
    const registered = await loadBackend(name)
    const Store = registered.constructor as new (options: unknown) => KVStore
    const file = configFile ?? configFilePath()
    // An instance given the section knows from its construction whether it persists; the
    // registered store learns its section only at open().
    let probe: KVStore
    try {
      probe = new Store(file === undefined ? {} : sectionFromFile(file, backendName(name)))
    } catch {
      // A configuration the store refuses is reported when it opens, as it would be without this.
      return
    }
    refuseNonPersistent(
      probe,
      writes,
      configFile ?? describeConfig(),
      'migrate to another backend or configuration (--to, --to-config)',
    )
  }

  /** Opens `store` and remembers to close it. */
  async open(store: KVStore): Promise<KVStore> {
    if (!this.#opened.includes(store)) {
      await store.open()
      this.#opened.push(store)
    }
    return store
  }

  /** A progress display for long work, as the options and stderr allow. */
  progress(label: string, unitFormat?: (units: number) => string): Progress {
    return new Progress({
      label,
      mode: progressMode(this.options.progress !== false),
      ...(unitFormat === undefined ? {} : { unitFormat }),
    })
  }

  /** Closes every store this run opened, in reverse order; throws the first failure. */
  async close(): Promise<void> {
    let failure: unknown
    for (const store of this.#opened.splice(0).reverse()) {
      try {
        await store.close()
      } catch (error) {
        failure ??= error
      }
    }
    if (failure !== undefined) throw failure
  }
}

/**
 * Throws when `store` does not keep its data beyond this process (`persistent: false`, e.g.
 * badger with `memory_mode: true`): `command` would write, exit 0, and leave nothing behind
 * (KV_INVALID_CONFIG, exit 4). `config` names the configuration the store was set up from. The
 * decision is the store's own; {@link MEMORY_ONLY_SETTING} only names the setting in the message.
 */
export function refuseNonPersistent(
  store: KVStore,
  command: string,
  config: string,
  otherwise = 'write to another backend (--backend NAME)',
): void {
  if (store.persistent !== false) return
  const setting = MEMORY_ONLY_SETTING[store.name]
  const key = setting === undefined ? undefined : `${store.name}.${setting}`
  throw new InvalidConfigError(
    `${command} refused: the ${store.name} store keeps its data in memory only${key === undefined ? '' : ` (${key}: true)`}, so what it writes would be gone when kv exits. ${key === undefined ? `Configure ${store.name} to keep its data` : `Set ${setting}: false in the ${store.name} section`} of ${config}, or ${otherwise}; commands that only read still work`,
    key === undefined ? {} : { key },
  )
}

/** The session of an action: built from the command's global options. */
export function sessionOf(command: Command): Session {
  return new Session(command.optsWithGlobals<GlobalOptions>())
}
