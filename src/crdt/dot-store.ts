/**
 * Dot stores (Almeida, Shoker, Baquero 2018, §6): the payloads of causal
 * CRDTs, each paired with a {@link CausalContext}. Joins here are in place:
 * `joinX(a, ca, b, cb)` turns `a` into the store of `(a, ca) ⊔ (b, cb)`;
 * the caller merges the contexts afterwards. Dot entries are immutable and
 * may be shared between replicas; the maps holding them never are.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError } from '../errors.js'
import { type Decoder, readCount } from '../codec/reader.js'
import { type JsonValue, canonicalKey, readValue, writeValue } from '../codec/value.js'
import { readSafeUint } from '../clock/safe-uint.js'
import { type CausalContext, type Dot, compareDots, dotKey } from './causal-context.js'

/** DotSet: a set of dots, keyed by {@link dotKey}. */
export type DotSet = Map<string, Dot>

/** A dot carrying an immutable value (DotFun entry). */
export interface ValueDot<V> extends Dot {
  readonly value: V
}

/** DotFun: dot → value, keyed by {@link dotKey}. */
export type DotFun<V> = Map<string, ValueDot<V>>

/** An element of an observed-remove set and the dots that added it. */
export interface SetElem<T> {
  readonly value: T
  readonly dots: DotSet
}

/** DotMap from an element's canonical key to its DotSet. */
export type SetStore<T> = Map<string, SetElem<T>>

const EMPTY: ReadonlyMap<string, never> = new Map<string, never>()

/** A DotSet holding one dot. */
export const dotSetOf = (dot: Dot): DotSet => new Map([[dotKey(dot.node, dot.seq), dot]])

/** Join of DotSets / DotFuns: keep dots both hold, and dots the other side has not seen. */
export const joinDots = <E extends Dot>(a: Map<string, E>, ca: CausalContext, b: ReadonlyMap<string, E>, cb: CausalContext): void => {
  for (const [k, e] of a) if (!b.has(k) && cb.has(e.node, e.seq)) a.delete(k)
  for (const [k, e] of b) if (!a.has(k) && !ca.has(e.node, e.seq)) a.set(k, e)
}

/** Join of set stores: per element, join of DotSets; elements left without dots disappear. */
export const joinSetStore = <T>(a: SetStore<T>, ca: CausalContext, b: ReadonlyMap<string, SetElem<T>>, cb: CausalContext): void => {
  for (const [k, be] of b) {
    const ae = a.get(k)
    if (ae === undefined) {
      const dots: DotSet = new Map()
      joinDots(dots, ca, be.dots, cb)
      if (dots.size > 0) a.set(k, { value: be.value, dots })
    } else {
      joinDots(ae.dots, ca, be.dots, cb)
      if (ae.dots.size === 0) a.delete(k)
    }
  }
  for (const [k, ae] of a) {
    if (b.has(k)) continue
    joinDots(ae.dots, ca, EMPTY, cb)
    if (ae.dots.size === 0) a.delete(k)
  }
}

/** A deep copy of a set store (dot entries and values shared). */
export const cloneSetStore = <T>(s: ReadonlyMap<string, SetElem<T>>): SetStore<T> => {
  const c: SetStore<T> = new Map()
  for (const [k, e] of s) c.set(k, { value: e.value, dots: new Map(e.dots) })
  return c
}

/** Adds every dot of `dots` to `cc`. */
export const collectDots = (dots: Iterable<Dot>, cc: CausalContext): void => {
  for (const d of dots) cc.addDot(d)
}

/** Dots sorted by node id, then seq. */
export const sortedDots = <E extends Dot>(dots: Iterable<E>): E[] => [...dots].sort(compareDots)

/** `[node, seq]` pairs for toJSON. */
export const dotsToJSON = (dots: Iterable<Dot>): Array<[string, number]> => sortedDots(dots).map(d => [d.node, d.seq])

// --- codecs: dots refer to nodes by index into the context's sorted node list

/** Node id → index in `cc.nodes()`. Every dot of a store is in its context, so its node is listed. */
export const nodeIndex = (cc: CausalContext): Map<string, number> => new Map(cc.nodes().map((n, i) => [n, i]))

/** Decoding state: the context's node list, the context, and every dot seen so far (dots are unique). */
export interface DotReader {
  readonly nodes: string[]
  readonly cc: CausalContext
  readonly seen: Set<string>
}

