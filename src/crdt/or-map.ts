/**
 * Observed-remove map whose values are nested causal CRDTs — counters,
 * multi-value registers, add-wins sets and maps — all sharing the map's one
 * causal context (Almeida et al. 2018, §7). Every write through a handle
 * returns a root-level delta that any replica's `merge` accepts.
 *
 * Rules:
 * - Add wins: an update of a nested value concurrent with `remove(key)`
 *   survives (the remove only deletes the dots it saw).
 * - A key holds one kind of value. Asking for another kind than the one it
 *   holds throws {@link InvalidArgumentError}. Concurrent writes of different
 *   kinds to one key are both kept; `get` and `value` then show one by
 *   precedence (map, counter, orSet, register) and the next write at that
 *   key removes the kinds it observed besides its own.
 * - Counters are causal counters: a remove resets the shares it saw; a node
 *   that increments concurrently keeps its whole share.
 *
 * ```ts
 * const a = new ORMap('alice'), b = new ORMap('bob')
 * b.merge(a.map('task').counter('votes').increment(2))
 * b.merge(a.register('title').set('Ship it'))
 * b.value() // { task: { votes: 2 }, title: ['Ship it'] }
 * ```
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import { type JsonValue, canonicalKey, assertValue } from '../codec/value.js'
import { addSafe } from '../clock/safe-uint.js'
import { CausalContext, type Dot, dotKey, readCausalContext, writeCausalContext } from './causal-context.js'
import { collectDots, dotReader, dotSetOf, nodeIndex } from './dot-store.js'
import { canonicalValue } from './canonical.js'
import { assertAmount } from './g-counter.js'
import { assertSameType, decodeCrdt, encodeCrdt, CrdtTypeTag, optionalNodeId, requireNodeId } from './format.js'
import {
  type CounterNested, type MapNested, type Nested, type NestedJSON, type RegisterNested, type SetNested, type Slots,
  MAX_MAP_DEPTH, MapKind, cloneSlots, collectNested, emptyNested, isEmptyNested, joinSlots, liveAt, nestedValue,
  readSlots, slotKey, slotsKeys, slotsToJSON, slotsValue, writeSlots
} from './or-map-store.js'
import { setStoreValues } from './or-set.js'
import { sortedDistinctValues } from './mv-register.js'

const KIND_NAMES = ['map', 'counter', 'orSet', 'register'] as const

interface MapState {
  readonly nodeId: string | undefined
  readonly slots: Slots
  readonly cc: CausalContext
}

const assertKey = (key: unknown): string => {
  if (typeof key !== 'string') throw new InvalidArgumentError(`map keys are strings, got ${typeof key}`)
  return key
}

/** The slots of the nested map at `path`, or undefined if it does not exist. */
const lookup = (st: MapState, path: readonly string[]): Slots | undefined => {
  let slots: Slots | undefined = st.slots
  for (const k of path) {
    slots = (slots.get(slotKey(MapKind.Map, k)) as MapNested | undefined)?.slots
    if (slots === undefined) return undefined
  }
  return slots
}

const nestedAt = <N extends Nested>(st: MapState, path: readonly string[], kind: MapKind, key: string): N | undefined =>
  lookup(st, path)?.get(slotKey(kind, key)) as N | undefined

/** Throws unless `key` at `path` is absent or holds (among others) a value of `kind`. */
const checkKind = (st: MapState, path: readonly string[], kind: MapKind, key: string): void => {
  assertKey(key)
  if (kind === MapKind.Map && path.length >= MAX_MAP_DEPTH) throw new InvalidArgumentError(`maps cannot nest deeper than ${MAX_MAP_DEPTH} levels`)
  const slots = lookup(st, path)
  if (slots === undefined || slots.has(slotKey(kind, key))) return
  const live = liveAt(slots, key)
  if (live !== undefined) {
    throw new InvalidArgumentError(`key ${JSON.stringify(key)} holds a ${KIND_NAMES[live.kind]}, not a ${KIND_NAMES[kind]}: remove it first`)
  }
}

/** Deletes the values of other kinds than `keep` at `key`, adding their dots to `dcc`. */
const dropOtherKinds = (slots: Slots, key: string, keep: MapKind, dcc: CausalContext): void => {
  for (let k = 0; k < 4; k++) {
    if (k === keep) continue
    const s = slotKey(k as MapKind, key)
    const n = slots.get(s)
    if (n !== undefined) { collectNested(n, dcc); slots.delete(s) }
  }
}

/** What a leaf write gets: the local nested value, the delta's, a dot factory and the delta context. */
type LeafWrite<N extends Nested> = (cur: N, delta: N, nextDot: () => Dot, dcc: CausalContext) => void

