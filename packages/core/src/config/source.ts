/**
 * Where configuration comes from: the YAML file named by `KV_CONFIG`, else `./kv.yml` when it
 * exists, else nothing (defaults); overridden key by key by `configure()`.
 *
 * The file is read on first use, never on import, so `configure()` may be called after a
 * backend package has been imported.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseDocument } from 'yaml'
import { InvalidConfigError } from '../errors.js'
import { type FileConfig, state } from '../shared-state.js'
import { closestKey } from './closest-key.js'

export type Sections = Record<string, unknown>

/** Section names that a config file may hold even when their backend package is not installed. */
export const KNOWN_SECTIONS: readonly string[] = ['badger', 'simple_kv', 'elastic']

/** Names allowed at the top level of the configuration (a third-party section once defined). */
export function isKnownTopLevelKey(name: string): boolean {
  return name === 'data_dir' || state.schemas.has(name) || KNOWN_SECTIONS.includes(name)
}

/**
 * Whether `value` is an object that is neither an array nor a plain mapping: a `Map` (YAML
 * `!!omap`), a `Set` (`!!set`), a `Uint8Array` (`!!binary`), a class instance. Its entries are not
 * properties, so read as a section it would silently be empty, its keys unchecked.
 */
export function isOtherObject(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !isPlainMapping(value)
  )
}

/** What an error adds about `value` when it {@link isOtherObject}. */
export function otherObjectNote(value: unknown): string {
  return isOtherObject(value)
    ? ' (a plain mapping: YAML tags such as !!omap, !!set or !!binary, or a Map, are not accepted)'
    : ''
}

/** The path of the configuration file in force, or `undefined` when there is none. */
export function configFilePath(): string | undefined {
  const fromEnv = process.env.KV_CONFIG
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv)
  const local = resolve('kv.yml')
  return existsSync(local) ? local : undefined
}

function loadFile(): FileConfig {
  if (state.file !== undefined) return state.file
  const path = configFilePath()
  if (path === undefined) return (state.file = { path, data: {} })
  const origin = process.env.KV_CONFIG ? ' (named by KV_CONFIG)' : ''
  return (state.file = { path, data: readConfigFile(path, { origin }) })
}

/**
 * Reads a configuration file as @kv/core reads the one in force: YAML, a plain mapping of
 * sections (`data_dir` a non-empty string, each section a plain mapping), and, with `isKnown`,
 * no top-level key it does not know. For tools that read another configuration file than the
 * one in force (`kv migrate --to-config`). Throws `InvalidConfigError` (`KV_INVALID_CONFIG`)
 * naming the file (and the key) when it cannot be read or breaks a rule.
 *
 * @param path - The file.
 * @param options.isKnown - Refuses a top-level key for which it returns false.
 * @param options.origin - Said after the path when the file cannot be read (where it was named).
 */
export function readConfigFile(
  path: string,
  options: { isKnown?: (key: string) => boolean; origin?: string } = {},
): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (cause) {
    throw new InvalidConfigError(
      `Cannot read the configuration file ${path}${options.origin ?? ''}: ${(cause as Error).message}`,
      { cause },
    )
  }
  let data: unknown
  let refusal: string | undefined
  try {
    const document = parseDocument(text)
    const [error] = document.errors
    if (error !== undefined) throw error
    const { yaml } = document.directives
    // A `%YAML 1.1` document is read with 1.1's rules whatever the options say: merge keys
    // applied, `yes`/`on` as true. kv reads YAML 1.2, and says so rather than read it otherwise.
    if (yaml.explicit && yaml.version !== '1.2') {
      refusal = `it declares %YAML ${yaml.version}, and kv reads YAML 1.2 (where << is no merge key and yes is a string): remove the directive and write it as YAML 1.2`
    } else if (document.warnings.length > 0) {
      // An unknown tag (`!foo`) resolves to a string, and an unknown directive is ignored, with
      // only a warning on the console.
      const [warning] = document.warnings
      const advice =
        warning!.code === 'TAG_RESOLVE_FAILED'
          ? 'kv takes no custom tags: remove it'
          : 'kv reads plain YAML 1.2: remove it'
      refusal = `${warning!.message.split('\n')[0]} (${advice})`
    } else {
      data = document.toJS()
    }
  } catch (cause) {
    throw new InvalidConfigError(
      `The configuration file ${path} is not valid YAML: ${(cause as Error).message}`,
      {
        cause,
      },
    )
  }
  if (refusal !== undefined) {
    throw new InvalidConfigError(`The configuration file ${path} cannot be read: ${refusal}`)
  }
  return checkTopLevel(data ?? {}, path, options.isKnown)
}

