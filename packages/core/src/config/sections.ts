/**
 * Configuration sections. Core owns the mechanism; each backend package defines its own section
 * (`badger:`, `simple_kv:`, `elastic:`) with a zod schema that carries the defaults, so the keys
 * and defaults of a backend live in that backend's package.
 *
 * @module
 */
import type { z } from 'zod'
import { InvalidConfigError } from '../errors.js'
import { state } from '../shared-state.js'
import {
  configSource,
  isKnownTopLevelKey,
  isOtherObject,
  otherObjectNote,
  rawSection,
  validateFile,
} from './source.js'

/**
 * The shape of `configure()`'s argument and of the YAML file. Backend packages add their section
 * by declaration merging, so `configure({ simple_kv: { path } })` is type-checked once
 * `@kv/simple` is imported.
 */
// biome-ignore lint/suspicious/noEmptyInterface: augmented by backend packages.
export interface ConfigSections {}

/** The whole configuration: a data directory and one section per backend. */
export type KVConfig = {
  /** Directory under which backends put their files when their `path` is not set (`./data`). */
  data_dir?: string
} & { [K in keyof ConfigSections]?: ConfigSections[K] } & Record<string, unknown>

/** A backend's section, as defined with {@link defineConfigSection}. */
export interface ConfigSection<T> {
  /** The section's key in the file, for example `simple_kv`. */
  readonly name: string
  /** Validates `input` (an object shaped like the section) and applies the defaults. */
  parse(input: unknown, source?: string): T
  /** The section as configured now: the file's values, overridden by `configure()`'s. */
  resolve(): T
}

const { schemas } = state

/** The schema of a section, if a loaded backend defined it. */
export function sectionSchema(name: string): z.ZodType | undefined {
  return schemas.get(name)
}

/**
 * Defines a backend's configuration section. Call it once at module level in the backend
 * package; use a strict object schema with `.default()` on every key so that unknown keys are
 * refused and missing keys get the documented defaults.
 */
export function defineConfigSection<S extends z.ZodType>(
  name: string,
  schema: S,
): ConfigSection<z.output<S>> {
  const existing = schemas.get(name)
  // A second copy of the same backend package (two versions installed) defines the section again;
  // the first definition stays in force.
  if (existing === undefined) schemas.set(name, schema)
  return {
    name,
    parse: (input, source = 'options') => parseSection(name, schema, input, source),
    resolve: () => {
      validateFile(isKnownTopLevelKey)
      return parseSection(name, schema, rawSection(name), configSource())
    },
  }
}

/** Validates one section and turns zod's issues into an {@link InvalidConfigError} naming the key. */
export function parseSection<S extends z.ZodType>(
  name: string,
  schema: S,
  input: unknown,
  source: string,
): z.output<S> {
  if (isOtherObject(input)) {
    // zod reads an object's properties, so a Map would pass as an empty section, unchecked.
    throw new InvalidConfigError(
      `Invalid configuration in ${source}: "${name}" must be a mapping of options${otherObjectNote(input)}`,
      { key: name },
    )
  }
  const result = schema.safeParse(input ?? {})
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  let key = [name, ...issue.path.map(String)].join('.')
  let message: string
  if (issue.code === 'unrecognized_keys') {
    key = `${key}.${issue.keys[0]}`
    message = `unknown key "${key}"; see the ${name} section of the package README for the keys it accepts`
  } else {
    message = `"${key}": ${issue.message}`
  }
  throw new InvalidConfigError(`Invalid configuration in ${source}: ${message}`, {
    key,
    cause: result.error,
  })
}
