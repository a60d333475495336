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
import type { SeqDelta } from '../seq/sequence-api.js'
import {
  childKey, type Container, CONTAINER_TYPE_LIMIT, ContainerType, type ContainerTypeName, CounterContainer,
  detach, MapContainer, RegisterContainer, SetContainer, takeAll, type ValueEntry, walk
} from './containers.js'
import { DotClock, DotRanges } from './dot-clock.js'
import { checkReplicaId, type DecodedUpdate, decodeUpdate, encodeUpdate, type Ranges } from './update-codec.js'
import { decodeStateVector, encodeStateVector } from './state-vector.js'
import { Txn } from './txn.js'
import { DocCounter, DocMap, DocRegister, DocSet } from './handles.js'
import { integrateOne, partsOf } from './integrate.js'
import { ccRanges, collectFresh, covers, hasDots, joinRanges, sameIds } from './ranges.js'
import { type ContainerEnv, moduleOf, type Newer } from './types/index.js'

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
  /** For sequences (text, list): the visible change as a Quill-shaped delta. */
  delta?: SeqDelta
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
  /** @internal what container modules get from the doc. */
  readonly _env: ContainerEnv = {
    compareReplicas: (a, b) => { const x = this._replicas[a]; const y = this._replicas[b]; return x < y ? -1 : x > y ? 1 : 0 }
  }
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
    if (typeof name !== 'string') throw new InvalidArgumentError(`a ${moduleOf(type).name} name must be a string`)
    const k = childKey(type, name)
    let h = this.handles.get(k)
    if (h === undefined) {
      let c = this._roots.get(k)
      if (c === undefined) this._roots.set(k, c = moduleOf(type).create(null, name, this._env))
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

  /** @internal `n` ≥ 1 fresh consecutive local dots (a sequence run); returns the first seq. */
  _dots (txn: Txn, n: number): number {
    const s = this._seq + 1
    this._seq += n
    this._cc.addRange(LOCAL, s, this._seq)
    if (txn.seqEnd < txn.seqStart) txn.seqStart = s
    txn.seqEnd = this._seq
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
      for (let t = 0; t < CONTAINER_TYPE_LIMIT; t++) {
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
    return moduleOf(c.type).clear(c, txn)
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
        for (const s of sv.cloud[i]) remote.add(r, s)
      }
      if (covers(this._cc, remote, this._replicas.length)) return NO_CHANGE.slice()
    }
    const has = remote === null ? null : (r: number, s: number): boolean => remote.has(r, s)
    const keepSeqs: Array<number[] | undefined> = []
    const keep = (r: number, s: number): void => { (keepSeqs[r] ??= []).push(s) }
    const parts: Array<{ c: Container, p: unknown }> = []
    for (const root of this._roots.values()) {
      walk(root, c => {
        const p = moduleOf(c.type).statePart(c, has, keep)
        if (p !== null) parts.push({ c, p })
      })
    }
    return encodeUpdate({
      state: true,
      replicaIds: this._replicas,
      cc: ccRanges(this._cc, this._replicas.length),
      parts,
      removals: [],
      keep: DotRanges.fromSeqs(keepSeqs).ranges
    })
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
      if (rec && !collectFresh(this._cc, u, rmap, u.state ? freshState : freshDelta)) allFresh = false
      if (u.state) state = true
      const t = integrateOne(this, u, rmap, txn)
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
      for (const wc of u.containers) { const m = moduleOf(wc.type).maxTime(wc.payload); if (m > t) t = m }
      if (t === 0) continue
      try { this._hlc.receive(t) } catch { /* too far ahead: skipped */ }
    }
  }

  private encodeLocal (txn: Txn): Uint8Array {
    const cc: Ranges = []
    if (txn.seqEnd >= txn.seqStart) cc[LOCAL] = [txn.seqStart, txn.seqEnd]
    return encodeUpdate({ state: false, replicaIds: this._replicas, cc, parts: partsOf(txn), removals: txn.removals, keep: null })
  }

  private emitChange (txn: Txn): void {
    const changes: DocChange[] = []
    for (const [c, keys] of txn.touched ?? []) {
      const m = moduleOf(c.type)
      const ch: DocChange = { path: c.path(), type: m.name as ContainerTypeName, ...m.collectChanges(c, keys, txn) }
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

const makeHandle = (doc: Doc, parent: DocMap | null, key: string, type: ContainerType, c: Container | null): DocMap | DocCounter | DocSet | DocRegister => {
  switch (type) {
    case ContainerType.Map: return new DocMap(doc, parent, key, c as MapContainer | null)
    case ContainerType.Counter: return new DocCounter(doc, parent, key, c as CounterContainer | null)
    case ContainerType.Set: return new DocSet(doc, parent, key, c as SetContainer | null)
    default: return new DocRegister(doc, parent, key, c as RegisterContainer | null)
  }
}

export { DecodeError }
