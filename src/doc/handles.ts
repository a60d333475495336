/**
 * The handles a Doc hands out: `DocMap`, `DocCounter`, `DocSet`,
 * `DocRegister`. A handle is a cheap view (root name or parent map + key);
 * nested containers exist once something is written into them.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import { assertValue, canonicalKey, type JsonValue } from '../codec/value.js'
import {
  type Container, ContainerType, CounterContainer, childKey, MapContainer, RegisterContainer,
  SetContainer, takeAll, type ValueEntry
} from './containers.js'
import type { Doc } from './doc.js'
import type { Txn } from './txn.js'
import { moduleOf } from './types/index.js'

/** Checks a value and copies objects, so later mutation by the caller cannot reach the doc. */
const ownValue = <T extends JsonValue>(v: T): T => {
  switch (typeof v) {
    case 'string': case 'boolean': return v
    case 'number':
      if (!Number.isFinite(v)) throw new InvalidArgumentError(`cannot store ${v}: numbers must be finite (JSON has no NaN or Infinity)`)
      return v
    default:
      if (v === null) return v
      assertValue(v)
      return copy(v)
  }
}

const copy = <T extends JsonValue>(v: T): T => {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new InvalidArgumentError(`cannot store ${v}: numbers must be finite`)
    return v
  }
  if (v instanceof Uint8Array) return v.slice() as T
  if (Array.isArray(v)) return v.map(copy) as T
  const o: Record<string, JsonValue> = {}
  for (const k of Object.keys(v)) Object.defineProperty(o, k, { value: copy((v as Record<string, JsonValue>)[k]), enumerable: true, writable: true, configurable: true })
  return o as T
}

const checkKey = (key: unknown): string => {
  if (typeof key !== 'string') throw new InvalidArgumentError(`map keys are strings, got ${typeof key}`)
  return key
}

const checkAmount = (n: unknown): number => {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError(`counter amounts are non-negative safe integers, got ${String(n)}: use decrement() to subtract`)
  }
  return n
}

abstract class Handle<C extends Container> {
  /** @internal */
  protected c: C | null
  constructor (
    /** The doc this handle belongs to. */
    readonly doc: Doc,
    /** The map this container is nested in; null for a named root. */
    readonly parent: DocMap | null,
    /** The root name, or the key in the parent map. */
    readonly key: string,
    c: C | null
  ) {
    this.c = c
  }

  protected abstract get type (): ContainerType

  /** @internal the live container, or null if nothing was written at this path. */
  _get (): C | null {
    const c = this.c
    if (c !== null && c.attached) return c
    if (this.parent === null) return c
    const pc = this.parent._get()
    const child = pc === null ? undefined : pc.child(this.type, this.key)
    return (this.c = (child as C | undefined) ?? null)
  }

  /** @internal the container, created (and its path claimed from plain values) for a write. */
  _claim (txn: Txn): C {
    const c = this.c
    if (this.parent === null) return c!
    const pc = this.parent._claim(txn)
    const plain = pc.values.get(this.key)
    if (plain !== undefined) {
      for (const e of takeAll(pc, this.key)) {
        if (txn.recording) txn.removals.push({ c: pc, loc: this.key, value: null, r: e.r, s: e.s })
      }
      txn.touch(pc, this.key)
    }
    if (c !== null && c.attached) return c
    let child = pc.child(this.type, this.key) as C | undefined
    if (child === undefined) {
      child = moduleOf(this.type).create(pc, this.key, this.doc._env) as C
      pc.children.set(childKey(this.type, this.key), child)
    }
    return (this.c = child)
  }

  /** The path from the root name to this container. */
  get path (): string[] {
    return this.parent === null ? [this.key] : [...this.parent.path, this.key]
  }
}

/**
 * An observed-remove map: plain JSON values are last-writer-wins per key
 * (like `Y.Map`); nested CRDTs by key with `map.counter(key)`,
 * `map.register(key)`, `map.orSet(key)`, `map.map(key)`. A nested value
 * updated concurrently with a delete of its key survives (add-wins).
 */
export class DocMap<T extends JsonValue = JsonValue> extends Handle<MapContainer> {
  protected get type (): ContainerType { return ContainerType.Map }

  /** Sets `key` to a plain JSON value, replacing whatever the key held. */
  set (key: string, value: T): void {
    checkKey(key)
    const v = ownValue(value)
    const doc = this.doc
    const txn = doc._begin()
    try {
      const c = this._claim(txn)
      // replaces the plain value, concurrent losers and anything nested at the key
      if (c.children.size > 0 || c.values.has(key)) doc._removeKey(txn, c, key)
      const e: ValueEntry = { r: 0, s: doc._dot(txn), t: doc._time(txn), v }
      c.values.set(key, e)
      if (txn.recording) txn.add(c, { key, e })
      txn.touch(c, key)
    } finally {
      doc._end(txn)
    }
  }

  /** The JSON value at `key` (a nested CRDT gives its JSON), or undefined. */
  get (key: string): T | undefined {
    const c = this._get()
    return c === null ? undefined : c.jsonAt(key) as T | undefined
  }

  has (key: string): boolean {
    const c = this._get()
    return c !== null && c.hasKey(key)
  }

  /** Removes `key` and everything nested under it. Returns whether it was there. */
  delete (key: string): boolean {
    checkKey(key)
    const c = this._get()
    if (c === null || !c.hasKey(key)) return false
    const doc = this.doc
    const txn = doc._begin()
    try {
      const removed = doc._removeKey(txn, c, key)
      if (removed) doc._dot(txn)
      return removed
    } finally {
      doc._end(txn)
    }
  }

