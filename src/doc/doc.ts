/**
 * `Doc`: a document of named CRDTs (counters, registers, sets, maps with
 * nested CRDTs) that replicas edit offline and merge in any order.
 *
 * @example
 * ```ts
 * import { Doc } from 'aegis-replication'
 * const a = new Doc({ replicaId: 'alice' })
 * const b = new Doc({ replicaId: 'bob' })
 * a.on('update', update => b.applyUpdate(update))
 * a.map('tasks').set('t1', { title: 'Write docs' })
 * a.counter('votes').increment()
 * b.toJSON() // { tasks: { t1: { title: 'Write docs' } }, votes: 1 }
 * ```
 *
 * @module
 */
import { ObservableV2 } from 'lib0/observable'
import { DecodeError, InvalidArgumentError } from '../errors.js'
import { canonicalKey, type JsonValue } from '../codec/value.js'
import { HybridLogicalClock } from '../clock/hlc.js'
import { VectorClock } from '../clock/vector-clock.js'
import {
  childKey, type Container, ContainerType, type ContainerTypeName, containerTypeName, CounterContainer, createContainer,
  MapContainer, RegisterContainer, SetContainer, type SetElem, takeAll, type ValueEntry, walk
} from './containers.js'
import { DotClock, DotRanges } from './dot-clock.js'
import { checkReplicaId, type DecodedUpdate, decodeUpdate, encodeUpdate, type Ranges, type UpdateParts } from './update-codec.js'
import { decodeStateVector, encodeStateVector } from './state-vector.js'
import { Txn } from './txn.js'
import { DocCounter, DocMap, DocRegister, DocSet } from './handles.js'

/** Options of {@link Doc}. */
export interface DocOptions {
  /**
   * This replica's id (≤ 64 UTF-8 bytes). Persist it with the doc's storage
   * and never share one id between two live replicas.
   * @default a random 16-character id
   */
  replicaId?: string
  /**
   * Milliseconds since the epoch, for the hybrid logical clock that orders
   * last-writer-wins values.
   * @default Date.now
   */
  now?: () => number
  /**
   * A random number in [0, 1), used for the default replica id.
   * @default crypto.getRandomValues when present, else Math.random
   */
  random?: () => number
}

/** One container a transaction changed. */
export interface DocChange {
  /** Root name, then the keys of nested maps down to the container. */
  path: string[]
  type: ContainerTypeName
  /** For maps: the keys whose value changed. */
  keys?: string[]
}

/** Events of {@link Doc}. */
export interface DocEvents {
  /** Bytes of a change just integrated (local or remote; all of an `applyUpdates` as one); apply them on other replicas. */
  update: (update: Uint8Array, origin: unknown) => void
  /** What changed, after each transaction and each applied update (once for all of an `applyUpdates`). */
  change: (changes: DocChange[], origin: unknown, isLocal: boolean) => void
  destroy: (doc: Doc) => void
}

const LOCAL = 0

const randomId = (random?: () => number): string => {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  let id = ''
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto
  if (random === undefined && typeof c?.getRandomValues === 'function') {
    const bytes = c.getRandomValues(new Uint8Array(16))
    for (let i = 0; i < 16; i++) id += alphabet[bytes[i] % 36]
  } else {
    const rnd = random ?? Math.random
    for (let i = 0; i < 16; i++) id += alphabet[Math.floor(rnd() * 36) % 36]
  }
  return id
}

const NO_CHANGE = /* @__PURE__ */ (() => encodeUpdate({ state: false, replicaIds: [], cc: [], parts: [], removals: [], keep: null }))()

/** A replicated document of named CRDTs. See the module docs for an example. */
export class Doc extends ObservableV2<DocEvents> {
  /** This replica's id. */
  readonly replicaId: string
  /** @internal replica index → id; index 0 is this replica. */
  readonly _replicas: string[]
  /** @internal */
  readonly _rindex = new Map<string, number>()
  /** @internal causal context: every dot this doc has seen. */
  readonly _cc = new DotClock()
  /** @internal */
  _seq = 0
  /** @internal */
  readonly _hlc: HybridLogicalClock
  /** @internal */
  readonly _roots = new Map<string, Container>()
  /** @internal */
  _txn: Txn | null = null
  private readonly handles = new Map<string, DocMap | DocCounter | DocSet | DocRegister>()
  private destroyed = false

  constructor (options: DocOptions = {}) {
    super()
    const id = options.replicaId ?? randomId(options.random)
    if (typeof id !== 'string') throw new InvalidArgumentError('replicaId must be a string')
    const bad = checkReplicaId(id)
    if (bad !== null) throw new InvalidArgumentError(`replicaId ${JSON.stringify(id)}: ${bad}`)
    this.replicaId = id
    this._replicas = [id]
    this._rindex.set(id, LOCAL)
    this._hlc = new HybridLogicalClock(id, options.now)
  }

  // ------------------------------------------------------------ named CRDTs

  /** The PN counter named `name`. */
  counter (name: string): DocCounter {
    return this.root(ContainerType.Counter, name) as DocCounter
  }

