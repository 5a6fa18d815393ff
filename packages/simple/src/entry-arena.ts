/**
 * `EntryArena`: every stored entry — its key bytes followed by its value bytes — packed into
 * large shared slabs.
 *
 * An entry lives in a numbered *slot*; typed arrays give each slot its slab, offset, key length,
 * value length and owner (the number of the bucket it belongs to), so an entry costs 20 bytes of
 * slot plus its own bytes, and no object, string or ArrayBuffer of its own. Entries are appended
 * to the current slab; an overwrite or delete leaves dead bytes behind, a slab whose bytes are
 * all dead is released at once, and {@link EntryArena.compactStep} moves the live entries out of
 * mostly-dead slabs so that garbage stays bounded.
 *
 * @module
 */
import { copyOut } from './byte-pool.js'
import { copyBytes } from './copy-bytes.js'
import { keyIdAt } from './key-id.js'

/** Size of a shared slab. */
const SLAB_BYTES = 8 * 1024 * 1024
/** Entries larger than this get a slab of their own, released when the entry is. */
const OWN_SLAB_ABOVE = 1024 * 1024
/** Marks a slot on the free list. */
const FREE = 0xffffffff
/** Marks a slot whose entry has no bytes (empty key and empty value). */
const EMPTY = 0xfffffffe
/** Compaction starts only once this much is dead (and at least as much as is live). */
const COMPACT_MIN_DEAD = 16 * 1024 * 1024

/** Where the entries of a store live. */
export class EntryArena {
  #slabs: (Buffer | undefined)[] = []
  #used: number[] = []
  #dead: number[] = []
  #freeSlabs: number[] = []
  #current = -1
  #top = SLAB_BYTES

  #slabOf = new Uint32Array(1024)
  #offsetOf = new Uint32Array(1024)
  #keyLengthOf = new Uint32Array(1024)
  #valueLengthOf = new Uint32Array(1024)
  #ownerOf = new Uint32Array(1024)
  #slotCount = 0
  #freeSlot = -1

  #liveBytes = 0
  #deadBytes = 0
  /** Compaction in progress: the slabs being emptied, and the next slot to look at. */
  #victims: Set<number> | undefined
  #cursor = 0

