import fs from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'

/**
 * Makes the file system's `call` (of fs/promises) on `path` fail with EIO, as on a failing disk,
 * until the returned function is called. A failure injected at the file-system boundary: every
 * other call goes to the real function, and `syncBuiltinESMExports` makes the modules'
 * `import { open }` (and the like) see the wrapper. `open` is how `syncDirectory` syncs a
 * directory.
 */
export function failFileSystem(call: 'open' | 'rm', path: string): () => void {
  const promises = fs.promises as unknown as Record<string, (...args: unknown[]) => unknown>
  const real = promises[call]!
  promises[call] = async (target: unknown, ...rest: unknown[]) => {
    if (String(target) === path) {
      throw Object.assign(new Error(`EIO: i/o error, ${call} '${path}'`), {
        code: 'EIO',
        errno: -5,
        syscall: call,
        path,
      })
    }
    return real(target, ...rest)
  }
  syncBuiltinESMExports()
  return () => {
    promises[call] = real
    syncBuiltinESMExports()
  }
}