  /** The last-writer-wins register named `name`. */
  register<T extends JsonValue = JsonValue> (name: string): DocRegister<T> {
    return this.root(ContainerType.Register, name) as DocRegister<T>
  }

  /** The add-wins set named `name`. */
  set<T extends JsonValue = JsonValue> (name: string): DocSet<T> {
    return this.root(ContainerType.Set, name) as DocSet<T>
  }

  /** The map named `name`: LWW plain values per key and nested CRDTs by key. */
  map<T extends JsonValue = JsonValue> (name: string): DocMap<T> {
    return this.root(ContainerType.Map, name) as unknown as DocMap<T>
  }

  private root (type: ContainerType, name: string): DocMap | DocCounter | DocSet | DocRegister {
    if (typeof name !== 'string') throw new InvalidArgumentError(`a ${containerTypeName[type]} name must be a string`)
    const k = childKey(type, name)
    let h = this.handles.get(k)
    if (h === undefined) {
      let c = this._roots.get(k)
      if (c === undefined) this._roots.set(k, c = createContainer(type, null, name))
      h = makeHandle(this, null, name, type, c)
      this.handles.set(k, h)
    }
    return h
  }

  // ------------------------------------------------------------ transactions

  /**
   * Runs `fn` as one transaction: every change in it goes out as one update
   * and one 'change' event, tagged with `origin`. Nested calls join the
   * outer transaction.
   */
  transact<T> (fn: (doc: this) => T, origin: unknown = null): T {
    const txn = this._begin(origin)
    try {
      return fn(this)
    } finally {
      this._end(txn)
    }
  }

  /** @internal */
  _begin (origin: unknown = null): Txn {
    if (this.destroyed) throw new InvalidArgumentError('this Doc was destroyed: create a new one')
    const t = this._txn
    if (t !== null) { t.depth++; return t }
    return (this._txn = new Txn(origin, true, this._observers.has('update'), this._observers.has('change')))
  }

  /** @internal */
  _end (txn: Txn): void {
    if (--txn.depth > 0) return
    this._txn = null
    if (!txn.changed) return
    if (txn.recording) this.emit('update', [this.encodeLocal(txn), txn.origin])
    if (txn.observing) this.emitChange(txn)
  }

  /** @internal a fresh local dot. */
  _dot (txn: Txn): number {
    const s = ++this._seq
    this._cc.add(LOCAL, s)
    if (txn.seqEnd < txn.seqStart) txn.seqStart = s
    txn.seqEnd = s
    return s
  }

  /** @internal the HLC timestamp of the transaction. */
  _time (txn: Txn): number {
    if (txn.time === 0) txn.time = this._hlc.now()
    return txn.time
  }

  /** @internal `a` wins over `b` under last-writer-wins. */
  _newer (a: ValueEntry, b: ValueEntry): boolean {
    if (a.t !== b.t) return a.t > b.t
    if (a.r !== b.r) return this._replicas[a.r] > this._replicas[b.r]
    return a.s > b.s
  }

  /** @internal `_newer` bound, for helpers. */
  readonly _newerFn: Newer = (a, b) => this._newer(a, b)

  /** @internal removes the whole subtree under `key` of `c` (plain value and nested containers). */
  _removeKey (txn: Txn, c: MapContainer, key: string): boolean {
    let removed = false
    for (const e of takeAll(c, key)) {
      if (txn.recording) txn.removals.push({ c, loc: key, value: null, r: e.r, s: e.s })
      removed = true
    }
    if (c.children.size > 0) {
      for (let t = 0; t < 4; t++) {
        const child = c.children.get(childKey(t as ContainerType, key))
        if (child === undefined) continue
        walk(child, x => { if (this._clearContainer(txn, x)) removed = true })
        detach(child)
      }
    }
    if (removed) txn.touch(c, key)
    return removed
  }

  /** @internal removes every element of `c` itself (not its children). */
  _clearContainer (txn: Txn, c: Container): boolean {
    const rec = txn.recording
    let any = false
    switch (c.type) {
      case ContainerType.Map:
        for (const [k, e] of c.values) { any = true; if (rec) txn.removals.push({ c, loc: k, value: null, r: e.r, s: e.s }) }
        for (const [k, es] of c.conflicts) for (const e of es) if (rec) txn.removals.push({ c, loc: k, value: null, r: e.r, s: e.s })
        c.values.clear()
        c.conflicts.clear()
        break
      case ContainerType.Counter:
        for (const k of c.comps.values()) { any = true; if (rec) txn.removals.push({ c, loc: '', value: null, r: k.r, s: k.s }) }
        c.comps.clear()
        break
      case ContainerType.Set:
        for (const [k, el] of c.elems) {
          any = true
          if (rec) for (let i = 0; i < el.dots.length; i += 2) txn.removals.push({ c, loc: k, value: el.v, r: el.dots[i], s: el.dots[i + 1] })
        }
        c.elems.clear()
        break
      case ContainerType.Register:
        if (c.entry !== null) {
          any = true
          if (rec) for (const e of [c.entry, ...c.conflicts]) txn.removals.push({ c, loc: '', value: null, r: e.r, s: e.s })
          c.entry = null
          c.conflicts = []
        }
        break
    }
    if (any) txn.touch(c)
    return any
  }