/**
 * Runs a write on the value of `kind` at `path`/`key` (creating the maps on
 * the way), and returns the root-level delta: the new dots with their
 * values, and a context of every dot the write added or replaced.
 */
const write = <N extends Nested>(st: MapState, path: readonly string[], kind: N['kind'], key: string, f: LeafWrite<N>): ORMap => {
  const node = requireNodeId(st.nodeId, 'ORMap')
  const dcc = new CausalContext()
  const droot: Slots = new Map()
  const levels: Array<{ slots: Slots, dslots: Slots, slot: string }> = []
  let slots = st.slots
  let dslots = droot
  const keys = [...path, key]
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]
    const kd = i < path.length ? MapKind.Map : kind
    dropOtherKinds(slots, k, kd, dcc)
    const s = slotKey(kd, k)
    let cur = slots.get(s)
    if (cur === undefined) slots.set(s, (cur = emptyNested(kd)))
    const dn = emptyNested(kd)
    dslots.set(s, dn)
    levels.push({ slots, dslots, slot: s })
    if (i < path.length) {
      slots = (cur as MapNested).slots
      dslots = (dn as MapNested).slots
    } else {
      f(cur as N, dn as N, () => { const d = st.cc.next(node); dcc.addDot(d); return d }, dcc)
    }
  }
  for (let i = levels.length - 1; i >= 0; i--) {
    const { slots, dslots, slot } = levels[i]
    const cur = slots.get(slot)
    if (cur !== undefined && isEmptyNested(cur)) slots.delete(slot)
    const dn = dslots.get(slot)
    if (dn !== undefined && isEmptyNested(dn)) dslots.delete(slot)
  }
  return new ORMap(node, droot, dcc)
}

/** Removes every value at `key` of the map at `path` that this replica has seen; returns the delta. */
const removeAt = (st: MapState, path: readonly string[], key: string): ORMap => {
  assertKey(key)
  const dcc = new CausalContext()
  const slots = lookup(st, path)
  if (slots !== undefined) {
    dropOtherKinds(slots, key, -1 as MapKind, dcc)
    // prune the maps on the path that the removal left empty
    for (let i = path.length; i > 0; i--) {
      const parent = lookup(st, path.slice(0, i - 1)) as Slots
      const s = slotKey(MapKind.Map, path[i - 1])
      const n = parent.get(s)
      if (n === undefined || !isEmptyNested(n)) break
      parent.delete(s)
    }
  }
  return new ORMap(st.nodeId, new Map(), dcc)
}

/** A counter at a key of an {@link ORMap}; each change returns a root-level delta. */
export class ORMapCounter {
  constructor (private readonly st: MapState, private readonly path: readonly string[], private readonly key: string) {}

  /** Adds `n` (a non-negative integer); returns the map delta. */
  increment (n = 1): ORMap { return this.change(n, true) }

  /** Subtracts `n` (a non-negative integer); returns the map delta. */
  decrement (n = 1): ORMap { return this.change(n, false) }

  private change (amount: number, positive: boolean): ORMap {
    assertAmount(amount)
    if (amount === 0) return new ORMap(this.st.nodeId)
    return write<CounterNested>(this.st, this.path, MapKind.Counter, this.key, (cur, delta, nextDot, dcc) => {
      const node = this.st.nodeId as string
      let p = 0
      let n = 0
      for (const [k, e] of cur.fun) {
        if (e.node !== node) continue
        p += e.value.p
        n += e.value.n
        dcc.addDot(e)
        cur.fun.delete(k)
      }
      if (positive) p = addSafe(p, amount, 'counter')
      else n = addSafe(n, amount, 'counter')
      const dot = nextDot()
      const share = { node: dot.node, seq: dot.seq, value: { p, n } }
      cur.fun.set(dotKey(dot.node, dot.seq), share)
      delta.fun.set(dotKey(dot.node, dot.seq), share)
    })
  }

  /** Increments minus decrements over all nodes (0 if absent). */
  value (): number {
    const n = nestedAt<CounterNested>(this.st, this.path, MapKind.Counter, this.key)
    return n === undefined ? 0 : nestedValue(n) as number
  }
}

/** A multi-value register at a key of an {@link ORMap}; each change returns a root-level delta. */
export class ORMapRegister<T extends JsonValue = JsonValue> {
  constructor (private readonly st: MapState, private readonly path: readonly string[], private readonly key: string) {}

