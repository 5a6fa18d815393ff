/**
 * The process-wide state of @kv/core: the registry and the configuration.
 *
 * It lives in one `globalThis` slot rather than in module variables because a process can load
 * @kv/core more than once — its ESM and CommonJS builds side by side (one package `import`s it,
 * another `require`s it), or two installed copies. Backends register with whichever copy they
 * import; without one shared slot, each copy would have its own registry and configuration, and
 * `getValue` through one copy would not see a backend registered through the other.
 *
 * The key carries a layout version: a copy whose layout differs uses its own slot.
 *
 * @module
 */
import type { z } from 'zod'
import type { KVStore } from './store.js'

/** The configuration file as read, or not yet read. */
export interface FileConfig {
  path: string | undefined
  data: Record<string, unknown>
}

/** Everything @kv/core keeps per process. */
export interface CoreState {
  /** Registered stores, in registration order. */
  readonly registered: Map<string, KVStore>
  /** The store chosen with `use()`, if any. */
  chosen: string | undefined
  /**
   * The names registered since `use()` chose `chosen`, in order: the latest of them that is
   * enabled is active instead of the chosen store. Optional, so that a copy of @kv/core from
   * before it shares this layout. Such a copy clears `chosen` at each registration instead, and
   * its `use()` and `unregister()` leave this as it is; so the list counts only while `chosen` is
   * still the name it was made for and the registry still holds `size` stores (what it held when
   * this copy last kept the list). One case it cannot tell: the older copy choosing again the
   * very store that is chosen, after this copy registered another — that one stays active.
   */
  registeredSinceChoice?: { chosen: string; names: string[]; size: number }
  /** Configuration sections defined by the loaded backends. */
  readonly schemas: Map<string, z.ZodType>
  /** The configuration file, once read. */
  file: FileConfig | undefined
  /** The configuration given to `configure()`, if any. */
  programmatic: Record<string, unknown> | undefined
}

const KEY = Symbol.for('@kv/core:state:v1')

type WithState = typeof globalThis & { [KEY]?: CoreState }

/** The one state of this process. */
export const state: CoreState = ((globalThis as WithState)[KEY] ??= {
  registered: new Map(),
  chosen: undefined,
  schemas: new Map(),
  file: undefined,
  programmatic: undefined,
})
