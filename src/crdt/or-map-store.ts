/**
 * The dot store of {@link ORMap}: a DotMap from `(kind, key)` slots to
 * nested dot stores, all sharing the map's one causal context. Kinds:
 * counter (DotFun of per-node `{ p, n }` totals), register (DotFun of
 * values), orSet (set store) and map (nested slots). Joins are in place
 * and drop nested stores left empty, so an empty value never lingers.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError } from '../errors.js'
import { type Decoder, readCount, readString, readUint8 } from '../codec/reader.js'
import type { JsonValue } from '../codec/value.js'
import { writeString } from '../codec/writer.js'
import { compareStrings } from '../clock/node-id.js'
import { readSafeUint } from '../clock/safe-uint.js'
import { type CausalContext, type Dot, dotKey } from './causal-context.js'
import {
  type DotFun, type DotReader, type SetStore, cloneSetStore, collectDots, dotsToJSON, joinDots, joinSetStore,
  readDot, readSetStore, readValueDots, sortedDots, writeDot, writeSetStore, writeValueDots
} from './dot-store.js'
import { sortedDistinctValues } from './mv-register.js'
import { setStoreValues } from './or-set.js'

/** The kinds of value an {@link ORMap} key can hold; also their wire byte and their precedence in `get`. */
export const MapKind = { Map: 0, Counter: 1, ORSet: 2, Register: 3 } as const
/** One of the {@link MapKind} values. */
export type MapKind = typeof MapKind[keyof typeof MapKind]

/** Nested maps deeper than this are refused, on write and on read. */
export const MAX_MAP_DEPTH = 32

/** One node's share of a nested counter: its total increments and decrements. */
export interface CounterShare { readonly p: number, readonly n: number }

export interface MapNested { readonly kind: typeof MapKind.Map, readonly slots: Slots }
export interface CounterNested { readonly kind: typeof MapKind.Counter, readonly fun: DotFun<CounterShare> }
export interface SetNested { readonly kind: typeof MapKind.ORSet, readonly set: SetStore<JsonValue> }
export interface RegisterNested { readonly kind: typeof MapKind.Register, readonly fun: DotFun<JsonValue> }
/** A nested dot store. */
export type Nested = MapNested | CounterNested | SetNested | RegisterNested
/** Slot key (see {@link slotKey}) → nested store. */
export type Slots = Map<string, Nested>

/** The slot of `key` holding a value of `kind`: one char for the kind, then the key. */
export const slotKey = (kind: MapKind, key: string): string => String.fromCharCode(48 + kind) + key
/** The kind of a slot key. */
export const slotKind = (slot: string): MapKind => (slot.charCodeAt(0) - 48) as MapKind
/** The user key of a slot key. */
export const slotName = (slot: string): string => slot.slice(1)

export const emptyNested = (kind: MapKind): Nested => {
  switch (kind) {
    case MapKind.Map: return { kind, slots: new Map() }
    case MapKind.Counter: return { kind, fun: new Map() }
    case MapKind.ORSet: return { kind, set: new Map() }
    default: return { kind: MapKind.Register, fun: new Map() }
  }
}

export const isEmptyNested = (n: Nested): boolean =>
  (n.kind === MapKind.Map ? n.slots : n.kind === MapKind.ORSet ? n.set : n.fun).size === 0

/** Adds every dot held in `n` (recursively) to `cc`. */
export const collectNested = (n: Nested, cc: CausalContext): void => {
  switch (n.kind) {
    case MapKind.Map: for (const c of n.slots.values()) collectNested(c, cc); break
    case MapKind.ORSet: for (const el of n.set.values()) collectDots(el.dots.values(), cc); break
    default: collectDots(n.fun.values(), cc)
  }
}

const EMPTY_SLOTS: ReadonlyMap<string, Nested> = new Map()