  /** Replaces every value this replica has seen with `value`; returns the map delta. */
  set (value: T): ORMap {
    const v = canonicalValue(value)
    return write<RegisterNested>(this.st, this.path, MapKind.Register, this.key, (cur, delta, nextDot, dcc) => {
      collectDots(cur.fun.values(), dcc)
      cur.fun.clear()
      const dot = nextDot()
      const entry = { node: dot.node, seq: dot.seq, value: v }
      cur.fun.set(dotKey(dot.node, dot.seq), entry)
      delta.fun.set(dotKey(dot.node, dot.seq), entry)
    })
  }

  /** The concurrent values, distinct and sorted by canonical key (empty if absent). */
  values (): T[] {
    const n = nestedAt<RegisterNested>(this.st, this.path, MapKind.Register, this.key)
    return n === undefined ? [] : sortedDistinctValues(n.fun) as T[]
  }

  /** Same as {@link ORMapRegister.values}. */
  value (): T[] { return this.values() }
}

/** An add-wins set at a key of an {@link ORMap}; each change returns a root-level delta. */
export class ORMapSet<T extends JsonValue = JsonValue> {
  constructor (private readonly st: MapState, private readonly path: readonly string[], private readonly key: string) {}

  /** Adds `value` with a fresh dot; returns the map delta. */
  add (value: T): ORMap {
    const v = canonicalValue(value)
    const k = canonicalKey(v)
    return write<SetNested>(this.st, this.path, MapKind.ORSet, this.key, (cur, delta, nextDot, dcc) => {
      const old = cur.set.get(k)
      if (old !== undefined) collectDots(old.dots.values(), dcc)
      const dot = nextDot()
      cur.set.set(k, { value: v, dots: dotSetOf(dot) })
      delta.set.set(k, { value: v, dots: dotSetOf(dot) })
    })
  }

  /** Removes `value` as far as this replica has seen it (concurrent adds win); returns the map delta. */
  remove (value: T): ORMap {
    const k = canonicalKey(assertValue(value))
    if (this.st.nodeId === undefined) requireNodeId(undefined, 'ORMap')
    return write<SetNested>(this.st, this.path, MapKind.ORSet, this.key, (cur, _delta, _nextDot, dcc) => {
      const old = cur.set.get(k)
      if (old === undefined) return
      collectDots(old.dots.values(), dcc)
      cur.set.delete(k)
    })
  }

  /** Whether `value` (by canonical key) is in the set. */
  has (value: T): boolean {
    return nestedAt<SetNested>(this.st, this.path, MapKind.ORSet, this.key)?.set.has(canonicalKey(assertValue(value))) ?? false
  }

  /** The elements, sorted by canonical key. */
  values (): T[] {
    const n = nestedAt<SetNested>(this.st, this.path, MapKind.ORSet, this.key)
    return n === undefined ? [] : setStoreValues(n.set) as T[]
  }

  /** Same as {@link ORMapSet.values}. */
  value (): T[] { return this.values() }

  /** Number of elements. */
  get size (): number { return nestedAt<SetNested>(this.st, this.path, MapKind.ORSet, this.key)?.set.size ?? 0 }
}

/** A map (the root or a nested one) inside an {@link ORMap}; each change returns a root-level delta. */
export class ORMapView {
  constructor (private readonly st: MapState, private readonly path: readonly string[]) {}

  /** The counter at `key` (created on first write). Throws if `key` holds another kind. */
  counter (key: string): ORMapCounter {
    checkKind(this.st, this.path, MapKind.Counter, key)
    return new ORMapCounter(this.st, this.path, key)
  }

  /** The multi-value register at `key` (created on first write). Throws if `key` holds another kind. */
  register<T extends JsonValue = JsonValue> (key: string): ORMapRegister<T> {
    checkKind(this.st, this.path, MapKind.Register, key)
    return new ORMapRegister<T>(this.st, this.path, key)
  }

  /** The add-wins set at `key` (created on first write). Throws if `key` holds another kind. */
  orSet<T extends JsonValue = JsonValue> (key: string): ORMapSet<T> {
    checkKind(this.st, this.path, MapKind.ORSet, key)
    return new ORMapSet<T>(this.st, this.path, key)
  }

  /** The nested map at `key` (created on first write). Throws if `key` holds another kind. */
  map (key: string): ORMapView {
    checkKind(this.st, this.path, MapKind.Map, key)
    return new ORMapView(this.st, [...this.path, key])
  }

  /** Removes what this replica has seen at `key` (concurrent updates survive); returns the map delta. */
  remove (key: string): ORMap { return removeAt(this.st, this.path, key) }

  /** Whether `key` holds a value. */
  has (key: string): boolean {
    const slots = lookup(this.st, this.path)
    return slots !== undefined && liveAt(slots, assertKey(key)) !== undefined
  }