/**
 * Whether `value` is a plain mapping: what YAML gives for a mapping and what `{ … }` is in code.
 * Its prototype is `null` or has no prototype itself — `Object.prototype` of any realm, so that an
 * object made in a `vm` context (as test runners do) counts too. A `Map`, a `Set`, an array or a
 * class instance does not.
 */
export function isPlainMapping(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === null || Object.getPrototypeOf(prototype) === null
}

/** Checks that `config` is a plain mapping of known sections, each a plain mapping (or empty). */
export function checkTopLevel(
  config: unknown,
  source: string,
  isKnown?: (key: string) => boolean,
): Sections {
  if (!isPlainMapping(config)) {
    throw new InvalidConfigError(
      `Invalid configuration in ${source}: expected a mapping of sections${otherObjectNote(config)}`,
    )
  }
  // Unknown keys first: a mistyped `data_dri: ./x` is named as unknown, with the key it most
  // likely stands for, not as a section that must be a mapping.
  for (const key of Object.keys(config)) {
    if (isKnown !== undefined && !isKnown(key)) {
      const closest = closestKey(key, ['data_dir', ...KNOWN_SECTIONS, ...state.schemas.keys()])
      throw new InvalidConfigError(
        `Invalid configuration in ${source}: unknown key "${key}"${closest === undefined ? '' : ` (did you mean "${closest}"?)`}; expected data_dir or a backend section such as badger, simple_kv or elastic`,
        { key },
      )
    }
  }
  for (const [key, value] of Object.entries(config)) {
    // Without `isKnown` (the file in force, read before every backend may be imported), a key
    // not known yet is left to the check a store makes when it reads its section: it may be the
    // section of a third-party backend imported later, or a typo that check names as such.
    if (isKnown === undefined && !isKnownTopLevelKey(key)) continue
    // A key given as undefined is absent (code often writes `{ badger: options.badger }`).
    if (value === undefined) continue
    if (key === 'data_dir') {
      if (typeof value !== 'string' || value === '') {
        throw new InvalidConfigError(
          `Invalid configuration in ${source}: "data_dir" must be a non-empty string`,
          {
            key,
          },
        )
      }
    } else if (value !== null && !isPlainMapping(value)) {
      throw new InvalidConfigError(
        `Invalid configuration in ${source}: "${key}" must be a mapping of options${otherObjectNote(value)}`,
        { key },
      )
    }
  }
  return config as Sections
}

/** Remembers `config` as the programmatic configuration (see `configure()`). */
export function setProgrammatic(config: Sections | undefined): void {
  state.programmatic = config
}

/** Forgets the file read so far and the programmatic configuration. */
export function resetSource(): void {
  state.file = undefined
  state.programmatic = undefined
}

/** A description of where the configuration came from, for error messages. */
export function configSource(): string {
  const path = loadFile().path
  if (state.programmatic !== undefined) return path ? `configure() and ${path}` : 'configure()'
  return path ?? 'the defaults'
}

/**
 * One section, merged: the file's keys overridden by `configure()`'s. A key `configure()` gives
 * as `undefined` is absent, as at the top level: code passing its own optional settings through
 * (`{ sync_writes: options.sync }`) must not erase the file's `sync_writes: true`.
 */
export function rawSection(name: string): Record<string, unknown> {
  const fromFile = loadFile().data[name] as object | null | undefined
  const fromCode = Object.entries((state.programmatic?.[name] as object | null | undefined) ?? {})
  // fromEntries and spread define keys (even one named __proto__) rather than assign them.
  return { ...fromFile, ...Object.fromEntries(fromCode.filter(([, value]) => value !== undefined)) }
}

/** The data directory: `data_dir` from `configure()` or the file, else `./data`. */
export function dataDir(): string {
  const value = state.programmatic?.data_dir ?? loadFile().data.data_dir ?? 'data'
  return resolve(value as string)
}

/** Validates the top level of the file now, so a bad file fails at first use with its name. */
export function validateFile(isKnown: (key: string) => boolean): void {
  const { path, data } = loadFile()
  if (path !== undefined) checkTopLevel(data, path, isKnown)
}
