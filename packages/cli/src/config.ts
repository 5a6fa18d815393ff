/**
 * Where the configuration comes from. @kv/core reads the YAML file named by `KV_CONFIG`, else
 * `./kv.yml`, else applies defaults; `--config FILE` takes precedence over both by setting
 * `KV_CONFIG` for this process before any store reads its configuration.
 *
 * @module
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { configFilePath, InvalidConfigError, isKnownTopLevelKey, readConfigFile } from '@kv/core'
import { CliError, ExitCode } from './exit-codes.js'

/**
 * Refuses an empty file name given to `option` (exit 2): resolve('') is the working directory,
 * which an empty name must not silently stand for.
 */
export function checkFileOption(option: string, file: string | undefined): void {
  if (file === '') {
    throw new CliError(ExitCode.USAGE, `${option} needs the path of a file, not an empty string`)
  }
}

/**
 * Makes `file` the configuration file of this process (`--config FILE`). It is checked here, so
 * that the error names `--config`: @kv/core, reading it later, only knows it from `KV_CONFIG`.
 */
export function useConfigFile(file: string | undefined): void {
  if (file === undefined) return
  checkFileOption('--config', file)
  const path = resolve(file)
  if (!existsSync(path)) {
    throw new CliError(
      ExitCode.INVALID_INPUT,
      `the configuration file ${path} does not exist (--config)`,
    )
  }
  try {
    readFileSync(path)
  } catch (cause) {
    // A directory, a file without read permission: KV_INVALID_CONFIG, as @kv/core reports it.
    throw new InvalidConfigError(
      `Cannot read the configuration file ${path} (given with --config): ${(cause as Error).message}`,
      { cause },
    )
  }
  process.env.KV_CONFIG = path
}

/** A description of the configuration in force, for `kv stats` and messages. */
export function describeConfig(): string {
  return configFilePath() ?? 'defaults (no KV_CONFIG, no ./kv.yml)'
}

/** Backends whose default location is `<data_dir>/<name>` under their `path` key. */
const FILE_BACKENDS = new Set(['simple_kv', 'badger'])

/**
 * The options of backend `name` from another configuration file (`migrate --from-config`): its
 * section, with the default `path` of a file backend taken under that file's `data_dir`. Unknown
 * top-level keys are refused (`KV_INVALID_CONFIG`, exit 4).
 */
export function sectionFromFile(file: string, name: string): Record<string, unknown> {
  // Read and checked as @kv/core reads the file in force (KV_INVALID_CONFIG, exit 4), with
  // unknown top-level keys refused: a misspelt `badgr:` must not leave the store on its defaults.
  const sections = readConfigFile(resolve(file), { isKnown: isKnownTopLevelKey })
  const section = { ...((sections[name] ?? {}) as Record<string, unknown>) }
  if (FILE_BACKENDS.has(name) && section.path === undefined) {
    const dataDir = (sections.data_dir as string | undefined) ?? 'data'
    section.path = join(resolve(dataDir), name)
  }
  return section
}

/** Absolute `path` with the symbolic links of its existing part resolved. */
function realPath(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    const parent = dirname(path)
    return parent === path ? path : join(realPath(parent), basename(path))
  }
}

/**
 * Where the store of backend `name` keeps its data when configured by `configFile` (else by the
 * configuration in force), to tell whether both sides of `migrate` are one store before either
 * is opened: `at <directory>` for a file backend (`simple_kv`, `badger`), `configured by <file>`
 * for another (its cluster and index are the backend's to resolve); `undefined` for a store kept
 * in memory (badger `memory_mode`), which is a store of its own.
 */
export function storeLocation(name: string, configFile?: string): string | undefined {
  const file = configFile ?? configFilePath()
  if (!FILE_BACKENDS.has(name)) {
    return `configured by ${file === undefined ? 'the defaults' : realPath(resolve(file))}`
  }
  const section = file === undefined ? {} : sectionFromFile(file, name)
  if (section.memory_mode === true) return undefined
  // A path of the wrong type is the store's to report when it opens.
  if (section.path !== undefined && typeof section.path !== 'string') return undefined
  return `at ${realPath(resolve(section.path ?? join(resolve('data'), name)))}`
}