  // ------------------------------------------------------------ state and sync

  /** The version vector: for every replica, how many of its changes this doc has seen contiguously. */
  version (): VectorClock {
    const vc = new VectorClock()
    for (let r = 0; r < this._replicas.length; r++) {
      const v = this._cc.vv[r] ?? 0
      if (v > 0) vc.set(this._replicas[r], v)
    }
    return vc
  }

  /** This doc's causal context, to send to a peer that answers with `encodeStateAsUpdate(sv)`. */
  encodeStateVector (): Uint8Array {
    return encodeStateVector(this._replicas, this._cc)
  }

  /**
   * The state as one update. With a peer's state vector, only what that
   * peer lacks: the elements it has not seen and what it must remove.
   */
  encodeStateAsUpdate (stateVector?: Uint8Array): Uint8Array {
    let remote: DotClock | null = null
    if (stateVector !== undefined) {
      const sv = decodeStateVector(stateVector)
      remote = new DotClock()
      for (let i = 0; i < sv.ids.length; i++) {
        const r = this._rindex.get(sv.ids[i])
        if (r === undefined) continue
        remote.vv[r] = sv.vv[i]
        if (sv.cloud[i].length > 0) remote.cloud[r] = new Set(sv.cloud[i])
      }
      if (this.covers(remote)) return NO_CHANGE.slice()
    }
    const has = remote === null ? null : (r: number, s: number): boolean => remote.has(r, s)
    const keepSeqs: Array<number[] | undefined> = []
    const keep = (r: number, s: number): void => { (keepSeqs[r] ??= []).push(s) }
    const parts: UpdateParts['parts'] = []
    for (const root of this._roots.values()) {
      walk(root, c => {
        switch (c.type) {
          case ContainerType.Map: {
            if (c.values.size === 0) return
            const values: ValueEntry[] = []
            const keys: string[] = []
            for (const [k, e] of c.values) {
              if (has !== null && has(e.r, e.s)) { keep(e.r, e.s); continue }
              values.push(e)
              keys.push(k)
            }
            for (const [k, es] of c.conflicts) {
              for (const e of es) {
                if (has !== null && has(e.r, e.s)) { keep(e.r, e.s); continue }
                values.push(e)
                keys.push(k)
              }
            }
            if (values.length > 0) parts.push({ c, values, keys })
            return
          }
          case ContainerType.Register: {
            if (c.entry === null) return
            const values: ValueEntry[] = []
            for (const e of [c.entry, ...c.conflicts]) {
              if (has !== null && has(e.r, e.s)) keep(e.r, e.s)
              else values.push(e)
            }
            if (values.length > 0) parts.push({ c, values })
            return
          }
          case ContainerType.Counter: {
            const comps = []
            for (const k of c.comps.values()) {
              if (has !== null && has(k.r, k.s)) keep(k.r, k.s)
              else comps.push(k)
            }
            if (comps.length > 0) parts.push({ c, comps })
            return
          }
          case ContainerType.Set: {
            const elems: SetElem[] = []
            for (const el of c.elems.values()) {
              let dots: number[] | null = null
              for (let i = 0; i < el.dots.length; i += 2) {
                const r = el.dots[i]; const s = el.dots[i + 1]
                if (has !== null && has(r, s)) keep(r, s)
                else (dots ??= []).push(r, s)
              }
              if (dots !== null) elems.push(dots.length === el.dots.length ? el : { v: el.v, dots })
            }
            if (elems.length > 0) parts.push({ c, elems })
          }
        }
      })
    }
    return encodeUpdate({
      state: true,
      replicaIds: this._replicas,
      cc: this.ccRanges(),
      parts,
      removals: [],
      keep: DotRanges.fromSeqs(keepSeqs).ranges
    })
  }

  private covers (remote: DotClock): boolean {
    for (let r = 0; r < this._replicas.length; r++) {
      const v = this._cc.vv[r] ?? 0
      const rv = remote.vv[r] ?? 0
      if (v > rv) for (let s = rv + 1; s <= v; s++) if (!remote.has(r, s)) return false
      for (const s of this._cc.cloudOf(r)) if (!remote.has(r, s)) return false
    }
    return true
  }

  private ccRanges (): Ranges {
    const out: Ranges = []
    for (let r = 0; r < this._replicas.length; r++) {
      const v = this._cc.vv[r] ?? 0
      const cloud = this._cc.cloudOf(r)
      const seqs: number[] = []
      if (v === 0 && cloud.length === 0) continue
      const a: number[] = v > 0 ? [1, v] : []
      for (const s of cloud) {
        if (a.length > 0 && a[a.length - 1] === s - 1) a[a.length - 1] = s
        else a.push(s, s)
      }
      void seqs
      out[r] = a
    }
    return out
  }

