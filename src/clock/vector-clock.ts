/**
 * Version vectors keyed by node id.
 *
 * ```ts
 * const a = new VectorClock(); a.increment('alice')
 * const b = VectorClock.decode(a.encode()); b.increment('bob')
 * a.compare(b) // 'before'
 * ```
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError } from '../errors.js'
import { type Decoder, decodeWith, readCount, readUint8 } from '../codec/reader.js'
import { Ordering } from './ordering.js'
import { assertNodeId, compareStrings, readNodeId } from './node-id.js'
import { addSafe, assertUint, readSafeUint } from './safe-uint.js'

/** The leading byte of {@link VectorClock.encode}. */
export const VECTOR_CLOCK_VERSION = 1

/**
 * A version vector: one counter per node, missing nodes count as 0 (a clock
 * holding `{ a: 0 }` equals the empty clock). Node ids are strings of at most
 * 64 UTF-8 bytes; counters are safe integers.
 */
export class VectorClock {
  private readonly counters = new Map<string, number>()

  /** Builds a clock from `{ node: counter }` or `[node, counter]` pairs. */
  static from (record: Readonly<Record<string, number>> | Iterable<readonly [string, number]>): VectorClock {
    const vc = new VectorClock()
    const pairs = Symbol.iterator in record ? record as Iterable<readonly [string, number]> : Object.entries(record)
    for (const [node, n] of pairs) vc.set(node, n)
    return vc
  }

  /** Reads a clock written by {@link VectorClock.encode}; {@link DecodeError} on bad bytes. */
  static decode (bytes: Uint8Array): VectorClock {
    return decodeWith('VectorClock', bytes, d => {
      const version = readUint8(d, 'version')
      if (version !== VECTOR_CLOCK_VERSION) throw new DecodeError(`unsupported version ${version}`)
      return readVectorClock(d)
    })
  }

  /** Number of nodes with a non-zero counter. */
  get size (): number { return this.counters.size }

  /** The counter of `node` (0 if unknown). */
  get (node: string): number { return this.counters.get(node) ?? 0 }

  /** Sets the counter of `node` (0 removes it). Meant for codecs and internal use. */
  set (node: string, n: number): this {
    assertNodeId(node)
    assertUint(n, 'counter')
    if (n === 0) this.counters.delete(node)
    else this.counters.set(node, n)
    return this
  }

  /** Adds `by` (a non-negative integer) to the counter of `node`; returns the new counter. */
  increment (node: string, by = 1): number {
    assertNodeId(node)
    assertUint(by, 'increment')
    const n = addSafe(this.get(node), by, 'counter')
    if (n > 0) this.counters.set(node, n)
    return n
  }

  /** Pointwise maximum with `other`, in place. */
  merge (other: VectorClock): this {
    for (const [node, n] of other.counters) {
      if (n > this.get(node)) this.counters.set(node, n)
    }
    return this
  }

  /** How this clock relates to `other`. */
  compare (other: VectorClock): Ordering {
    let less = false
    let greater = false
    for (const [node, n] of this.counters) {
      const o = other.get(node)
      if (n > o) greater = true
      else if (n < o) less = true
      if (less && greater) return Ordering.Concurrent
    }
    if (!less || !greater) {
      for (const node of other.counters.keys()) {
        if (!this.counters.has(node)) { less = true; break }
      }
    }
    if (less && greater) return Ordering.Concurrent
    return less ? Ordering.Before : greater ? Ordering.After : Ordering.Equal
  }

  /** Whether both clocks hold the same counters. */
  equals (other: VectorClock): boolean {
    if (this.counters.size !== other.counters.size) return false
    for (const [node, n] of this.counters) if (other.counters.get(node) !== n) return false
    return true
  }

  /** `[node, counter]` pairs with counter > 0, sorted by node id. */
  entries (): Array<[string, number]> {
    return [...this.counters].sort((a, b) => compareStrings(a[0], b[0]))
  }

  clone (): VectorClock {
    const c = new VectorClock()
    for (const [node, n] of this.counters) c.counters.set(node, n)
    return c
  }

  /** `{ node: counter }` with sorted keys. */
  toJSON (): Record<string, number> {
    const o: Record<string, number> = {}
    for (const [node, n] of this.entries()) {
      Object.defineProperty(o, node, { value: n, enumerable: true, writable: true, configurable: true })
    }
    return o
  }

  /** Version byte {@link VECTOR_CLOCK_VERSION}, then {@link writeVectorClock}. */
  encode (): Uint8Array {
    const e = encoding.createEncoder()
    encoding.writeUint8(e, VECTOR_CLOCK_VERSION)
    writeVectorClock(e, this)
    return encoding.toUint8Array(e)
  }
}

/** Writes a count, then `(node, counter)` pairs sorted by node id, as varints. */
export const writeVectorClock = (e: encoding.Encoder, vc: VectorClock): void => {
  const entries = vc.entries()
  encoding.writeVarUint(e, entries.length)
  for (const [node, n] of entries) {
    encoding.writeVarString(e, node)
    encoding.writeVarUint(e, n)
  }
}

/**
 * Reads what {@link writeVectorClock} wrote. Node ids must be strictly
 * ascending (so no duplicates) and counters non-zero safe integers.
 */
export const readVectorClock = (d: Decoder): VectorClock => {
  const vc = new VectorClock()
  const n = readCount(d, 'clock entries', 2)
  let prev: string | undefined
  for (let i = 0; i < n; i++) {
    const node = readNodeId(d)
    if (prev !== undefined && compareStrings(prev, node) >= 0) {
      throw new DecodeError(prev === node ? `duplicate node ${JSON.stringify(node)}` : 'clock entries are not sorted by node id')
    }
    prev = node
    vc.set(node, readSafeUint(d, 'counter', 1))
  }
  return vc
}
