/**
 * `configure()`: set the configuration from code.
 *
 * @module
 */
import { InvalidConfigError } from '../errors.js'
import { type KVConfig, parseSection, sectionSchema } from './sections.js'
import {
  checkTopLevel,
  isKnownTopLevelKey,
  resetSource,
  type Sections,
  setProgrammatic,
} from './source.js'

/**
 * Sets the configuration from code, in the shape of the YAML file
 * (`configure({ simple_kv: { path: './state' } })`). Its keys override the file's, section by
 * section and key by key (a key given as `undefined` is absent: the file's value stays); a later
 * call replaces an earlier one. It takes effect for stores
 * opened after the call: a store that is open keeps its configuration until it is closed and
 * opened again (only `enabled` is read again when the active store is picked by registration
 * order). Unknown keys, wrong types and values that are not data (a function, a symbol) throw `InvalidConfigError`
 * (`KV_INVALID_CONFIG`) naming the key, and then nothing is changed.
 */
export function configure(config: KVConfig): void {
  const sections = checkTopLevel(config, 'configure()', isKnownTopLevelKey)
  for (const [name, value] of Object.entries(sections)) {
    const schema = sectionSchema(name)
    // Sections of backends that are loaded are checked now; the others when their backend loads.
    if (schema !== undefined) parseSection(name, schema, value, 'configure()')
  }
  setProgrammatic(copyOf(sections))
}

/**
 * A copy of the sections, so that the caller may change its object afterwards. The section of a
 * backend not loaded yet is not parsed, so a function or symbol in it is refused here.
 */
function copyOf(sections: Sections): Sections {
  try {
    return structuredClone(sections)
  } catch (cause) {
    const key = uncopyableKey(sections, '')
    throw new InvalidConfigError(
      `Invalid configuration in configure(): "${key}" is not data (${(cause as Error).message}); configuration values are strings, numbers, booleans, lists and mappings`,
      { key, cause },
    )
  }
}

/** The dotted path of the first value in `value` that structuredClone refuses (error path only). */
function uncopyableKey(value: unknown, path: string): string {
  if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      try {
        structuredClone(inner)
      } catch {
        return uncopyableKey(inner, path === '' ? key : `${path}.${key}`)
      }
    }
  }
  return path
}

/** Forgets the configuration: the file is read again on next use and `configure()` is undone. */
export function resetConfiguration(): void {
  resetSource()
}
