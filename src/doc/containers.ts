/**
 * The Doc's internal containers: the live state of each named or nested
 * CRDT, as compact JS structures (one small object per live element).
 * Every live element carries its dot `(r, s)`: replica index and sequence.
 *
 * @module
 */
import type { JsonValue } from '../codec/value.js'

/**
 * The kinds of container a Doc holds, as numbered on the wire. Text and
 * List are reserved for the sequence containers (update format 2); each
 * type's code lives in its module under `types/`.
 */
export const ContainerType = {
  Map: 0,
  Counter: 1,
  Set: 2,
  Register: 3,
  Text: 4,
  List: 5
} as const
export type ContainerType = typeof ContainerType[keyof typeof ContainerType]
/** One more than the highest container type number (the child-slot loops of maps go up to it). */
export const CONTAINER_TYPE_LIMIT = 6

export const containerTypeName = ['map', 'counter', 'set', 'register'] as const
export type ContainerTypeName = typeof containerTypeName[number]

/** A last-writer-wins value: map entry or register content. `t` is the HLC timestamp. */
export interface ValueEntry { r: number, s: number, t: number, v: JsonValue }
/** One replica's share of a counter: cumulative increments `p` and decrements `n`. */
export interface CounterComp { r: number, s: number, p: number, n: number }
/** A set element with the dots that added it (flat `[r, s, r, s, …]`). */
export interface SetElem { v: JsonValue, dots: number[] }

/**
 * Any container: the four built-in classes below, or a container of a
 * type added later (text, list) that extends {@link ContainerBase}.
 */
export type Container = ContainerBase

/** What every container has: its type, its place in the tree and its JSON. */
export abstract class ContainerBase {
  abstract readonly type: ContainerType
  /** false once pruned from its parent: handles then look it up again. */
  attached = true
  constructor (readonly parent: MapContainer | null, readonly key: string) {}

  /** true when it holds nothing visible (nested empty containers are pruned). */
  abstract isEmpty (): boolean
  abstract toJSON (): JsonValue

  /** Root name first, then the keys down to this container. */
  path (): string[] {
    const p: string[] = []
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    let c: ContainerBase | null = this
    while (c !== null) { p.push(c.key); c = c.parent }
    return p.reverse()
  }
}

/** A map: LWW plain values per key, nested containers by key. */
export class MapContainer extends ContainerBase {
  readonly type = ContainerType.Map
  /** The winning (last-writer-wins) entry per key. */
  readonly values = new Map<string, ValueEntry>()
  /** Concurrent entries that lost to the winner, kept until a write observes them (usually empty). */
  readonly conflicts = new Map<string, ValueEntry[]>()
  /** Nested containers by `childKey(type, key)`. */
  readonly children = new Map<string, Container>()

  isEmpty (): boolean {
    if (this.values.size > 0) return false
    for (const c of this.children.values()) if (!c.isEmpty()) return false
    return true
  }

  child (type: ContainerType, key: string): Container | undefined {
    return this.children.size === 0 ? undefined : this.children.get(childKey(type, key))
  }

  hasKey (key: string): boolean {
    if (this.values.has(key)) return true
    if (this.children.size === 0) return false
    for (let t = 0; t < CONTAINER_TYPE_LIMIT; t++) {
      const c = this.children.get(childKey(t as ContainerType, key))
      if (c !== undefined && !c.isEmpty()) return true
    }
    return false
  }

  keys (): string[] {
    if (this.children.size === 0) return Array.from(this.values.keys())
    const out = new Set(this.values.keys())
    for (const c of this.children.values()) if (!c.isEmpty()) out.add(c.key)
    return Array.from(out)
  }

  /** The JSON value at `key`: the plain value, else the nested container (map, set, counter, register first). */
  jsonAt (key: string): JsonValue | undefined {
    const e = this.values.get(key)
    if (e !== undefined) return e.v
    if (this.children.size === 0) return undefined
    for (let t = 0; t < CONTAINER_TYPE_LIMIT; t++) {
      const c = this.children.get(childKey(t as ContainerType, key))
      if (c !== undefined && !c.isEmpty()) return c.toJSON()
    }
    return undefined
  }

  toJSON (): { [key: string]: JsonValue } {
    const o: { [key: string]: JsonValue } = {}
    for (const k of this.keys().sort()) {
      const v = this.jsonAt(k)
      if (v === undefined) continue
      // plain assignment is twice as fast; only '__proto__' needs defineProperty
      if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
      else o[k] = v
    }
    return o
  }
}

/** A PN counter: one component per replica. */
export class CounterContainer extends ContainerBase {
  readonly type = ContainerType.Counter
  readonly comps = new Map<number, CounterComp>()
  isEmpty (): boolean { return this.comps.size === 0 }
  value (): number {
    let v = 0
    for (const c of this.comps.values()) v += c.p - c.n
    return v
  }

  toJSON (): number { return this.value() }
}

/** An add-wins set, elements by canonical key. */
export class SetContainer extends ContainerBase {
  readonly type = ContainerType.Set
  readonly elems = new Map<string, SetElem>()
  isEmpty (): boolean { return this.elems.size === 0 }
  toJSON (): JsonValue[] {
    const keys = Array.from(this.elems.keys()).sort()
    return keys.map(k => this.elems.get(k)!.v)
  }
}

/** A last-writer-wins register. */
export class RegisterContainer extends ContainerBase {
  readonly type = ContainerType.Register
  entry: ValueEntry | null = null
  /** Concurrent entries that lost to `entry`. */
  conflicts: ValueEntry[] = []
  isEmpty (): boolean { return this.entry === null }
  toJSON (): JsonValue { return this.entry === null ? null : this.entry.v }
}

export const childKey = (type: ContainerType, key: string): string => String.fromCharCode(48 + type) + key

/** Calls `f(container)` for `c` and every container nested in it. */
export const walk = (c: Container, f: (c: Container) => void): void => {
  f(c)
  if (c instanceof MapContainer) for (const child of c.children.values()) walk(child, f)
}

/** Removes and returns every entry (winner and conflicts) at `key`. */
export const takeAll = (c: MapContainer, key: string): ValueEntry[] => {
  const e = c.values.get(key)
  if (e === undefined) return []
  c.values.delete(key)
  if (c.conflicts.size === 0) return [e]
  const cs = c.conflicts.get(key)
  if (cs === undefined) return [e]
  c.conflicts.delete(key)
  return [e, ...cs]
}


/** Prunes `c` from its parent while it is empty, and its parents likewise (handles look them up again). */
export const detach = (c: Container): void => {
  let x: Container | null = c
  while (x !== null && x.parent !== null && x.isEmpty()) {
    const p: MapContainer = x.parent
    if (p.children.get(childKey(x.type, x.key)) === x) p.children.delete(childKey(x.type, x.key))
    const mark = (y: Container): void => { y.attached = false }
    walk(x, mark)
    x = p
  }
}