  /** The keys holding a value, sorted. */
  keys (): string[] {
    const slots = lookup(this.st, this.path)
    return slots === undefined ? [] : slotsKeys(slots)
  }

  /** The kind of value at `key`, or undefined. */
  kind (key: string): 'map' | 'counter' | 'orSet' | 'register' | undefined {
    const slots = lookup(this.st, this.path)
    const n = slots === undefined ? undefined : liveAt(slots, assertKey(key))
    return n === undefined ? undefined : KIND_NAMES[n.kind]
  }

  /**
   * The plain value at `key`: an object for a map, a number for a counter,
   * the sorted elements of a set, the sorted concurrent values of a
   * register; undefined if absent.
   */
  get (key: string): JsonValue | undefined {
    const slots = lookup(this.st, this.path)
    const n = slots === undefined ? undefined : liveAt(slots, assertKey(key))
    return n === undefined ? undefined : nestedValue(n)
  }

  /** The whole map as a plain object with sorted keys (see {@link ORMapView.get}). */
  value (): { [key: string]: JsonValue } {
    const slots = lookup(this.st, this.path)
    return slots === undefined ? {} : slotsValue(slots)
  }
}

/** An observed-remove map of nested CRDTs (delta-state); see the module documentation. */
export class ORMap {
  /** The replica that writes here; undefined for a merge-and-read-only replica. */
  readonly nodeId: string | undefined
  private readonly st: MapState
  private readonly root: ORMapView

  constructor (nodeId?: string, slots: Slots = new Map(), cc = new CausalContext()) {
    this.nodeId = optionalNodeId(nodeId)
    this.st = { nodeId: this.nodeId, slots, cc }
    this.root = new ORMapView(this.st, [])
  }

  /** Reads an encoding of {@link ORMap.encode}; {@link DecodeError} on bad bytes. */
  static decode (bytes: Uint8Array, nodeId?: string): ORMap {
    const [slots, cc] = decodeCrdt('ORMap', bytes, d => {
      const cc = readCausalContext(d)
      return [readSlots(d, dotReader(cc)), cc] as const
    })
    return new ORMap(nodeId, slots, cc)
  }

  /** The counter at `key`; see {@link ORMapView.counter}. */
  counter (key: string): ORMapCounter { return this.root.counter(key) }

  /** The multi-value register at `key`; see {@link ORMapView.register}. */
  register<T extends JsonValue = JsonValue> (key: string): ORMapRegister<T> { return this.root.register<T>(key) }

  /** The add-wins set at `key`; see {@link ORMapView.orSet}. */
  orSet<T extends JsonValue = JsonValue> (key: string): ORMapSet<T> { return this.root.orSet<T>(key) }

  /** The nested map at `key`; see {@link ORMapView.map}. */
  map (key: string): ORMapView { return this.root.map(key) }

  /** Removes what this replica has seen at `key`; returns the delta. */
  remove (key: string): ORMap { return this.root.remove(key) }

  /** Whether `key` holds a value. */
  has (key: string): boolean { return this.root.has(key) }

  /** The keys holding a value, sorted. */
  keys (): string[] { return this.root.keys() }

  /** The kind of value at `key`, or undefined. */
  kind (key: string): 'map' | 'counter' | 'orSet' | 'register' | undefined { return this.root.kind(key) }

  /** The plain value at `key`; see {@link ORMapView.get}. */
  get (key: string): JsonValue | undefined { return this.root.get(key) }

  /** The whole map as a plain object with sorted keys. */
  value (): { [key: string]: JsonValue } { return this.root.value() }

  /** Number of keys holding a value. */
  get size (): number { return this.root.keys().length }

  /** DotMap join of the stores and union of the contexts, in place. */
  merge (other: ORMap): this {
    assertSameType(other, ORMap)
    if (other === this) return this
    joinSlots(this.st.slots, this.st.cc, other.st.slots, other.st.cc)
    this.st.cc.merge(other.st.cc)
    return this
  }

  clone (): ORMap { return new ORMap(this.nodeId, cloneSlots(this.st.slots), this.st.cc.clone()) }

  /** The full state: nested stores with their dots (sorted by kind, then key) and the causal context. */
  toJSON (): { type: 'ORMap', entries: Array<[string, NestedJSON]>, context: ReturnType<CausalContext['toJSON']> } {
    return { type: 'ORMap', entries: slotsToJSON(this.st.slots), context: this.st.cc.toJSON() }
  }

  /** Format version, type tag, causal context, then the nested stores. */
  encode (): Uint8Array {
    return encodeCrdt(CrdtTypeTag.ORMap, e => {
      writeCausalContext(e, this.st.cc)
      writeSlots(e, this.st.slots, nodeIndex(this.st.cc))
    })
  }
}
