/**
 * Multi-value register: a write replaces every value its writer had seen;
 * concurrent writes are all kept until a later write sees them. Built from
 * a DotFun (dot → value) and a causal context.
 *
 * ```ts
 * const a = new MVRegister<string>('alice'), b = new MVRegister<string>('bob')
 * const da = a.set('tea'), db = b.set('coffee')
 * a.merge(db); b.merge(da)
 * a.values() // ['coffee', 'tea'] on both
 * ```
 *
 * @module
 */
import { type JsonValue, canonicalKey } from '../codec/value.js'
import { CausalContext, readCausalContext, writeCausalContext } from './causal-context.js'
import { type DotFun, collectDots, dotReader, joinDots, nodeIndex, readValueDots, sortedDots, writeValueDots } from './dot-store.js'
import { canonicalValue } from './canonical.js'
import { dotKey } from './causal-context.js'
import { assertSameType, decodeCrdt, encodeCrdt, CrdtTypeTag, optionalNodeId, requireNodeId } from './format.js'

/** Distinct values of a DotFun, sorted by canonical key. */
export const sortedDistinctValues = <T extends JsonValue>(fun: ReadonlyMap<string, { readonly value: T }>): T[] => {
  const byKey = new Map<string, T>()
  for (const e of fun.values()) {
    const k = canonicalKey(e.value)
    if (!byKey.has(k)) byKey.set(k, e.value)
  }
  return [...byKey.keys()].sort().map(k => byKey.get(k) as T)
}

/** A multi-value register (delta-state). */
export class MVRegister<T extends JsonValue = JsonValue> {
  /** The replica that writes here; undefined for a merge-and-read-only replica. */
  readonly nodeId: string | undefined
  private readonly fun: DotFun<T>
  private readonly cc: CausalContext

  constructor (nodeId?: string, fun: DotFun<T> = new Map(), cc = new CausalContext()) {
    this.nodeId = optionalNodeId(nodeId)
    this.fun = fun
    this.cc = cc
  }

  /** Reads an encoding of {@link MVRegister.encode}; {@link DecodeError} on bad bytes. */
  static decode<T extends JsonValue = JsonValue> (bytes: Uint8Array, nodeId?: string): MVRegister<T> {
    const [fun, cc] = decodeCrdt('MVRegister', bytes, d => {
      const cc = readCausalContext(d)
      return [readValueDots(d, dotReader(cc)) as DotFun<T>, cc] as const
    })
    return new MVRegister<T>(nodeId, fun, cc)
  }

  /** Replaces every value this replica has seen with `value` (a canonical copy); returns the delta. */
  set (value: T): MVRegister<T> {
    const node = requireNodeId(this.nodeId, 'MVRegister')
    const v = canonicalValue(value)
    const dcc = new CausalContext()
    collectDots(this.fun.values(), dcc)
    this.fun.clear()
    const dot = this.cc.next(node)
    dcc.addDot(dot)
    const entry = { node: dot.node, seq: dot.seq, value: v }
    this.fun.set(dotKey(dot.node, dot.seq), entry)
    return new MVRegister<T>(node, new Map([[dotKey(dot.node, dot.seq), entry]]), dcc)
  }

  /** Removes every value this replica has seen (concurrent writes survive); returns the delta. */
  clear (): MVRegister<T> {
    const dcc = new CausalContext()
    collectDots(this.fun.values(), dcc)
    this.fun.clear()
    return new MVRegister<T>(this.nodeId, new Map(), dcc)
  }

  /** The concurrent values, distinct and sorted by canonical key (empty before the first write). */
  values (): T[] { return sortedDistinctValues(this.fun) }

  /** Same as {@link MVRegister.values}. */
  value (): T[] { return this.values() }

  /** Whether more than one distinct value is held (concurrent writes). */
  get hasConflict (): boolean { return this.values().length > 1 }

  /** Join of DotFuns and contexts, in place. */
  merge (other: MVRegister<T>): this {
    assertSameType(other, MVRegister)
    if (other === this) return this
    joinDots(this.fun, this.cc, other.fun, other.cc)
    this.cc.merge(other.cc)
    return this
  }

  clone (): MVRegister<T> { return new MVRegister<T>(this.nodeId, new Map(this.fun), this.cc.clone()) }

  /** The full state: values with their dots (sorted by dot) and the causal context. */
  toJSON (): { type: 'MVRegister', entries: Array<[string, number, T]>, context: ReturnType<CausalContext['toJSON']> } {
    return {
      type: 'MVRegister',
      entries: sortedDots(this.fun.values()).map(e => [e.node, e.seq, e.value]),
      context: this.cc.toJSON()
    }
  }

  /** Format version, type tag, causal context, then the (dot, value) entries sorted by dot. */
  encode (): Uint8Array {
    return encodeCrdt(CrdtTypeTag.MVRegister, e => {
      writeCausalContext(e, this.cc)
      writeValueDots(e, this.fun, nodeIndex(this.cc))
    })
  }
}