export const dotReader = (cc: CausalContext): DotReader => ({ nodes: cc.nodes(), cc, seen: new Set() })

export const writeDot = (e: encoding.Encoder, dot: Dot, index: ReadonlyMap<string, number>): void => {
  encoding.writeVarUint(e, index.get(dot.node) as number)
  encoding.writeVarUint(e, dot.seq)
}

/** Reads a dot; it must be in the context and appear once in the whole store. */
export const readDot = (d: Decoder, r: DotReader): Dot => {
  const i = readSafeUint(d, 'dot node index')
  if (i >= r.nodes.length) throw new DecodeError(`dot node index ${i} is out of range (${r.nodes.length} nodes)`)
  const node = r.nodes[i]
  const seq = readSafeUint(d, 'dot seq', 1)
  if (!r.cc.has(node, seq)) throw new DecodeError(`dot ${node}:${seq} is not covered by the causal context`)
  const k = dotKey(node, seq)
  if (r.seen.has(k)) throw new DecodeError(`dot ${node}:${seq} appears twice`)
  r.seen.add(k)
  return { node, seq }
}

/** Count, then the dots sorted. */
export const writeDotSet = (e: encoding.Encoder, dots: ReadonlyMap<string, Dot>, index: ReadonlyMap<string, number>): void => {
  encoding.writeVarUint(e, dots.size)
  for (const dot of sortedDots(dots.values())) writeDot(e, dot, index)
}

/** Reads a non-empty DotSet. */
export const readDotSet = (d: Decoder, r: DotReader): DotSet => {
  const n = readCount(d, 'dots', 2)
  if (n === 0) throw new DecodeError('empty dot set')
  const dots: DotSet = new Map()
  for (let i = 0; i < n; i++) {
    const dot = readDot(d, r)
    dots.set(dotKey(dot.node, dot.seq), dot)
  }
  return dots
}

/** Count, then elements sorted by canonical key: value, DotSet. */
export const writeSetStore = (e: encoding.Encoder, s: ReadonlyMap<string, SetElem<JsonValue>>, index: ReadonlyMap<string, number>): void => {
  const keys = [...s.keys()].sort()
  encoding.writeVarUint(e, keys.length)
  for (const k of keys) {
    const el = s.get(k) as SetElem<JsonValue>
    writeValue(e, el.value)
    writeDotSet(e, el.dots, index)
  }
}

/** Reads a set store; {@link DecodeError} on duplicate elements or empty dot sets. */
export const readSetStore = (d: Decoder, r: DotReader): SetStore<JsonValue> => {
  const n = readCount(d, 'set elements', 4)
  const s: SetStore<JsonValue> = new Map()
  for (let i = 0; i < n; i++) {
    const value = readValue(d)
    const k = canonicalKey(value)
    if (s.has(k)) throw new DecodeError('duplicate set element')
    s.set(k, { value, dots: readDotSet(d, r) })
  }
  return s
}

/** Count, then entries sorted by dot: dot, value. */
export const writeValueDots = (e: encoding.Encoder, s: ReadonlyMap<string, ValueDot<JsonValue>>, index: ReadonlyMap<string, number>): void => {
  encoding.writeVarUint(e, s.size)
  for (const vd of sortedDots(s.values())) {
    writeDot(e, vd, index)
    writeValue(e, vd.value)
  }
}

export const readValueDots = (d: Decoder, r: DotReader): DotFun<JsonValue> => {
  const n = readCount(d, 'register values', 3)
  const s: DotFun<JsonValue> = new Map()
  for (let i = 0; i < n; i++) {
    const dot = readDot(d, r)
    s.set(dotKey(dot.node, dot.seq), { node: dot.node, seq: dot.seq, value: readValue(d) })
  }
  return s
}

/** Distinct values of a DotFun ordered by dot (node id, then seq); equal values (by canonical key) once. */
export const distinctValues = <T extends JsonValue>(s: ReadonlyMap<string, ValueDot<T>>): T[] => {
  const entries = sortedDots(s.values())
  if (entries.length <= 1) return entries.map(e => e.value)
  const seen = new Set<string>()
  const out: T[] = []
  for (const e of entries) {
    const k = canonicalKey(e.value)
    if (!seen.has(k)) { seen.add(k); out.push(e.value) }
  }
  return out
}
