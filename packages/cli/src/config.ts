/**
 * Where the configuration comes from. @kv/core reads the YAML file named by `KV_CONFIG`, else
 * `./kv.yml`, else applies defaults; `--config FILE` takes precedence over both by setting
 * `KV_CONFIG` for this process before any store reads its configuration.
 *
 * @module
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { configFilePath, isKnownTopLevelKey, readConfigFile } from '@kv/core'
import { CliError, ExitCode } from './exit-codes.js'

/** Makes `file` the configuration file of this process (`--config FILE`). */
export function useConfigFile(file: string | undefined): void {
  if (file === undefined) return
  const path = resolve(file)
  if (!existsSync(path)) {
    throw new CliError(
      ExitCode.INVALID_INPUT,
      `the configuration file ${path} does not exist (--config)`,
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