/** Turns `a` into the join of `(a, ca)` and `(b, cb)` (same kind). */
export const joinNested = (a: Nested, ca: CausalContext, b: Nested | undefined, cb: CausalContext): void => {
  switch (a.kind) {
    case MapKind.Map: joinSlots(a.slots, ca, (b as MapNested | undefined)?.slots ?? EMPTY_SLOTS, cb); break
    case MapKind.ORSet: joinSetStore(a.set, ca, (b as SetNested | undefined)?.set ?? new Map(), cb); break
    case MapKind.Counter: joinDots(a.fun, ca, (b as CounterNested | undefined)?.fun ?? new Map(), cb); break
    default: joinDots(a.fun, ca, (b as RegisterNested | undefined)?.fun ?? new Map(), cb)
  }
}

/** DotMap join, in place: slot by slot, dropping slots left empty. */
export const joinSlots = (a: Slots, ca: CausalContext, b: ReadonlyMap<string, Nested>, cb: CausalContext): void => {
  for (const [k, bn] of b) {
    const an = a.get(k)
    if (an === undefined) {
      const fresh = emptyNested(bn.kind)
      joinNested(fresh, ca, bn, cb)
      if (!isEmptyNested(fresh)) a.set(k, fresh)
    } else {
      joinNested(an, ca, bn, cb)
      if (isEmptyNested(an)) a.delete(k)
    }
  }
  for (const [k, an] of a) {
    if (b.has(k)) continue
    joinNested(an, ca, undefined, cb)
    if (isEmptyNested(an)) a.delete(k)
  }
}

/** A deep copy (dot entries and values shared: they are immutable). */
export const cloneNested = (n: Nested): Nested => {
  switch (n.kind) {
    case MapKind.Map: return { kind: n.kind, slots: cloneSlots(n.slots) }
    case MapKind.ORSet: return { kind: n.kind, set: cloneSetStore(n.set) }
    case MapKind.Counter: return { kind: n.kind, fun: new Map(n.fun) }
    default: return { kind: n.kind, fun: new Map(n.fun) }
  }
}

export const cloneSlots = (s: ReadonlyMap<string, Nested>): Slots => {
  const c: Slots = new Map()
  for (const [k, n] of s) c.set(k, cloneNested(n))
  return c
}

/** The plain JSON of a nested value: object, number, sorted elements, or sorted concurrent register values. */
export const nestedValue = (n: Nested): JsonValue => {
  switch (n.kind) {
    case MapKind.Map: return slotsValue(n.slots)
    case MapKind.ORSet: return setStoreValues(n.set)
    case MapKind.Register: return sortedDistinctValues(n.fun)
    default: {
      let v = 0
      for (const e of n.fun.values()) v += e.value.p - e.value.n
      return v
    }
  }
}

/** The live nested value at `key`, by kind precedence (map, counter, orSet, register). */
export const liveAt = (slots: ReadonlyMap<string, Nested>, key: string): Nested | undefined => {
  for (let k = 0; k < 4; k++) {
    const n = slots.get(slotKey(k as MapKind, key))
    if (n !== undefined) return n
  }
  return undefined
}

/** Sorted live keys. */
export const slotsKeys = (slots: ReadonlyMap<string, Nested>): string[] => {
  const keys = new Set<string>()
  for (const s of slots.keys()) keys.add(slotName(s))
  return [...keys].sort(compareStrings)
}

export const slotsValue = (slots: ReadonlyMap<string, Nested>): { [key: string]: JsonValue } => {
  const o: { [key: string]: JsonValue } = {}
  for (const k of slotsKeys(slots)) {
    Object.defineProperty(o, k, { value: nestedValue(liveAt(slots, k) as Nested), enumerable: true, writable: true, configurable: true })
  }
  return o
}

/** Full-state JSON of a nested store (deterministic, sorted). */
export type NestedJSON =
  | { kind: 'map', entries: Array<[string, NestedJSON]> }
  | { kind: 'counter', shares: Array<[string, number, number, number]> }
  | { kind: 'orSet', elements: Array<[JsonValue, Array<[string, number]>]> }
  | { kind: 'register', entries: Array<[string, number, JsonValue]> }