  /**
   * Integrates an update from another replica. Updates are idempotent and
   * commutative: duplicates and any order are fine. Throws `DecodeError`
   * on malformed bytes, and then the doc is unchanged.
   */
  applyUpdate (update: Uint8Array, origin: unknown = null): void {
    if (this.destroyed) throw new InvalidArgumentError('this Doc was destroyed: create a new one')
    const u = decodeUpdate(update)
    this.integrate([u], update, origin)
  }

  /**
   * Integrates many updates as one transaction: the doc ends up as if each
   * had gone through {@link applyUpdate} (any order, duplicates fine), but
   * listeners get one `'update'` event (everything new, merged into one
   * update) and one `'change'` event, both tagged with `origin`. Meant
   * for many small updates at once, such as stored records: one
   * transaction for all, and no event per update.
   *
   * Every update is decoded before any is applied: if one is malformed this
   * throws `DecodeError` naming its index, and the doc is unchanged.
   *
   * @example
   * ```ts
   * const doc = new Doc()
   * doc.applyUpdates(storedRecords, 'storage') // one 'update', one 'change'
   * ```
   */
  applyUpdates (updates: readonly Uint8Array[], origin: unknown = null): void {
    if (this.destroyed) throw new InvalidArgumentError('this Doc was destroyed: create a new one')
    if (!Array.isArray(updates)) throw new InvalidArgumentError('applyUpdates takes an array of updates')
    const n = updates.length
    const us: DecodedUpdate[] = new Array(n)
    for (let i = 0; i < n; i++) {
      try {
        us[i] = decodeUpdate(updates[i])
      } catch (err) {
        throw new DecodeError(`updates[${i}] (of ${n}): ${(err as Error).message.replace(/^update: /, '')}`, { cause: err })
      }
    }
    this.integrate(us, n === 1 ? updates[0] : null, origin)
  }

  private replicaIndex (id: string): number {
    let r = this._rindex.get(id)
    if (r === undefined) {
      r = this._replicas.length
      this._replicas.push(id)
      this._rindex.set(id, r)
    }
    return r
  }

  /**
   * Integrates decoded updates, in order, as one remote transaction with at
   * most one 'update' and one 'change' event. `original`: the bytes of a
   * lone update, forwarded as they are when everything in them is new.
   */
  private integrate (us: readonly DecodedUpdate[], original: Uint8Array | null, origin: unknown): void {
    if (this._txn !== null) throw new InvalidArgumentError('applyUpdate inside a transaction is not supported: apply it after the transaction')
    const txn = new Txn(origin, false, this._observers.has('update'), this._observers.has('change'))
    const rec = txn.recording
    // dots of the updates' causal contexts that are new here, from state updates and from
    // deltas (only to encode the 'update' event)
    const freshState: Ranges = []
    const freshDelta: Ranges = []
    let allFresh = true
    let state = false
    let maxTime = 0
    let ids: readonly string[] = []
    let rmap: number[] = []
    for (let k = 0; k < us.length; k++) {
      const u = us[k]
      // replica index of each wire replica; consecutive updates mostly share their table
      if (!sameIds(u.replicas, ids)) {
        ids = u.replicas
        rmap = new Array(ids.length)
        for (let w = 0; w < ids.length; w++) rmap[w] = this.replicaIndex(ids[w])
      }
      if (rec && !this.collectFresh(u, rmap, u.state ? freshState : freshDelta)) allFresh = false
      if (u.state) state = true
      const t = this.integrateOne(u, rmap, txn)
      if (t > maxTime) maxTime = t
    }
    const own = this._cc.max(LOCAL)
    if (own > this._seq) this._seq = own
    if (maxTime > 0) this.receiveTimes(maxTime, us)

    if (rec) {
      // new here: a change, a dot not seen yet, or the removal of one (recorded only then)
      if (txn.changed || txn.removals.length > 0 || hasDots(freshState) || hasDots(freshDelta)) {
        const bytes = original !== null && !state && allFresh
          ? original
          : encodeUpdate({
            state,
            replicaIds: this._replicas,
            cc: joinRanges(freshState, freshDelta),
            parts: partsOf(txn),
            removals: txn.removals,
            // a state update's dots missing from it are dead; a delta's say nothing of the kind
            keep: state ? joinRanges(freshDelta, []) : []
          })
        this.emit('update', [bytes, origin])
      }
    }
    if (txn.observing && txn.changed) this.emitChange(txn)
  }

  /** Appends to `fresh` the dots of u's causal context this doc has not seen yet; true if that is all of them. */
  private collectFresh (u: DecodedUpdate, rmap: number[], fresh: Ranges): boolean {
    let all = true
    for (let w = 0; w < u.cc.length; w++) {
      const a = u.cc[w]
      if (a === undefined) continue
      const r = rmap[w]
      const out = (fresh[r] ??= [])
      const from = out.length
      for (let i = 0; i < a.length; i += 2) freshRanges(this._cc, r, a[i], a[i + 1], out)
      if (!all) continue
      if (out.length - from !== a.length) all = false
      else for (let i = 0; i < a.length; i++) if (out[from + i] !== a[i]) { all = false; break }
    }
    return all
  }

