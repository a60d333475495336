/**
 * Last-writer-wins register: holds the value of the write with the highest
 * `(timestamp, node id, canonical value)`, so any two replicas that saw the
 * same writes agree, whatever order they saw them in.
 *
 * ```ts
 * const clock = new HybridLogicalClock('alice')
 * const a = new LWWRegister<string>('alice'), b = new LWWRegister<string>()
 * b.merge(a.set('hello', clock.now()))
 * b.get() // 'hello'
 * ```
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError } from '../errors.js'
import { type JsonValue, canonicalKey, readValue, writeValue } from '../codec/value.js'
import { readUint8 } from '../codec/reader.js'
import { assertNodeId, compareStrings, readNodeId } from '../clock/node-id.js'
import { assertUint, readSafeUint } from '../clock/safe-uint.js'
import { canonicalValue } from './canonical.js'
import { assertSameType, decodeCrdt, encodeCrdt, CrdtTypeTag, optionalNodeId, requireNodeId } from './format.js'

/** One stamped write. Treat as immutable. */
export interface LWWEntry<T extends JsonValue> {
  readonly value: T
  /** An HLC timestamp (see `HybridLogicalClock.now()`), or any safe non-negative integer. */
  readonly timestamp: number
  /** The writer. */
  readonly node: string
}

const valueBytes = (v: JsonValue): Uint8Array => {
  const e = encoding.createEncoder()
  writeValue(e, v)
  return encoding.toUint8Array(e)
}

const compareBytes = (a: Uint8Array, b: Uint8Array): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}

/**
 * Total order of writes: by timestamp, then node id, then canonical value,
 * and last by exact encoding (so even decoded non-canonical values such as
 * `-0` order deterministically).
 */
export const compareLWWEntries = <T extends JsonValue>(a: LWWEntry<T>, b: LWWEntry<T>): number => {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1
  const byNode = compareStrings(a.node, b.node)
  if (byNode !== 0) return byNode
  if (a.value === b.value) return 0
  const ka = canonicalKey(a.value)
  const kb = canonicalKey(b.value)
  if (ka !== kb) return ka < kb ? -1 : 1
  return compareBytes(valueBytes(a.value), valueBytes(b.value))
}

/** A last-writer-wins register (delta-state); empty until the first write. */
export class LWWRegister<T extends JsonValue = JsonValue> {
  /** The default writer of {@link LWWRegister.set}; undefined for a replica that must name the writer on each set. */
  readonly nodeId: string | undefined
  private entry: LWWEntry<T> | undefined

  constructor (nodeId?: string, entry?: LWWEntry<T>) {
    this.nodeId = optionalNodeId(nodeId)
    this.entry = entry
  }

  /** Reads an encoding of {@link LWWRegister.encode}; {@link DecodeError} on bad bytes. */
  static decode<T extends JsonValue = JsonValue> (bytes: Uint8Array, nodeId?: string): LWWRegister<T> {
    const entry = decodeCrdt('LWWRegister', bytes, d => {
      const flag = readUint8(d, 'presence flag')
      if (flag === 0) return undefined
      if (flag !== 1) throw new DecodeError(`bad presence flag ${flag}`)
      const timestamp = readSafeUint(d, 'timestamp')
      const node = readNodeId(d, 'writer node id')
      return { timestamp, node, value: readValue(d) as T }
    })
    return new LWWRegister<T>(nodeId, entry)
  }

  /**
   * Writes `value` stamped with `timestamp` (an HLC timestamp) by `node`
   * (default: this replica's nodeId) and returns the delta. The write is
   * merged like a remote one: if the register already holds a later write,
   * it keeps that one. The register stores a canonical copy of `value`.
   */
  set (value: T, timestamp: number, node: string | undefined = this.nodeId): LWWRegister<T> {
    const writer = node === undefined ? requireNodeId(undefined, 'LWWRegister') : assertNodeId(node, 'writer node id')
    assertUint(timestamp, 'timestamp')
    const entry: LWWEntry<T> = { value: canonicalValue(value), timestamp, node: writer }
    const delta = new LWWRegister<T>(this.nodeId, entry)
    this.mergeEntry(entry)
    return delta
  }

  /** The current value, or undefined before the first write. */
  get (): T | undefined { return this.entry?.value }

  /** Same as {@link LWWRegister.get}. */
  value (): T | undefined { return this.entry?.value }

  /** The timestamp of the current value (undefined before the first write). */
  get timestamp (): number | undefined { return this.entry?.timestamp }

  /** The writer of the current value (undefined before the first write). */
  get writer (): string | undefined { return this.entry?.node }

  /** Keeps the later of the two writes, in place. */
  merge (other: LWWRegister<T>): this {
    assertSameType(other, LWWRegister)
    if (other.entry !== undefined) this.mergeEntry(other.entry)
    return this
  }

  private mergeEntry (e: LWWEntry<T>): void {
    if (this.entry === undefined || compareLWWEntries(e, this.entry) > 0) this.entry = e
  }

  clone (): LWWRegister<T> { return new LWWRegister<T>(this.nodeId, this.entry) }

  /** The full state: `{ type: 'LWWRegister', value, timestamp, node }` (nulls when empty). */
  toJSON (): { type: 'LWWRegister', value: T | null, timestamp: number | null, node: string | null } {
    const e = this.entry
    return { type: 'LWWRegister', value: e?.value ?? null, timestamp: e?.timestamp ?? null, node: e?.node ?? null }
  }

  /** Format version, type tag, presence flag, then timestamp, writer and value. */
  encode (): Uint8Array {
    return encodeCrdt(CrdtTypeTag.LWWRegister, e => {
      const entry = this.entry
      if (entry === undefined) { encoding.writeUint8(e, 0); return }
      encoding.writeUint8(e, 1)
      encoding.writeVarUint(e, entry.timestamp)
      encoding.writeVarString(e, entry.node)
      writeValue(e, entry.value)
    })
  }
}
