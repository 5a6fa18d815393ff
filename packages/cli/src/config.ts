/**
 * Where the configuration comes from. @kv/core reads the YAML file named by `KV_CONFIG`, else
 * `./kv.yml`, else applies defaults; `--config FILE` takes precedence over both by setting
 * `KV_CONFIG` for this process before any store reads its configuration.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { configFilePath, z } from '@kv/core'
import { parse as parseYaml } from 'yaml'
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

const sideFile = z.looseObject({ data_dir: z.string().min(1).optional() })

/** Backends whose default location is `<data_dir>/<name>` under their `path` key. */
const FILE_BACKENDS = new Set(['simple_kv', 'badger'])

/**
 * The options of backend `name` from another configuration file (`migrate --from-config`): its
 * section, with the default `path` of a file backend taken under that file's `data_dir`.
 */
export function sectionFromFile(file: string, name: string): Record<string, unknown> {
  const path = resolve(file)
  let data: unknown
  try {
    data = parseYaml(readFileSync(path, 'utf8')) ?? {}
  } catch (cause) {
    throw new CliError(
      ExitCode.INVALID_INPUT,
      `cannot read the configuration file ${path}: ${(cause as Error).message}`,
      { cause },
    )
  }
  const parsed = sideFile.safeParse(data)
  if (!parsed.success) {
    throw new CliError(
      ExitCode.INVALID_INPUT,
      `invalid configuration in ${path}: expected a mapping with an optional data_dir string`,
    )
  }
  const raw = parsed.data[name] ?? {}
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CliError(
      ExitCode.INVALID_INPUT,
      `invalid configuration in ${path}: "${name}" must be a mapping`,
    )
  }
  const section = { ...(raw as Record<string, unknown>) }
  if (FILE_BACKENDS.has(name) && section.path === undefined) {
    section.path = join(resolve(parsed.data.data_dir ?? 'data'), name)
  }
  return section
}
