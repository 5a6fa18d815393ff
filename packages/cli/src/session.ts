/**
 * One run of a command: the global options, the stores it opened (closed at the end, whatever
 * happens), and the exit code it chose.
 *
 * @module
 */
import { BackendDisabledError, configFilePath, type KVStore } from '@kv/core'
import type { Command } from 'commander'
import { backendName, loadBackend, loadDefaultBackend } from './backends.js'
import { sectionFromFile, useConfigFile } from './config.js'
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

  /** The store the command works on (`--backend`, else the default), opened. */
  async store(): Promise<KVStore> {
    const store =
      this.options.backend === undefined
        ? await loadDefaultBackend()
        : await loadBackend(this.options.backend)
    return this.open(store)
  }

  /**
   * The store the command would work on (as {@link Session.store}), configured but not opened,
   * so nothing is read or created (`import --dry-run`: no empty database, no lock taken, no
   * cluster contacted). Its `limits` are those of its configuration.
   */
  async unopenedStore(): Promise<KVStore> {
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
    return new Store(file === undefined ? {} : sectionFromFile(file, registered.name))
  }

  /**
   * The store of backend `name`, opened; with `configFile`, a separate instance configured by
   * that file's section instead of the registered one (`migrate --from-config`).
   */
  async storeNamed(name: string, configFile?: string): Promise<KVStore> {
    const registered = await loadBackend(name)
    if (configFile === undefined) return this.open(registered)
    const Store = registered.constructor as new (options: unknown) => KVStore
    return this.open(new Store(sectionFromFile(configFile, backendName(name))))
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

/** The session of an action: built from the command's global options. */
export function sessionOf(command: Command): Session {
  return new Session(command.optsWithGlobals<GlobalOptions>())
}