export const nestedToJSON = (n: Nested): NestedJSON => {
  switch (n.kind) {
    case MapKind.Map: return { kind: 'map', entries: slotsToJSON(n.slots) }
    case MapKind.Counter: return { kind: 'counter', shares: sortedDots(n.fun.values()).map(e => [e.node, e.seq, e.value.p, e.value.n]) }
    case MapKind.ORSet: return {
      kind: 'orSet',
      elements: [...n.set.keys()].sort().map(k => {
        const el = n.set.get(k) as { value: JsonValue, dots: Map<string, Dot> }
        return [el.value, dotsToJSON(el.dots.values())]
      })
    }
    default: return { kind: 'register', entries: sortedDots(n.fun.values()).map(e => [e.node, e.seq, e.value]) }
  }
}

export const slotsToJSON = (slots: ReadonlyMap<string, Nested>): Array<[string, NestedJSON]> =>
  [...slots.keys()].sort(compareStrings).map(s => [slotName(s), nestedToJSON(slots.get(s) as Nested)])

// --- codec

/** Count, then slots sorted by slot key: kind byte, key, body. */
export const writeSlots = (e: encoding.Encoder, slots: ReadonlyMap<string, Nested>, index: ReadonlyMap<string, number>): void => {
  const keys = [...slots.keys()].sort(compareStrings)
  encoding.writeVarUint(e, keys.length)
  for (const s of keys) {
    const n = slots.get(s) as Nested
    encoding.writeUint8(e, n.kind)
    writeString(e, slotName(s))
    switch (n.kind) {
      case MapKind.Map: writeSlots(e, n.slots, index); break
      case MapKind.ORSet: writeSetStore(e, n.set, index); break
      case MapKind.Register: writeValueDots(e, n.fun, index); break
      default:
        encoding.writeVarUint(e, n.fun.size)
        for (const share of sortedDots(n.fun.values())) {
          writeDot(e, share, index)
          encoding.writeVarUint(e, share.value.p)
          encoding.writeVarUint(e, share.value.n)
        }
    }
  }
}

/** Reads what {@link writeSlots} wrote; slots strictly ascending, no empty nested values, dots unique and in the context. */
export const readSlots = (d: Decoder, r: DotReader, depth = 0): Slots => {
  if (depth > MAX_MAP_DEPTH) throw new DecodeError(`maps nested deeper than ${MAX_MAP_DEPTH} levels`)
  const count = readCount(d, 'map entries', 4)
  const slots: Slots = new Map()
  let prev: string | undefined
  for (let i = 0; i < count; i++) {
    const kind = readUint8(d, 'value kind')
    if (kind > 3) throw new DecodeError(`unknown map value kind ${kind}`)
    const s = slotKey(kind as MapKind, readString(d, 'map key'))
    if (prev !== undefined && compareStrings(prev, s) >= 0) throw new DecodeError('map entries are not strictly sorted')
    prev = s
    let n: Nested
    switch (kind) {
      case MapKind.Map: n = { kind, slots: readSlots(d, r, depth + 1) }; break
      case MapKind.ORSet: n = { kind, set: readSetStore(d, r) }; break
      case MapKind.Register: n = { kind, fun: readValueDots(d, r) }; break
      default: {
        const k = readCount(d, 'counter shares', 4)
        const fun: DotFun<CounterShare> = new Map()
        for (let j = 0; j < k; j++) {
          const dot = readDot(d, r)
          const p = readSafeUint(d, 'counter increments')
          fun.set(dotKey(dot.node, dot.seq), { node: dot.node, seq: dot.seq, value: { p, n: readSafeUint(d, 'counter decrements') } })
        }
        n = { kind: MapKind.Counter, fun }
      }
    }
    if (isEmptyNested(n)) throw new DecodeError(`empty nested value at key ${JSON.stringify(slotName(s))}`)
    slots.set(s, n)
  }
  return slots
}

