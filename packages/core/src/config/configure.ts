/**
 * `configure()`: set the configuration from code.
 *
 * @module
 */
import { isKnownTopLevelKey, type KVConfig, parseSection, sectionSchema } from './sections.js'
import { checkTopLevel, resetSource, setProgrammatic } from './source.js'

/**
 * Sets the configuration from code, in the shape of the YAML file
 * (`configure({ simple_kv: { path: './state' } })`). Its keys override the file's, section by
 * section and key by key; a later call replaces an earlier one. It takes effect for stores
 * opened after the call: a store that is open keeps its configuration until it is closed and
 * opened again (only `enabled` is read again when the active store is picked by registration
 * order). Unknown keys and wrong types throw `InvalidConfigError`
 * (`KV_INVALID_CONFIG`) naming the key, and then nothing is changed.
 */
export function configure(config: KVConfig): void {
  const sections = checkTopLevel(config, 'configure()', isKnownTopLevelKey)
  for (const [name, value] of Object.entries(sections)) {
    const schema = sectionSchema(name)
    // Sections of backends that are loaded are checked now; the others when their backend loads.
    if (schema !== undefined) parseSection(name, schema, value, 'configure()')
  }
  setProgrammatic(structuredClone(sections))
}

/** Forgets the configuration: the file is read again on next use and `configure()` is undone. */
export function resetConfiguration(): void {
  resetSource()
}
