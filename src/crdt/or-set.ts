/**
 * Add-wins observed-remove set (Almeida et al. 2018, AWORSet): each add
 * tags the element with a fresh dot; a remove deletes the dots it has
 * seen, so a concurrent add (an unseen dot) survives. Removals live in the
 * causal context, not in tombstones: metadata is O(live elements + nodes).
 *
 * ```ts
 * const a = new ORSet<string>('alice'), b = new ORSet<string>('bob')
 * b.merge(a.add('x'))
 * const rm = b.remove('x'), add = a.add('x') // concurrent
 * a.merge(rm); b.merge(add)
 * a.has('x') && b.has('x') // true: add wins
 * ```
 *
 * @module
 */
import { type JsonValue, canonicalKey } from '../codec/value.js'
import { assertValue } from '../codec/value.js'
import { CausalContext, readCausalContext, writeCausalContext } from './causal-context.js'
import {
  type SetStore, cloneSetStore, collectDots, dotReader, dotSetOf, dotsToJSON, joinSetStore, nodeIndex, readSetStore, writeSetStore
} from './dot-store.js'
import { canonicalValue } from './canonical.js'
import { assertSameType, decodeCrdt, encodeCrdt, CrdtTypeTag, optionalNodeId, requireNodeId } from './format.js'

/** Elements of a set store, sorted by canonical key. */
export const setStoreValues = <T>(s: ReadonlyMap<string, { readonly value: T }>): T[] =>
  [...s.keys()].sort().map(k => (s.get(k) as { value: T }).value)

/** An add-wins observed-remove set of JSON-like values (delta-state); elements are equal by canonical key. */
export class ORSet<T extends JsonValue = JsonValue> {
  /** The replica that writes here; undefined for a merge-and-read-only replica. */
  readonly nodeId: string | undefined
  private readonly store: SetStore<T>
  private readonly cc: CausalContext

  constructor (nodeId?: string, store: SetStore<T> = new Map(), cc = new CausalContext()) {
    this.nodeId = optionalNodeId(nodeId)
    this.store = store
    this.cc = cc
  }

  /** Reads an encoding of {@link ORSet.encode}; {@link DecodeError} on bad bytes. */
  static decode<T extends JsonValue = JsonValue> (bytes: Uint8Array, nodeId?: string): ORSet<T> {
    const [store, cc] = decodeCrdt('ORSet', bytes, d => {
      const cc = readCausalContext(d)
      return [readSetStore(d, dotReader(cc)) as SetStore<T>, cc] as const
    })
    return new ORSet<T>(nodeId, store, cc)
  }

  /** Adds `value` (a canonical copy) with a fresh dot; returns the delta. */
  add (value: T): ORSet<T> {
    const node = requireNodeId(this.nodeId, 'ORSet')
    const v = canonicalValue(value)
    const k = canonicalKey(v)
    const dcc = new CausalContext()
    const old = this.store.get(k)
    if (old !== undefined) collectDots(old.dots.values(), dcc)
    const dot = this.cc.next(node)
    dcc.addDot(dot)
    this.store.set(k, { value: v, dots: dotSetOf(dot) })
    return new ORSet<T>(node, new Map([[k, { value: v, dots: dotSetOf(dot) }]]), dcc)
  }

  /** Removes `value` as far as this replica has seen it (concurrent adds win); returns the delta (a context only). */
  remove (value: T): ORSet<T> {
    const k = canonicalKey(assertValue(value))
    const dcc = new CausalContext()
    const old = this.store.get(k)
    if (old !== undefined) {
      collectDots(old.dots.values(), dcc)
      this.store.delete(k)
    }
    return new ORSet<T>(this.nodeId, new Map(), dcc)
  }

  /** Removes every element this replica has seen; returns the delta. */
  clear (): ORSet<T> {
    const dcc = new CausalContext()
    for (const el of this.store.values()) collectDots(el.dots.values(), dcc)
    this.store.clear()
    return new ORSet<T>(this.nodeId, new Map(), dcc)
  }

  /** Whether `value` (by canonical key) is in the set. */
  has (value: T): boolean { return this.store.has(canonicalKey(assertValue(value))) }

  /** The elements, sorted by canonical key. */
  values (): T[] { return setStoreValues(this.store) }

  /** Same as {@link ORSet.values}. */
  value (): T[] { return this.values() }

  /** Number of elements. */
  get size (): number { return this.store.size }

  /** Join of set stores and contexts, in place. */
  merge (other: ORSet<T>): this {
    assertSameType(other, ORSet)
    if (other === this) return this
    joinSetStore(this.store, this.cc, other.store, other.cc)
    this.cc.merge(other.cc)
    return this
  }

  clone (): ORSet<T> { return new ORSet<T>(this.nodeId, cloneSetStore(this.store), this.cc.clone()) }

  /** The full state: elements (sorted by canonical key) with their dots, and the causal context. */
  toJSON (): { type: 'ORSet', elements: Array<[T, Array<[string, number]>]>, context: ReturnType<CausalContext['toJSON']> } {
    const elements = [...this.store.keys()].sort().map(k => {
      const el = this.store.get(k) as { value: T, dots: Map<string, { node: string, seq: number }> }
      return [el.value, dotsToJSON(el.dots.values())] as [T, Array<[string, number]>]
    })
    return { type: 'ORSet', elements, context: this.cc.toJSON() }
  }

  /** Format version, type tag, causal context, then the elements sorted by canonical key with their dots. */
  encode (): Uint8Array {
    return encodeCrdt(CrdtTypeTag.ORSet, e => {
      writeCausalContext(e, this.cc)
      writeSetStore(e, this.store, nodeIndex(this.cc))
    })
  }
}