  keys (): string[] {
    const c = this._get()
    return c === null ? [] : c.keys()
  }

  values (): T[] {
    const c = this._get()
    return c === null ? [] : c.keys().map(k => c.jsonAt(k) as T)
  }

  entries (): Array<[string, T]> {
    const c = this._get()
    return c === null ? [] : c.keys().map(k => [k, c.jsonAt(k) as T])
  }

  get size (): number {
    const c = this._get()
    if (c === null) return 0
    return c.children.size === 0 ? c.values.size : c.keys().length
  }

  /** The nested PN counter at `key` (created on first write). */
  counter (key: string): DocCounter { return new DocCounter(this.doc, this, checkKey(key), null) }
  /** The nested LWW register at `key` (created on first write). */
  register<V extends JsonValue = JsonValue> (key: string): DocRegister<V> { return new DocRegister<V>(this.doc, this, checkKey(key), null) }
  /** The nested add-wins set at `key` (created on first write). */
  orSet<V extends JsonValue = JsonValue> (key: string): DocSet<V> { return new DocSet<V>(this.doc, this, checkKey(key), null) }
  /** The nested map at `key` (created on first write). */
  map<V extends JsonValue = JsonValue> (key: string): DocMap<V> { return new DocMap<V>(this.doc, this, checkKey(key), null) }

  toJSON (): { [key: string]: T } {
    const c = this._get()
    return (c === null ? {} : c.toJSON()) as { [key: string]: T }
  }
}

/** A PN counter: every replica's increments and decrements add up. */
export class DocCounter extends Handle<CounterContainer> {
  protected get type (): ContainerType { return ContainerType.Counter }

  increment (n = 1): void { this.add(checkAmount(n), 0) }
  decrement (n = 1): void { this.add(0, checkAmount(n)) }

  private add (p: number, n: number): void {
    if (p === 0 && n === 0) return
    const doc = this.doc
    const txn = doc._begin()
    try {
      const c = this._claim(txn)
      const old = c.comps.get(0)
      if (old !== undefined && txn.recording) txn.removals.push({ c, loc: '', value: null, r: 0, s: old.s })
      const comp = { r: 0, s: doc._dot(txn), p: (old?.p ?? 0) + p, n: (old?.n ?? 0) + n }
      c.comps.set(0, comp)
      if (txn.recording) txn.add(c, comp)
      txn.touch(c)
    } finally {
      doc._end(txn)
    }
  }

  value (): number {
    const c = this._get()
    return c === null ? 0 : c.value()
  }

  toJSON (): number { return this.value() }
}

/** A last-writer-wins register, ordered by the doc's hybrid logical clock. */
export class DocRegister<T extends JsonValue = JsonValue> extends Handle<RegisterContainer> {
  protected get type (): ContainerType { return ContainerType.Register }

  set (value: T): void {
    const v = ownValue(value)
    const doc = this.doc
    const txn = doc._begin()
    try {
      const c = this._claim(txn)
      if (c.entry !== null && txn.recording) {
        for (const old of [c.entry, ...c.conflicts]) txn.removals.push({ c, loc: '', value: null, r: old.r, s: old.s })
      }
      c.conflicts = []
      const e: ValueEntry = { r: 0, s: doc._dot(txn), t: doc._time(txn), v }
      c.entry = e
      if (txn.recording) txn.add(c, e)
      txn.touch(c)
    } finally {
      doc._end(txn)
    }
  }

  /** The current value, or undefined if never set. */
  get (): T | undefined {
    const c = this._get()
    return c === null || c.entry === null ? undefined : c.entry.v as T
  }

  toJSON (): T | null { return this.get() ?? null }
}

/** An add-wins observed-remove set of JSON values, equal by canonical encoding. */
export class DocSet<T extends JsonValue = JsonValue> extends Handle<SetContainer> {
  protected get type (): ContainerType { return ContainerType.Set }

  add (value: T): void {
    const v = ownValue(value)
    const key = canonicalKey(v)
    const doc = this.doc
    const txn = doc._begin()
    try {
      const c = this._claim(txn)
      const old = c.elems.get(key)
      if (old !== undefined && txn.recording) {
        for (let i = 0; i < old.dots.length; i += 2) txn.removals.push({ c, loc: key, value: old.v, r: old.dots[i], s: old.dots[i + 1] })
      }
      const elem = { v, dots: [0, doc._dot(txn)] }
      c.elems.set(key, elem)
      if (txn.recording) txn.add(c, { key, elem })
      txn.touch(c)
    } finally {
      doc._end(txn)
    }
  }

  /** Removes `value`; returns whether it was there. A concurrent add wins. */
  remove (value: T): boolean {
    const key = canonicalKey(value)
    const c = this._get()
    const old = c?.elems.get(key)
    if (c === null || old === undefined) return false
    const doc = this.doc
    const txn = doc._begin()
    try {
      c.elems.delete(key)
      if (txn.recording) {
        for (let i = 0; i < old.dots.length; i += 2) txn.removals.push({ c, loc: key, value: old.v, r: old.dots[i], s: old.dots[i + 1] })
      }
      doc._dot(txn)
      txn.touch(c)
      return true
    } finally {
      doc._end(txn)
    }
  }

  has (value: T): boolean {
    const c = this._get()
    return c !== null && c.elems.has(canonicalKey(value))
  }

  /** The elements, in a deterministic order (by canonical encoding). */
  values (): T[] {
    const c = this._get()
    return c === null ? [] : c.toJSON() as T[]
  }

  get size (): number {
    const c = this._get()
    return c === null ? 0 : c.elems.size
  }

  toJSON (): T[] { return this.values() }
}