  /**
   * Moves the HLC past the received timestamps. A timestamp too far ahead
   * is skipped (LWW still orders it, our clock stays sane): if the largest
   * is refused, the latest timestamp of each update is tried in turn.
   */
  private receiveTimes (maxTime: number, us: readonly DecodedUpdate[]): void {
    try {
      this._hlc.receive(maxTime)
      return
    } catch {
      if (us.length === 1) return
    }
    for (const u of us) {
      let t = 0
      for (const wc of u.containers) for (const e of wc.values) if (e.t > t) t = e.t
      if (t === 0) continue
      try { this._hlc.receive(t) } catch { /* too far ahead: skipped */ }
    }
  }

  /**
   * The local container for entry `i` of u's container table (`wired`
   * caches them); with `create`, made if missing, else null if missing.
   */
  private resolve (u: DecodedUpdate, wired: Wired, i: number, create: boolean): Container | null {
    const hit = wired[i]
    if (hit !== undefined && (hit === null ? !create : hit.attached)) return hit
    const wc = u.containers[i]
    let c: Container | null = null
    if (wc.parent < 0) {
      const k = childKey(wc.type, wc.key)
      c = this._roots.get(k) ?? null
      if (c === null && create) this._roots.set(k, c = createContainer(wc.type, null, wc.key))
    } else {
      const parent = this.resolve(u, wired, wc.parent, create) as MapContainer | null
      if (parent !== null) {
        c = parent.child(wc.type, wc.key) ?? null
        if (c === null && create) {
          c = createContainer(wc.type, parent, wc.key)
          parent.children.set(childKey(wc.type, wc.key), c)
        }
      }
    }
    wired[i] = c
    return c
  }

