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
import { checkPath } from './keys.js'

/**
 * Refuses an empty file name given to `option` (exit 2): resolve('') is the working directory,
 * which an empty name must not silently stand for; and one that is not valid UTF-8 (exit 4, see
 * {@link checkPath}).
 */
export function checkFileOption(option: string, file: string | undefined): void {
  if (file === '') {
    throw new CliError(ExitCode.USAGE, `${option} needs the path of a file, not an empty string`)
  }
  if (file !== undefined) checkPath(file, option)
}

/**
 * Makes `file` the configuration file of this process (`--config FILE`). It is checked here, so
 * that the error names `--config`: @kv/core, reading it later, only knows it from `KV_CONFIG`.
 */
export function useConfigFile(file: string | undefined): void {
  if (file === undefined) {
    // @kv/core reads KV_CONFIG as Node.js decoded it, invalid bytes turned into U+FFFD: it would
    // look for another file (and, not finding it, blame a missing file).
    const fromEnv = process.env.KV_CONFIG
    if (fromEnv) checkPath(fromEnv, 'KV_CONFIG', 'in the environment')
    return
  }
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
 * Where a store keeps its data, as far as the configuration tells without opening it: a file
 * backend's directory, or an elastic index on a cluster.
 */
export type StoreLocation =
  | {
      kind: 'directory'
      /** Absolute, with the symbolic links of its existing part resolved. */
      directory: string
    }
  | {
      kind: 'index'
      /** `index_name`. */
      index: string
      /** The cluster's node URLs, as {@link nodeUrl} normalises them. */
      nodes: string[]
    }

/**
 * `endpoint` as the client reaches it, for comparison: scheme and host in lowercase and the
 * scheme's default port left out (URL parsing does both: `HTTP://ES:80/` is `http://es`), and
 * without the user-info (credentials name no other node), query, fragment and trailing slashes
 * of the path (a path is a proxy's prefix: `/es/` and `/es` are one). `undefined` for a value the
 * backend refuses when it opens (not an http(s) URL).
 */
export function nodeUrl(endpoint: string): string | undefined {
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`
}

/** The shape of the `elastic` section that decides which cluster and index a store uses. */
interface ElasticSection {
  parse(
    input: unknown,
    source?: string,
  ): {
    endpoint: string
    endpoints: string[]
    index_name: string
  }
}

/**
 * The index and nodes the `elastic` section configures, read through @kv/elastic's own schema
 * (its defaults, and its refusal of an unknown key: a typo such as `index_nme` must be reported
 * as such when the store opens, not taken for the default index); `undefined` when @kv/elastic
 * is not installed or the section is not valid — the store reports either when it opens.
 */
async function elasticLocation(section: unknown): Promise<StoreLocation | undefined> {
  // The specifier is a variable so that bundlers leave the import to run time (as backends.ts).
  const pkg = '@kv/elastic'
  let config: ReturnType<ElasticSection['parse']>
  try {
    const { elasticSection } = (await import(pkg)) as { elasticSection: ElasticSection }
    config = elasticSection.parse(section)
  } catch {
    return undefined
  }
  // As the backend does: `endpoints`, when not empty, overrides `endpoint`.
  const list = config.endpoints.length > 0 ? config.endpoints : [config.endpoint]
  const nodes: string[] = []
  for (const given of list) {
    const node = nodeUrl(given)
    if (node === undefined) return undefined
    nodes.push(node)
  }
  return { kind: 'index', index: config.index_name, nodes }
}

/**
 * Where the store of backend `name` keeps its data when configured by `configFile` (else by the
 * configuration in force), to tell whether both sides of `migrate` are one store before either
 * is opened (see {@link sharedLocation}). `undefined` for a store kept in memory (badger
 * `memory_mode`), which is a store of its own, and for a configuration the store will refuse
 * when it opens.
 */
export async function storeLocation(
  name: string,
  configFile?: string,
): Promise<StoreLocation | undefined> {
  const file = configFile ?? configFilePath()
  const section = file === undefined ? {} : sectionFromFile(file, name)
  if (name === 'elastic') return await elasticLocation(section)
  if (!FILE_BACKENDS.has(name)) return undefined
  if (section.memory_mode === true) return undefined
  // A path of the wrong type is the store's to report when it opens.
  if (section.path !== undefined && typeof section.path !== 'string') return undefined
  return {
    kind: 'directory',
    directory: realPath(resolve(section.path ?? join(resolve('data'), name))),
  }
}

/**
 * What `a` and `b` have in common when they are one store, else `undefined`: the same directory;
 * or the same index on the same cluster, which a node of both node lists shows (the lists may
 * name the cluster's nodes differently: only the nodes they share are kept). Nodes are compared
 * as configured: two names of one host (`localhost`, `127.0.0.1`), two different nodes of one
 * cluster or an alias of the other side's index would need the cluster (or DNS) to be told,
 * and are not.
 */
export function sharedLocation(
  a: StoreLocation | undefined,
  b: StoreLocation | undefined,
): StoreLocation | undefined {
  if (a === undefined || b === undefined) return undefined
  if (a.kind === 'directory' && b.kind === 'directory') {
    return a.directory === b.directory ? a : undefined
  }
  if (a.kind === 'index' && b.kind === 'index' && a.index === b.index) {
    const nodes = a.nodes.filter((node, i) => b.nodes.includes(node) && a.nodes.indexOf(node) === i)
    return nodes.length > 0 ? { kind: 'index', index: a.index, nodes } : undefined
  }
  return undefined
}

/** `location` for a message: `at /srv/kv/data/badger`, `index "kv" at http://es1:9200`. */
export function describeLocation(location: StoreLocation): string {
  return location.kind === 'directory'
    ? `at ${location.directory}`
    : `index ${JSON.stringify(location.index)} at ${location.nodes.join(', ')}`
}
