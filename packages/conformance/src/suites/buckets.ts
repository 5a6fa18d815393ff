/**
 * Buckets (SPEC §3.4): independent keyspaces, whatever characters their names and keys hold.
 *
 * @module
 */
import assert from 'node:assert/strict'
import type { KVStore } from '@kv/core'
import {
  assertMissing,
  assertValue,
  bucketNames,
  hex,
  keysHex,
  show,
} from '../harness/assertions.js'
import { sortedByUtf8, text } from '../harness/data.js'
import { storeTests } from '../harness/define.js'
import type { ConformanceSuite } from '../suite.js'

/** Separators a backend might join bucket and key with (the Go framework uses `,` and `_`). */
const SEPARATORS = [',', '_', '/', '!', '\0', ':', '\u0001', '.', ' ', '|', '\u00ff']

/**
 * Bucket names a backend storing a bucket as a file or directory could confuse: separators it
 * might replace, and names a file system resolves (`.`, `..`, `../x`).
 */
const PATH_LIKE_NAMES = ['a/b', 'a_b', 'a.b', 'a\\b', '.', '..', '../x', 'a', 'x', '/', 'a\\..\\x']

/** Buckets: SPEC §3.4, no collisions between (bucket, key) pairs. */
export const buckets: ConformanceSuite = (runner, target) => {
  runner.describe('buckets', () => {
    const test = storeTests(runner, target)

    for (const sep of SEPARATORS) {
      const long = `a${sep}b`
      const key = `b${sep}c`
      test(`§3.4 bucket ${show(long)} key "c" and bucket "a" key ${show(key)} are different entries`, async (store) => {
        await store.addValue(long, 'c', 'in the long bucket')
        await store.addValue('a', key, 'in the short bucket')
        await assertValue(store, long, 'c', text('in the long bucket'))
        await assertValue(store, 'a', key, text('in the short bucket'))
        assert.deepEqual(await keysHex(store, long), [hex(text('c'))], `keys(${show(long)})`)
        assert.deepEqual(await keysHex(store, 'a'), [hex(text(key))], 'keys("a")')
        assert.deepEqual(
          [...(await bucketNames(store))].sort(),
          ['a', long].sort(),
          'buckets() should list both buckets',
        )

        await store.deleteKey('a', key)
        await assertMissing(store, 'a', key)
        await assertValue(store, long, 'c', text('in the long bucket'))

        await store.addValue('a', key, 'again')
        await store.deleteBucket(long)
        await assertMissing(store, long, 'c', `deleteBucket(${show(long)})`)
        await assertValue(store, 'a', key, text('again'))
      })
    }

    test('§3.4 the same key in different buckets holds different values', async (store) => {
      const names = ['one', 'two', 'One', 'ONE', 'one ']
      for (const name of names) await store.addValue(name, 'k', `value of ${name}`)
      for (const name of names) await assertValue(store, name, 'k', text(`value of ${name}`))
      await store.deleteKey('one', 'k')
      await assertMissing(store, 'one', 'k')
      for (const name of names.slice(1))
        await assertValue(store, name, 'k', text(`value of ${name}`))
    })

    test('§3.4 bucket names are compared byte for byte (no case folding or Unicode normalisation)', async (store) => {
      const composed = '\u00fc' // ü as one code point
      const decomposed = 'u\u0308' // u + combining diaeresis
      await store.addValue(composed, 'k', 'composed')
      await store.addValue(decomposed, 'k', 'decomposed')
      await store.addValue('Ü', 'k', 'upper')
      await assertValue(store, composed, 'k', text('composed'))
      await assertValue(store, decomposed, 'k', text('decomposed'))
      await assertValue(store, 'Ü', 'k', text('upper'))
      assert.equal((await bucketNames(store)).length, 3)
    })

    test('§3.4 a bucket name or key that begins with U+FEFF keeps it (it is not a byte-order mark)', async (store) => {
      await store.addValue('\ufeffbom', '\ufeffk', 'marked')
      await store.addValue('bom', 'k', 'plain')
      await assertValue(store, '\ufeffbom', '\ufeffk', text('marked'))
      await assertValue(store, 'bom', 'k', text('plain'))
      await assertMissing(store, 'bom', '\ufeffk')
      assert.deepEqual(await bucketNames(store), ['bom', '\ufeffbom'])
      assert.deepEqual(await keysHex(store, '\ufeffbom'), [hex(text('\ufeffk'))])
    })

    test('§3.4 a bucket whose name is a prefix of another shares none of its keys', async (store) => {
      await store.addValue('a', 'k1', '1')
      await store.addValue('ab', 'k2', '2')
      await store.addValue('a\0', 'k3', '3')
      assert.deepEqual(await keysHex(store, 'a'), [hex(text('k1'))])
      assert.deepEqual(await keysHex(store, 'ab'), [hex(text('k2'))])
      assert.deepEqual(await keysHex(store, 'a\0'), [hex(text('k3'))])
      await assertMissing(store, 'a', 'k2')
      await assertMissing(store, 'a', 'k3')
      await assertMissing(store, 'a', 'b')
    })

    test(`§3.4 buckets ${PATH_LIKE_NAMES.slice(0, 7)
      .map((name) => show(name))
      .join(
        ', ',
      )} and other path-like names are distinct, each listed by its own name`, async (store, session) => {
      // A backend that maps a bucket to a file or directory name must keep them apart: no
      // replacing "/" or "\\" by another character, no resolving "." or "..".
      const own = (i: number): string => `own-${i}`
      const check = async (current: KVStore, names: readonly string[], after: string) => {
        for (const name of names) {
          const i = PATH_LIKE_NAMES.indexOf(name)
          await assertValue(current, name, 'k', text(`value of ${name}`))
          await assertValue(current, name, own(i), text(name))
          assert.deepEqual(
            await keysHex(current, name),
            [hex(text('k')), hex(text(own(i)))],
            `keys(${show(name)})${after}`,
          )
        }
        assert.deepEqual(await bucketNames(current), sortedByUtf8(names), `buckets()${after}`)
      }
      for (const [i, name] of PATH_LIKE_NAMES.entries()) {
        await store.addValue(name, 'k', `value of ${name}`)
        await store.addValue(name, own(i), name)
      }
      await check(store, PATH_LIKE_NAMES, '')
      await store.deleteBucket('a/b')
      await assertMissing(store, 'a/b', 'k', 'deleteBucket("a/b")')
      const left = PATH_LIKE_NAMES.filter((name) => name !== 'a/b')
      await check(store, left, ', after deleteBucket("a/b")')
      if (target.capabilities?.persistent !== true) return
      await check(await session.reopen(), left, ', after reopening')
    })

    test('§3.4 a key that looks like a bucket name stays in its bucket', async (store) => {
      await store.addValue('a', 'b\0c', 'x')
      await store.addValue('a', '\0', 'y')
      await assertMissing(store, 'a\0', 'c')
      await assertMissing(store, 'a\0', '')
      assert.deepEqual(await bucketNames(store), ['a'])
    })
  })
}