  /** Integrates one decoded update into `txn`; returns the largest timestamp it added (0: none). */
  private integrateOne (u: DecodedUpdate, rmap: number[], txn: Txn): number {
    const rec = txn.recording
    const cc = this._cc
    const wired: Wired = new Array(u.containers.length)
    let touchedNested: Set<Container> | null = null
    // what this update adds to the txn's records (step 4 merges their dots)
    const mapFrom = txn.mapAdds.length
    const regFrom = txn.regAdds.length
    const compFrom = txn.compAdds.length
    const elemFrom = txn.elemAdds.length

    // 1. explicit removals
    for (const rm of u.removals) {
      const r = rmap[rm.r]
      const known = cc.has(r, rm.s)
      const c = this.resolve(u, wired, rm.c, rec && !known)
      if (c === null) continue
      const removed = removeDot(c, rm.loc, r, rm.s, this._newerFn)
      if (removed) txn.touch(c, c.type === ContainerType.Map ? rm.loc : undefined)
      if (c.parent !== null) (touchedNested ??= new Set()).add(c)
      if (rec && (removed || !known)) txn.removals.push({ c, loc: rm.loc, value: rm.value, r, s: rm.s })
    }

    // 2. state updates: remove what the sender has seen but no longer holds
    if (u.state) {
      const ccU = new DotRanges()
      for (let w = 0; w < u.cc.length; w++) if (u.cc[w] !== undefined) ccU.ranges[rmap[w]] = u.cc[w]
      const keepU = new DotRanges()
      for (let w = 0; w < u.keep.length; w++) if (u.keep[w] !== undefined) keepU.ranges[rmap[w]] = u.keep[w]
      let liveU: DotRanges | null = null
      const liveOfU = (): DotRanges => {
        const liveSeqs: Array<number[] | undefined> = []
        const live = (w: number, s: number): void => { (liveSeqs[rmap[w]] ??= []).push(s) }
        for (const wc of u.containers) {
          for (const e of wc.values) live(e.r, e.s)
          for (const k of wc.comps) live(k.r, k.s)
          for (const el of wc.elems) for (let i = 0; i < el.dots.length; i += 2) live(el.dots[i], el.dots[i + 1])
        }
        return DotRanges.fromSeqs(liveSeqs)
      }
      const dead = (r: number, s: number): boolean => ccU.has(r, s) && !keepU.has(r, s) && !(liveU ??= liveOfU()).has(r, s)
      for (const root of this._roots.values()) {
        walk(root, c => {
          if (scanRemove(c, dead, txn, this._newerFn)) {
            if (c.parent !== null) (touchedNested ??= new Set()).add(c)
          }
        })
      }
    }

    // 3. elements this doc has not seen
    let maxTime = 0
    for (let i = 0; i < u.containers.length; i++) {
      const wc = u.containers[i]
      switch (wc.type) {
        case ContainerType.Map: {
          const values = wc.values
          if (values.length === 0) break
          let c: MapContainer | null = null
          for (let j = 0; j < values.length; j++) {
            const e = values[j]
            const r = rmap[e.r]
            if (cc.has(r, e.s)) continue
            e.r = r
            if (e.t > maxTime) maxTime = e.t
            c ??= this.resolve(u, wired, i, true) as MapContainer
            const key = wc.keys[j]
            const old = c.values.get(key)
            if (old === undefined) {
              c.values.set(key, e)
            } else if (this._newer(e, old)) {
              c.values.set(key, e)
              pushConflict(c, key, old)
            } else {
              pushConflict(c, key, e)
            }
            if (rec) txn.mapAdds.push({ c, key, e })
            txn.touch(c, key)
          }
          if (c !== null && c.parent !== null) (touchedNested ??= new Set()).add(c)
          break
        }
        case ContainerType.Register: {
          let c: RegisterContainer | null = null
          for (const e of wc.values) {
            const r = rmap[e.r]
            if (cc.has(r, e.s)) continue
            e.r = r
            if (e.t > maxTime) maxTime = e.t
            c ??= this.resolve(u, wired, i, true) as RegisterContainer
            if (c.entry === null) {
              c.entry = e
            } else if (this._newer(e, c.entry)) {
              c.conflicts.push(c.entry)
              c.entry = e
            } else {
              c.conflicts.push(e)
            }
            if (rec) txn.regAdds.push({ c, e })
            txn.touch(c)
          }
          if (c !== null && c.parent !== null) (touchedNested ??= new Set()).add(c)
          break
        }
        case ContainerType.Counter: {
          let c: CounterContainer | null = null
          for (const k of wc.comps) {
            const r = rmap[k.r]
            if (cc.has(r, k.s)) continue
            k.r = r
            c ??= this.resolve(u, wired, i, true) as CounterContainer
            const old = c.comps.get(r)
            if (old === undefined || k.s > old.s) {
              c.comps.set(r, k)
              if (rec) txn.compAdds.push({ c, comp: k })
              txn.touch(c)
            }
          }
          if (c !== null && c.parent !== null) (touchedNested ??= new Set()).add(c)
          break
        }
        case ContainerType.Set: {
          let c: SetContainer | null = null
          for (const el of wc.elems) {
            let dots: number[] | null = null
            for (let j = 0; j < el.dots.length; j += 2) {
              const r = rmap[el.dots[j]]
              if (!cc.has(r, el.dots[j + 1])) (dots ??= []).push(r, el.dots[j + 1])
            }
            if (dots === null) continue
            c ??= this.resolve(u, wired, i, true) as SetContainer
            const key = canonicalKey(el.v)
            const cur = c.elems.get(key)
            if (cur === undefined) c.elems.set(key, { v: el.v, dots: dots.slice() })
            else for (let j = 0; j < dots.length; j++) cur.dots.push(dots[j])
            if (rec) txn.elemAdds.push({ c, key, elem: { v: el.v, dots } })
            txn.touch(c)
          }
          if (c !== null && c.parent !== null) (touchedNested ??= new Set()).add(c)
          break
        }
      }
    }

    // 4. merge the causal context
    for (let w = 0; w < u.cc.length; w++) {
      const a = u.cc[w]
      if (a !== undefined) for (let i = 0; i < a.length; i += 2) cc.addRange(rmap[w], a[i], a[i + 1])
    }
    for (const rm of u.removals) cc.add(rmap[rm.r], rm.s)
    for (let i = mapFrom; i < txn.mapAdds.length; i++) cc.add(txn.mapAdds[i].e.r, txn.mapAdds[i].e.s)
    for (let i = regFrom; i < txn.regAdds.length; i++) cc.add(txn.regAdds[i].e.r, txn.regAdds[i].e.s)
    for (let i = compFrom; i < txn.compAdds.length; i++) cc.add(txn.compAdds[i].comp.r, txn.compAdds[i].comp.s)
    for (let i = elemFrom; i < txn.elemAdds.length; i++) {
      const dots = txn.elemAdds[i].elem.dots
      for (let j = 0; j < dots.length; j += 2) cc.add(dots[j], dots[j + 1])
    }

    // 5. drop nested containers left empty
    if (touchedNested !== null) for (const c of touchedNested) if (c.attached && c.isEmpty()) detach(c)
    for (let i = 0; i < wired.length; i++) {
      const c = wired[i]
      if (c != null && c.parent !== null && c.attached && c.isEmpty()) detach(c)
    }
    return maxTime
  }

  private encodeLocal (txn: Txn): Uint8Array {
    const cc: Ranges = []
    if (txn.seqEnd >= txn.seqStart) cc[LOCAL] = [txn.seqStart, txn.seqEnd]
    return encodeUpdate({ state: false, replicaIds: this._replicas, cc, parts: partsOf(txn), removals: txn.removals, keep: null })
  }

  private emitChange (txn: Txn): void {
    const changes: DocChange[] = []
    for (const [c, keys] of txn.touched ?? []) {
      const ch: DocChange = { path: c.path(), type: containerTypeName[c.type] }
      if (keys !== null && c.type === ContainerType.Map) ch.keys = Array.from(keys)
      changes.push(ch)
    }
    this.emit('change', [changes, txn.origin, txn.local])
  }