  /**
   * Stores a new entry for bucket number `owner`: the key `keySource[keyStart, +keyLength)` and
   * the value `valueSource[valueStart, +valueLength)`. Returns its slot.
   */
  add(
    owner: number,
    keySource: Uint8Array,
    keyStart: number,
    keyLength: number,
    valueSource: Uint8Array,
    valueStart: number,
    valueLength: number,
  ): number {
    let slot = this.#freeSlot
    if (slot >= 0) {
      const next = this.#offsetOf[slot]!
      this.#freeSlot = next === FREE ? -1 : next
    } else {
      slot = this.#slotCount++
      if (slot === this.#slabOf.length) this.#grow()
    }
    this.#ownerOf[slot] = owner
    this.#place(slot, keySource, keyStart, keyLength, valueSource, valueStart, valueLength)
    return slot
  }

  /** Replaces the value of the entry in `slot` (its key is kept). */
  replaceValue(
    slot: number,
    valueSource: Uint8Array,
    valueStart: number,
    valueLength: number,
  ): void {
    const keyLength = this.#keyLengthOf[slot]!
    const slab = this.#slabOf[slot]!
    // A value of the same length (a counter, a fixed-size record) is written over the old one
    // where it is: no slab space is taken and no bytes die, so such overwrites make no garbage
    // to compact. Readers get copies (readValue), and a snapshot being written may see the new
    // value, which it tolerates (snapshot-writer.ts, "fuzzy").
    if (valueLength === this.#valueLengthOf[slot]) {
      if (valueLength > 0) {
        const offset = this.#offsetOf[slot]! + keyLength
        copyBytes(valueSource, valueStart, valueLength, this.#slabs[slab]!, offset)
      }
      return
    }
    // The key is copied from where it is now before that space is released.
    const keySource = slab === EMPTY ? valueSource : this.#slabs[slab]!
    const keyStart = slab === EMPTY ? 0 : this.#offsetOf[slot]!
    this.#release(slot)
    this.#place(slot, keySource, keyStart, keyLength, valueSource, valueStart, valueLength)
  }

  /** Frees `slot` and its bytes. */
  remove(slot: number): void {
    this.#release(slot)
    this.#slabOf[slot] = FREE
    this.#ownerOf[slot] = FREE
    this.#offsetOf[slot] = this.#freeSlot < 0 ? FREE : this.#freeSlot
    this.#freeSlot = slot
  }

  /** One more than the highest slot number ever taken: every slot in use is below it. */
  get slotCount(): number {
    return this.#slotCount
  }

  /** The bucket number `slot` belongs to; 0xFFFFFFFF when the slot is free. */
  owner(slot: number): number {
    return this.#ownerOf[slot]!
  }

  /** True when the key in `slot` equals `key[start, start + length)`. */
  keyEquals(slot: number, key: Uint8Array, start: number, length: number): boolean {
    if (this.#keyLengthOf[slot] !== length) return false
    if (length === 0) return true
    const slab = this.#slabs[this.#slabOf[slot]!]!
    const offset = this.#offsetOf[slot]!
    for (let i = 0; i < length; i++) if (slab[offset + i] !== key[start + i]) return false
    return true
  }

  /** The key in `slot` as a latin1 string (one character per byte), for sorting. */
  keyId(slot: number): string {
    const length = this.#keyLengthOf[slot]!
    if (length === 0) return ''
    const offset = this.#offsetOf[slot]!
    return keyIdAt(this.#slabs[this.#slabOf[slot]!]!, offset, offset + length)
  }

  /** Length of the value in `slot`. */
  valueLength(slot: number): number {
    return this.#valueLengthOf[slot]!
  }

  /** Length of the key in `slot`. */
  keyLength(slot: number): number {
    return this.#keyLengthOf[slot]!
  }

  /** A copy of the value in `slot` that the caller owns. */
  readValue(slot: number): Uint8Array {
    const length = this.#valueLengthOf[slot]!
    if (length === 0) return new Uint8Array(0)
    return copyOut(
      this.#slabs[this.#slabOf[slot]!]!,
      this.#offsetOf[slot]! + this.#keyLengthOf[slot]!,
      length,
    )
  }

  /** Copies the key then the value of `slot` into `target` at `keyAt` and `valueAt`. */
  copyEntryTo(slot: number, target: Buffer, keyAt: number, valueAt: number): void {
    const slab = this.#slabOf[slot]!
    if (slab === EMPTY) return
    const source = this.#slabs[slab]!
    const offset = this.#offsetOf[slot]!
    const keyEnd = offset + this.#keyLengthOf[slot]!
    copyBytes(source, offset, keyEnd - offset, target, keyAt)
    copyBytes(source, keyEnd, this.#valueLengthOf[slot]!, target, valueAt)
  }

  /** Bytes of live entries (keys and values), dead bytes not yet reclaimed, and slab bytes held. */
  get stats(): { liveBytes: number; deadBytes: number; slabBytes: number } {
    let slabBytes = 0
    for (const slab of this.#slabs) slabBytes += slab?.length ?? 0
    return { liveBytes: this.#liveBytes, deadBytes: this.#deadBytes, slabBytes }
  }

  /** True when enough bytes are dead that compacting is worth a pass over the slots. */
  get wantsCompaction(): boolean {
    return (
      this.#victims !== undefined ||
      (this.#deadBytes >= COMPACT_MIN_DEAD && this.#deadBytes >= this.#liveBytes)
    )
  }

  /**
   * Does a bounded share of a compaction pass: looks at up to `budget` slots and moves their
   * entries out of the slabs being emptied. Returns true when the pass is complete. Safe to
   * interleave with any other call: an entry is always read from where its slot says it is now.
   */
  compactStep(budget: number): boolean {
    if (this.#victims === undefined) {
      const victims = new Set<number>()
      for (let id = 0; id < this.#slabs.length; id++) {
        const slab = this.#slabs[id]
        if (slab === undefined || id === this.#current || slab.length !== SLAB_BYTES) continue
        if (this.#dead[id]! * 2 >= this.#used[id]!) victims.add(id)
      }
      if (victims.size === 0) return true
      this.#victims = victims
      this.#cursor = 0
    }
    const victims = this.#victims
    const end = Math.min(this.#slotCount, this.#cursor + budget)
    for (let slot = this.#cursor; slot < end; slot++) {
      const slab = this.#slabOf[slot]!
      if (!victims.has(slab)) continue
      const source = this.#slabs[slab]!
      const offset = this.#offsetOf[slot]!
      const keyLength = this.#keyLengthOf[slot]!
      // Release first: if this was the slab's last live entry the slab goes now, but `source`
      // still holds its bytes for the copy below.
      this.#release(slot)
      this.#place(
        slot,
        source,
        offset,
        keyLength,
        source,
        offset + keyLength,
        this.#valueLengthOf[slot]!,
      )
    }
    this.#cursor = end
    if (end < this.#slotCount) return false
    this.#victims = undefined
    return true
  }

  #place(
    slot: number,
    keySource: Uint8Array,
    keyStart: number,
    keyLength: number,
    valueSource: Uint8Array,
    valueStart: number,
    valueLength: number,
  ): void {
    this.#keyLengthOf[slot] = keyLength
    this.#valueLengthOf[slot] = valueLength
    const length = keyLength + valueLength
    if (length === 0) {
      this.#slabOf[slot] = EMPTY
      this.#offsetOf[slot] = 0
      return
    }
    let id: number
    let offset: number
    if (length > OWN_SLAB_ABOVE) {
      id = this.#newSlab(length)
      offset = 0
    } else {
      if (this.#top + length > SLAB_BYTES) {
        const previous = this.#current
        this.#current = this.#newSlab(SLAB_BYTES)
        this.#top = 0
        if (previous >= 0 && this.#dead[previous] === this.#used[previous]) this.#dropSlab(previous)
      }
      id = this.#current
      offset = this.#top
      this.#top += length
    }
    const target = this.#slabs[id]!
    copyBytes(keySource, keyStart, keyLength, target, offset)
    copyBytes(valueSource, valueStart, valueLength, target, offset + keyLength)
    this.#used[id]! += length
    this.#slabOf[slot] = id
    this.#offsetOf[slot] = offset
    this.#liveBytes += length
  }

  /** Marks the bytes of `slot` dead, dropping their slab when nothing live is left in it. */
  #release(slot: number): void {
    const id = this.#slabOf[slot]!
    if (id === EMPTY || id === FREE) return
    const length = this.#keyLengthOf[slot]! + this.#valueLengthOf[slot]!
    this.#liveBytes -= length
    this.#dead[id]! += length
    this.#deadBytes += length
    if (this.#dead[id] === this.#used[id] && id !== this.#current) this.#dropSlab(id)
  }

  #newSlab(size: number): number {
    const id = this.#freeSlabs.pop() ?? this.#slabs.length
    this.#slabs[id] = Buffer.allocUnsafeSlow(size)
    this.#used[id] = 0
    this.#dead[id] = 0
    return id
  }

  #dropSlab(id: number): void {
    this.#deadBytes -= this.#dead[id]!
    this.#slabs[id] = undefined
    this.#used[id] = 0
    this.#dead[id] = 0
    this.#victims?.delete(id)
    this.#freeSlabs.push(id)
  }

  #grow(): void {
    const size = this.#slabOf.length * 2
    const grow = (old: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> => {
      const next = new Uint32Array(size)
      next.set(old)
      return next
    }
    this.#slabOf = grow(this.#slabOf)
    this.#offsetOf = grow(this.#offsetOf)
    this.#keyLengthOf = grow(this.#keyLengthOf)
    this.#valueLengthOf = grow(this.#valueLengthOf)
    this.#ownerOf = grow(this.#ownerOf)
  }
}
