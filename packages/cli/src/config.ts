/**
 * Where the configuration comes from. @kv/core reads the YAML file named by `KV_CONFIG`, else
 * `./kv.yml`, else applies defaults; `--config FILE` takes precedence over both by setting
 * `KV_CONFIG` for this process before any store reads its configuration.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import {
  configFilePath,
  InvalidConfigError,
  isKnownTopLevelKey,
  isPlainMapping,
  KNOWN_SECTIONS,
  z,
} from '@kv/core'
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

/** Said of every mapping the CLI refuses, as @kv/core says it of the file in force. */
const PLAIN = ' (a plain mapping: YAML tags such as !!omap, !!set or !!binary are not accepted)'

/** Backends whose default location is `<data_dir>/<name>` under their `path` key. */
const FILE_BACKENDS = new Set(['simple_kv', 'badger'])

/** The number of single-character edits that turn `a` into `b` (Levenshtein distance). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      )
    }
    previous = current
  }
  return previous[b.length]!
}

/**
 * The known top-level key closest to `key`, when it is a likely misspelling of one (`badgr`) or
 * a shortening (`simple` for `simple_kv`).
 */
function closestKnownKey(key: string): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const known of ['data_dir', ...KNOWN_SECTIONS]) {
    const distance = key.length >= 3 && known.startsWith(key) ? 1 : editDistance(key, known)
    if (distance < bestDistance) [best, bestDistance] = [known, distance]
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined
}

/**
 * Refuses a top-level key @kv/core does not know (`data_dir`, a section of a known or loaded
 * backend), as it does for the configuration file in force: a misspelt `badgr:` must not leave
 * the store silently on its defaults.
 */
function checkTopLevelKeys(data: Record<string, unknown>, path: string): void {
  for (const key of Object.keys(data)) {
    if (isKnownTopLevelKey(key)) continue
    const closest = closestKnownKey(key)
    throw new InvalidConfigError(
      `Invalid configuration in ${path}: unknown key "${key}"${closest === undefined ? '' : ` (did you mean "${closest}"?)`}; expected data_dir or a backend section such as badger, simple_kv or elastic`,
      { key },
    )
  }
}

/**
 * The options of backend `name` from another configuration file (`migrate --from-config`): its
 * section, with the default `path` of a file backend taken under that file's `data_dir`. Unknown
 * top-level keys are refused (`KV_INVALID_CONFIG`, exit 4).
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
  // zod reads properties, so a Map (YAML `!!omap`) or a Set (`!!set`) would pass as an empty
  // mapping and the store would silently run on its defaults.
  if (!parsed.success || !isPlainMapping(data)) {
    throw new CliError(
      ExitCode.INVALID_INPUT,
      `invalid configuration in ${path}: expected a mapping with an optional data_dir string${PLAIN}`,
    )
  }
  checkTopLevelKeys(parsed.data, path)
  const raw = parsed.data[name] ?? {}
  if (!isPlainMapping(raw)) {
    throw new CliError(
      ExitCode.INVALID_INPUT,
      `invalid configuration in ${path}: "${name}" must be a mapping${PLAIN}`,
    )
  }
  const section = { ...(raw as Record<string, unknown>) }
  if (FILE_BACKENDS.has(name) && section.path === undefined) {
    section.path = join(resolve(parsed.data.data_dir ?? 'data'), name)
  }
  return section
}