  /** The whole document as plain JSON: `{ name: value }` for every named CRDT that holds anything. */
  toJSON (): { [name: string]: JsonValue } {
    const out: { [name: string]: JsonValue } = {}
    const names = new Map<string, Container>()
    for (const c of this._roots.values()) {
      if (c.isEmpty()) continue
      const prev = names.get(c.key)
      if (prev === undefined || c.type < prev.type) names.set(c.key, c)
    }
    for (const name of Array.from(names.keys()).sort()) {
      Object.defineProperty(out, name, { value: names.get(name)!.toJSON(), enumerable: true, writable: true, configurable: true })
    }
    return out
  }

  /** Stops the doc: events are dropped and further edits throw. */
  override destroy (): void {
    if (this.destroyed) return
    this.emit('destroy', [this])
    this.destroyed = true
    super.destroy()
  }
}

type Newer = (a: ValueEntry, b: ValueEntry) => boolean

/** Same replica ids in the same order (decoded ids repeat as the same strings: mostly an identity check). */
const sameIds = (a: readonly string[], b: readonly string[]): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
/** Local containers of an update's container table, by index (null: not here). */
type Wired = Array<Container | null | undefined>

/** Removes and returns the newest entry of `cs`. */
const promote = (cs: ValueEntry[], newer: Newer): ValueEntry => {
  let best = 0
  for (let i = 1; i < cs.length; i++) if (newer(cs[i], cs[best])) best = i
  return cs.splice(best, 1)[0]
}

const pushConflict = (c: MapContainer, key: string, e: ValueEntry): void => {
  const cs = c.conflicts.get(key)
  if (cs === undefined) c.conflicts.set(key, [e])
  else cs.push(e)
}

/** Appends to `out` the sub-ranges of [a, b] not in `cc` for replica r. */
const freshRanges = (cc: DotClock, r: number, a: number, b: number, out: number[]): void => {
  const start = Math.max(a, (cc.vv[r] ?? 0) + 1)
  if (start > b) return
  const cloud = cc.cloud[r]
  if (cloud === undefined) { out.push(start, b); return }
  const inside = Array.from(cloud).filter(s => s >= start && s <= b).sort((x, y) => x - y)
  let from = start
  for (const s of inside) {
    if (s > from) out.push(from, s - 1)
    from = s + 1
  }
  if (from <= b) out.push(from, b)
}

const hasDots = (ranges: Ranges): boolean => ranges.some(a => a !== undefined && a.length > 0)

/** The union of two sets of dot ranges (each per replica, in any order). */
const joinRanges = (a: Ranges, b: Ranges): Ranges => {
  const out: Ranges = []
  for (let r = 0; r < Math.max(a.length, b.length); r++) {
    const x = a[r]
    const y = b[r]
    if (x === undefined && y === undefined) continue
    out[r] = coalesce(x === undefined ? y! : y === undefined ? x : x.concat(y))
  }
  return out
}

/** Dot ranges `[start, end, …]` of one replica, in any order, as sorted ranges with adjacent and overlapping ones joined. */
const coalesce = (a: number[]): number[] => {
  let src = a
  for (let i = 2; i < a.length; i += 2) {
    if (a[i] > a[i - 1]) continue
    const pairs: Array<[number, number]> = []
    for (let j = 0; j < a.length; j += 2) pairs.push([a[j], a[j + 1]])
    pairs.sort((x, y) => x[0] - y[0])
    src = pairs.flat()
    break
  }
  const out: number[] = []
  for (let i = 0; i < src.length; i += 2) {
    const n = out.length
    if (n > 0 && src[i] <= out[n - 1] + 1) {
      if (src[i + 1] > out[n - 1]) out[n - 1] = src[i + 1]
    } else {
      out.push(src[i], src[i + 1])
    }
  }
  return out
}

const detach = (c: Container): void => {
  let x: Container | null = c
  while (x !== null && x.parent !== null && x.isEmpty()) {
    const p: MapContainer = x.parent
    if (p.children.get(childKey(x.type, x.key)) === x) p.children.delete(childKey(x.type, x.key))
    const mark = (y: Container): void => { y.attached = false }
    walk(x, mark)
    x = p
  }
}

/** Removes the element with dot (r, s) at `loc` of `c`; true if it was there. */
const removeDot = (c: Container, loc: string, r: number, s: number, newer: Newer): boolean => {
  switch (c.type) {
    case ContainerType.Map: {
      const e = c.values.get(loc)
      if (e === undefined) return false
      const cs = c.conflicts.size === 0 ? undefined : c.conflicts.get(loc)
      if (e.r === r && e.s === s) {
        if (cs === undefined) c.values.delete(loc)
        else {
          c.values.set(loc, promote(cs, newer))
          if (cs.length === 0) c.conflicts.delete(loc)
        }
        return true
      }
      if (cs === undefined) return false
      const i = cs.findIndex(x => x.r === r && x.s === s)
      if (i < 0) return false
      cs.splice(i, 1)
      if (cs.length === 0) c.conflicts.delete(loc)
      return true
    }
    case ContainerType.Register: {
      const e = c.entry
      if (e === null) return false
      if (e.r === r && e.s === s) {
        c.entry = c.conflicts.length === 0 ? null : promote(c.conflicts, newer)
        return true
      }
      const i = c.conflicts.findIndex(x => x.r === r && x.s === s)
      if (i < 0) return false
      c.conflicts.splice(i, 1)
      return true
    }
    case ContainerType.Counter: {
      const k = c.comps.get(r)
      if (k === undefined || k.s !== s) return false
      c.comps.delete(r)
      return true
    }
    case ContainerType.Set: {
      const el = c.elems.get(loc)
      if (el === undefined) return false
      for (let i = 0; i < el.dots.length; i += 2) {
        if (el.dots[i] === r && el.dots[i + 1] === s) {
          el.dots.splice(i, 2)
          if (el.dots.length === 0) c.elems.delete(loc)
          return true
        }
      }
      return false
    }
  }
}

/** Removes from `c` every element whose dot is `dead`; records the removals. */
const scanRemove = (c: Container, dead: (r: number, s: number) => boolean, txn: Txn, newer: Newer): boolean => {
  const rec = txn.recording
  let any = false
  switch (c.type) {
    case ContainerType.Map: {
      const hits: Array<[string, ValueEntry]> = []
      for (const [k, e] of c.values) if (dead(e.r, e.s)) hits.push([k, e])
      for (const [k, es] of c.conflicts) for (const e of es) if (dead(e.r, e.s)) hits.push([k, e])
      for (const [k, e] of hits) {
        removeDot(c, k, e.r, e.s, newer)
        if (rec) txn.removals.push({ c, loc: k, value: null, r: e.r, s: e.s })
        txn.touch(c, k)
        any = true
      }
      break
    }
    case ContainerType.Register: {
      const hits = c.entry === null ? [] : [c.entry, ...c.conflicts].filter(e => dead(e.r, e.s))
      for (const e of hits) {
        removeDot(c, '', e.r, e.s, newer)
        if (rec) txn.removals.push({ c, loc: '', value: null, r: e.r, s: e.s })
        txn.touch(c)
        any = true
      }
      break
    }
    case ContainerType.Counter:
      for (const [r, k] of c.comps) {
        if (!dead(k.r, k.s)) continue
        c.comps.delete(r)
        if (rec) txn.removals.push({ c, loc: '', value: null, r: k.r, s: k.s })
        txn.touch(c)
        any = true
      }
      break
    case ContainerType.Set:
      for (const [key, el] of c.elems) {
        for (let i = el.dots.length - 2; i >= 0; i -= 2) {
          if (!dead(el.dots[i], el.dots[i + 1])) continue
          if (rec) txn.removals.push({ c, loc: key, value: el.v, r: el.dots[i], s: el.dots[i + 1] })
          el.dots.splice(i, 2)
          any = true
        }
        if (el.dots.length === 0) c.elems.delete(key)
        if (any) txn.touch(c)
      }
      break
  }
  return any
}

/** The still-live elements a transaction added, grouped by container for encoding. */
const partsOf = (txn: Txn): UpdateParts['parts'] => {
  const byC = new Map<Container, UpdateParts['parts'][number]>()
  const part = (c: Container): UpdateParts['parts'][number] => {
    let p = byC.get(c)
    if (p === undefined) byC.set(c, p = { c })
    return p
  }
  for (const { c, key, e } of txn.mapAdds) {
    if (c.values.get(key) !== e && !(c.conflicts.get(key)?.includes(e) ?? false)) continue
    const p = part(c)
    ;(p.values ??= []).push(e)
    ;(p.keys ??= []).push(key)
  }
  for (const { c, e } of txn.regAdds) if (c.entry === e || c.conflicts.includes(e)) (part(c).values ??= []).push(e)
  for (const { c, comp } of txn.compAdds) if ((c as CounterContainer).comps.get(comp.r) === comp) (part(c).comps ??= []).push(comp)
  for (const { c, key, elem } of txn.elemAdds) {
    const live = c.elems.get(key)
    if (live === undefined) continue
    const dots: number[] = []
    for (let i = 0; i < elem.dots.length; i += 2) {
      for (let j = 0; j < live.dots.length; j += 2) {
        if (live.dots[j] === elem.dots[i] && live.dots[j + 1] === elem.dots[i + 1]) { dots.push(elem.dots[i], elem.dots[i + 1]); break }
      }
    }
    if (dots.length > 0) (part(c).elems ??= []).push({ v: elem.v, dots })
  }
  return Array.from(byC.values())
}

const makeHandle = (doc: Doc, parent: DocMap | null, key: string, type: ContainerType, c: Container | null): DocMap | DocCounter | DocSet | DocRegister => {
  switch (type) {
    case ContainerType.Map: return new DocMap(doc, parent, key, c as MapContainer | null)
    case ContainerType.Counter: return new DocCounter(doc, parent, key, c as CounterContainer | null)
    case ContainerType.Set: return new DocSet(doc, parent, key, c as SetContainer | null)
    default: return new DocRegister(doc, parent, key, c as RegisterContainer | null)
  }
}

export { DecodeError }
