/**
 * The Doc update wire format (version 1). One format serves local deltas,
 * forwarded deltas and full or partial state:
 *
 * ```
 * u8 version  u8 flags(bit0 = state)  replicas: n × string
 * cc: dot ranges      containers: n × (u8 type|0x80 root, name | parent key)
 * per container: its live elements, column by column (dot runs, HLC runs,
 *   front-coded keys, values)
 * removals: n × (container, location, dot)    keep (state only): dot ranges
 * ```
 *
 * Decoding validates everything into plain objects before anything is
 * applied, so a bad update changes nothing.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError } from '../errors.js'
import { canonicalKey, type JsonValue, readValue, writeValue } from '../codec/value.js'
import { type Decoder, decodeWith, readCount, readString, readUint8, readVarInt, readVarUint, remaining } from '../codec/reader.js'
import { writeString } from '../codec/writer.js'
import { type Container, ContainerType, type CounterComp, type SetElem, type ValueEntry } from './containers.js'

/** The leading byte of every Doc update. */
export const UPDATE_FORMAT_VERSION = 1
const FLAG_STATE = 1
const ROOT = 0x80
/** Replica ids are at most this many UTF-8 bytes. */
export const MAX_REPLICA_ID_BYTES = 64

/** Dot ranges per replica: `[start, end, start, end, …]`, sorted, inclusive. */
export type Ranges = Array<number[] | undefined>

export interface WireContainer {
  type: ContainerType
  /** Index of the parent in the table, -1 for a root. */
  parent: number
  /** Root name, or key in the parent map. */
  key: string
  values: ValueEntry[]
  keys: string[]
  comps: CounterComp[]
  elems: SetElem[]
}

export interface WireRemoval {
  /** Container index in the table. */
  c: number
  /** Map key, or canonical key of a set element; '' for counters and registers. */
  loc: string
  /** The set element itself (to re-encode a forwarded removal). */
  value: JsonValue
  r: number
  s: number
}

export interface DecodedUpdate {
  state: boolean
  replicas: string[]
  cc: Ranges
  containers: WireContainer[]
  removals: WireRemoval[]
  keep: Ranges
}

// ---------------------------------------------------------------- encoding

/** What to encode, in local terms (local replica indices, live containers). */
export interface UpdateParts {
  state: boolean
  replicaIds: readonly string[]
  cc: Ranges
  parts: Array<{ c: Container, values?: ValueEntry[], keys?: string[], comps?: CounterComp[], elems?: SetElem[] }>
  removals: Array<{ c: Container, loc: string, value: JsonValue, r: number, s: number }>
  keep: Ranges | null
}

class ReplicaTable {
  readonly toWire: number[] = []
  readonly ids: string[] = []
  constructor (private readonly localIds: readonly string[]) {}
  w (r: number): number {
    let w = this.toWire[r]
    if (w === undefined) {
      w = this.toWire[r] = this.ids.length
      this.ids.push(this.localIds[r])
    }
    return w
  }
}

const writeRanges = (e: encoding.Encoder, ranges: Ranges, rt: ReplicaTable): void => {
  let groups = 0
  for (let r = 0; r < ranges.length; r++) if (ranges[r] !== undefined && ranges[r]!.length > 0) groups++
  encoding.writeVarUint(e, groups)
  for (let r = 0; r < ranges.length; r++) {
    const a = ranges[r]
    if (a === undefined || a.length === 0) continue
    encoding.writeVarUint(e, rt.w(r))
    encoding.writeVarUint(e, a.length >> 1)
    let prevEnd = 0
    for (let i = 0; i < a.length; i += 2) {
      encoding.writeVarUint(e, a[i] - prevEnd - 1)
      encoding.writeVarUint(e, a[i + 1] - a[i])
      prevEnd = a[i + 1]
    }
  }
}

/** Dots as runs of consecutive seqs of one replica: (replica, start - prevEnd, length). */
const writeDotRuns = (e: encoding.Encoder, n: number, rOf: (i: number) => number, sOf: (i: number) => number, rt: ReplicaTable): void => {
  const runs: number[] = []
  let i = 0
  while (i < n) {
    const r = rOf(i)
    const s0 = sOf(i)
    let len = 1
    while (i + len < n && rOf(i + len) === r && sOf(i + len) === s0 + len) len++
    runs.push(rt.w(r), s0, len)
    i += len
  }
  encoding.writeVarUint(e, runs.length / 3)
  let prev = 0
  for (let k = 0; k < runs.length; k += 3) {
    encoding.writeVarUint(e, runs[k])
    encoding.writeVarInt(e, runs[k + 1] - prev)
    encoding.writeVarUint(e, runs[k + 2] - 1)
    prev = runs[k + 1] + runs[k + 2] - 1
  }
}

/**
 * Timestamps as runs `(start − previous end, (length − 1) · 2 + step)`: a run
 * either repeats one timestamp (step 0, one transaction) or counts up by one
 * per entry (step 1, the HLC's logical counter across back-to-back
 * transactions), so both cases cost a few bytes per run, not per entry.
 */
const writeTimeRuns = (e: encoding.Encoder, entries: ValueEntry[]): void => {
  const runs: number[] = []
  let i = 0
  while (i < entries.length) {
    const t = entries[i].t
    const step = i + 1 < entries.length && entries[i + 1].t === t + 1 ? 1 : 0
    let len = 1
    while (i + len < entries.length && entries[i + len].t === t + step * len) len++
    runs.push(t, len, step)
    i += len
  }
  encoding.writeVarUint(e, runs.length / 3)
  let prev = 0
  for (let k = 0; k < runs.length; k += 3) {
    encoding.writeVarInt(e, runs[k] - prev)
    encoding.writeVarUint(e, (runs[k + 1] - 1) * 2 + runs[k + 2])
    prev = runs[k] + runs[k + 2] * (runs[k + 1] - 1)
  }
}

const commonPrefix = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length, 255)
  let i = 0
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++
  // never split a surrogate pair
  if (i > 0 && i < b.length) {
    const c = b.charCodeAt(i - 1)
    if (c >= 0xd800 && c <= 0xdbff) i--
  }
  return i
}

const writeKeys = (e: encoding.Encoder, keys: string[]): void => {
  let prev = ''
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]
    const p = commonPrefix(prev, k)
    encoding.writeVarUint(e, p)
    writeString(e, p === 0 ? k : k.slice(p))
    prev = k
  }
}

const writeValueEntries = (e: encoding.Encoder, entries: ValueEntry[], rt: ReplicaTable): void => {
  encoding.writeVarUint(e, entries.length)
  if (entries.length === 0) return
  writeDotRuns(e, entries.length, i => entries[i].r, i => entries[i].s, rt)
  writeTimeRuns(e, entries)
}

/** Encodes an update. Containers are written parents first. */
export const encodeUpdate = (u: UpdateParts): Uint8Array => {
  const rt = new ReplicaTable(u.replicaIds)
  const body = encoding.createEncoder()
  writeRanges(body, u.cc, rt)

  const table = new Map<Container, number>()
  const order: Container[] = []
  const addContainer = (c: Container): void => {
    if (table.has(c)) return
    if (c.parent !== null) addContainer(c.parent)
    table.set(c, order.length)
    order.push(c)
  }
  for (const p of u.parts) addContainer(p.c)
  for (const rm of u.removals) addContainer(rm.c)
  const payload = new Map<Container, UpdateParts['parts'][number]>()
  for (const p of u.parts) payload.set(p.c, p)

  encoding.writeVarUint(body, order.length)
  for (const c of order) {
    if (c.parent === null) {
      encoding.writeUint8(body, c.type | ROOT)
      encoding.writeVarString(body, c.key)
    } else {
      encoding.writeUint8(body, c.type)
      encoding.writeVarUint(body, table.get(c.parent)!)
      encoding.writeVarString(body, c.key)
    }
  }
  for (const c of order) {
    const p = payload.get(c)
    switch (c.type) {
      case ContainerType.Map: {
        const values = p?.values ?? []
        writeValueEntries(body, values, rt)
        writeKeys(body, p?.keys ?? [])
        for (let i = 0; i < values.length; i++) writeValue(body, values[i].v)
        break
      }
      case ContainerType.Register: {
        const values = p?.values ?? []
        writeValueEntries(body, values, rt)
        for (let i = 0; i < values.length; i++) writeValue(body, values[i].v)
        break
      }
      case ContainerType.Counter: {
        const comps = p?.comps ?? []
        encoding.writeVarUint(body, comps.length)
        for (const k of comps) {
          encoding.writeVarUint(body, rt.w(k.r))
          encoding.writeVarUint(body, k.s)
          encoding.writeVarUint(body, k.p)
          encoding.writeVarUint(body, k.n)
        }
        break
      }
      case ContainerType.Set: {
        const elems = p?.elems ?? []
        encoding.writeVarUint(body, elems.length)
        if (elems.length === 0) break
        const flat: number[] = []
        for (const el of elems) {
          encoding.writeVarUint(body, (el.dots.length >> 1) - 1)
          for (let i = 0; i < el.dots.length; i++) flat.push(el.dots[i])
        }
        writeDotRuns(body, flat.length >> 1, i => flat[i * 2], i => flat[i * 2 + 1], rt)
        for (const el of elems) writeValue(body, el.v)
        break
      }
    }
  }
  encoding.writeVarUint(body, u.removals.length)
  for (const rm of u.removals) {
    encoding.writeVarUint(body, table.get(rm.c)!)
    if (rm.c.type === ContainerType.Map) writeString(body, rm.loc)
    else if (rm.c.type === ContainerType.Set) writeValue(body, rm.value)
    encoding.writeVarUint(body, rt.w(rm.r))
    encoding.writeVarUint(body, rm.s)
  }
  if (u.state) writeRanges(body, u.keep ?? [], rt)

  const head = encoding.createEncoder()
  encoding.writeUint8(head, UPDATE_FORMAT_VERSION)
  encoding.writeUint8(head, u.state ? FLAG_STATE : 0)
  encoding.writeVarUint(head, rt.ids.length)
  for (const id of rt.ids) encoding.writeVarString(head, id)
  encoding.writeUint8Array(head, encoding.toUint8Array(body))
  return encoding.toUint8Array(head)
}

// ---------------------------------------------------------------- decoding

const utf8 = /* @__PURE__ */ (() => new TextEncoder())()

export const checkReplicaId = (id: string): string | null => {
  if (id.length === 0) return 'a replica id must not be empty'
  if (id.length > MAX_REPLICA_ID_BYTES || utf8.encode(id).length > MAX_REPLICA_ID_BYTES) return `a replica id is at most ${MAX_REPLICA_ID_BYTES} UTF-8 bytes`
  return null
}

/** Replica ids decoded lately, with their bytes (most updates repeat the same few ids). */
const idCache: Array<{ bytes: Uint8Array, id: string }> = []
let idCacheNext = 0
const ID_CACHE_SIZE = 16

/**
 * Reads and checks a replica id. Bytes seen lately give back the same
 * string without decoding and checking it again: cheaper here, and the
 * Doc's replica lookup then hashes one string once, not one per update.
 */
const readReplicaId = (d: Decoder): string => {
  const start = d.pos
  const len = readVarUint(d, 'replica id length')
  const arr = d.arr
  const at = d.pos
  if (len <= arr.length - at) {
    for (let k = 0; k < idCache.length; k++) {
      const bytes = idCache[k].bytes
      if (bytes.length !== len) continue
      let i = 0
      while (i < len && bytes[i] === arr[at + i]) i++
      if (i === len) {
        d.pos = at + len
        return idCache[k].id
      }
    }
  }
  d.pos = start
  const id = readString(d, 'replica id')
  const bad = checkReplicaId(id)
  if (bad !== null) throw new DecodeError(bad)
  idCache[idCacheNext] = { bytes: arr.slice(at, d.pos), id }
  idCacheNext = (idCacheNext + 1) % ID_CACHE_SIZE
  return id
}

const readSeq = (d: Decoder, what: string): number => {
  const s = readVarUint(d, what)
  if (s < 1) throw new DecodeError(`${what} must be ≥ 1`)
  return s
}

const readReplica = (d: Decoder, n: number, what: string): number => {
  const r = readVarUint(d, what)
  if (r >= n) throw new DecodeError(`${what} ${r} is not in the replica table (${n} entries)`)
  return r
}

/** Shared empty array for absent parts (decoded updates are never mutated). */
const NONE: never[] = []

/** The names `readRanges` gives its fields in errors, built once (not per call, for every update decoded). */
interface RangesLabels { what: string, groups: string, replica: string, ranges: string, gap: string, length: string }
const rangesLabels = (what: string): RangesLabels =>
  ({ what, groups: `${what} groups`, replica: `${what} replica`, ranges: `${what} ranges`, gap: `${what} gap`, length: `${what} length` })
const CAUSAL_CONTEXT = /* @__PURE__ */ rangesLabels('causal context')
const KEEP_SET = /* @__PURE__ */ rangesLabels('keep set')

const readRanges = (d: Decoder, nReplicas: number, labels: RangesLabels): Ranges => {
  const what = labels.what
  const groups = readCount(d, labels.groups, 3)
  if (groups === 0) return NONE
  // sized up front: filling an empty array from index 0 would reserve 17 slots
  const out: Ranges = new Array(nReplicas)
  for (let g = 0; g < groups; g++) {
    const r = readReplica(d, nReplicas, labels.replica)
    if (out[r] !== undefined) throw new DecodeError(`${what}: replica ${r} listed twice`)
    const n = readCount(d, labels.ranges, 2)
    const a: number[] = new Array(n * 2)
    let prevEnd = 0
    for (let i = 0; i < n; i++) {
      const start = prevEnd + 1 + readVarUint(d, labels.gap)
      const end = start + readVarUint(d, labels.length)
      if (end > Number.MAX_SAFE_INTEGER) throw new DecodeError(`${what}: sequence number out of range`)
      a[i * 2] = start
      a[i * 2 + 1] = end
      prevEnd = end
    }
    out[r] = a
  }
  return out
}

const readDotRuns = (d: Decoder, n: number, nReplicas: number, rs: number[], ss: number[]): void => {
  const runs = readCount(d, 'dot runs', 3)
  let filled = 0
  let prev = 0
  for (let k = 0; k < runs; k++) {
    const r = readReplica(d, nReplicas, 'dot replica')
    const s0 = prev + readVarInt(d, 'dot seq')
    const len = readVarUint(d, 'dot run length') + 1
    if (s0 < 1 || s0 + len - 1 > Number.MAX_SAFE_INTEGER) throw new DecodeError('dot sequence number out of range')
    if (filled + len > n) throw new DecodeError(`dot runs cover more than the ${n} elements declared`)
    for (let i = 0; i < len; i++) { rs[filled] = r; ss[filled++] = s0 + i }
    prev = s0 + len - 1
  }
  if (filled !== n) throw new DecodeError(`dot runs cover ${filled} of ${n} elements`)
}

/** Reused dot columns for small tables: decoding is synchronous, and most updates hold a few elements. */
const SCRATCH_SIZE = 64
const scratchR: number[] = /* @__PURE__ */ (() => new Array<number>(SCRATCH_SIZE).fill(0))()
const scratchS: number[] = /* @__PURE__ */ (() => new Array<number>(SCRATCH_SIZE).fill(0))()

const readValueEntries = (d: Decoder, nReplicas: number): ValueEntry[] => {
  const n = readCount(d, 'entries', 2)
  if (n === 0) return NONE
  const rs: number[] = n <= SCRATCH_SIZE ? scratchR : new Array(n)
  const ss: number[] = n <= SCRATCH_SIZE ? scratchS : new Array(n)
  readDotRuns(d, n, nReplicas, rs, ss)
  const out: ValueEntry[] = new Array(n)
  const runs = readCount(d, 'time runs', 2)
  let filled = 0
  let t = 0
  for (let k = 0; k < runs; k++) {
    t += readVarInt(d, 'timestamp')
    const x = readVarUint(d, 'time run length')
    const step = x % 2
    const len = (x - step) / 2 + 1
    if (filled + len > n) throw new DecodeError(`time runs cover more than the ${n} entries declared`)
    if (t < 0 || t + step * (len - 1) > Number.MAX_SAFE_INTEGER) throw new DecodeError('timestamp out of range')
    for (let i = 0; i < len; i++, filled++) out[filled] = { r: rs[filled], s: ss[filled], t: t + step * i, v: null }
    t += step * (len - 1)
  }
  if (filled !== n) throw new DecodeError(`time runs cover ${filled} of ${n} entries`)
  return out
}

const readKeys = (d: Decoder, n: number): string[] => {
  const keys: string[] = new Array(n)
  let prev = ''
  for (let i = 0; i < n; i++) {
    const p = readVarUint(d, 'key prefix')
    if (p > prev.length) throw new DecodeError(`key prefix ${p} longer than the previous key`)
    const k = p === 0 ? readString(d, 'key') : prev.slice(0, p) + readString(d, 'key')
    keys[i] = prev = k
  }
  return keys
}

const readSafeUint = (d: Decoder, what: string): number => {
  const n = readVarUint(d, what)
  if (n > Number.MAX_SAFE_INTEGER) throw new DecodeError(`${what} out of range`)
  return n
}

const readUpdate = (d: Decoder): DecodedUpdate => {
  const version = readUint8(d, 'format version')
  if (version !== UPDATE_FORMAT_VERSION) {
    throw new DecodeError(`unsupported update format version ${version} (this build reads version ${UPDATE_FORMAT_VERSION})`)
  }
  const flags = readUint8(d, 'flags')
  if ((flags & ~FLAG_STATE) !== 0) throw new DecodeError(`unknown update flags ${flags}`)
  const nReplicas = readCount(d, 'replica table', 1)
  const replicas: string[] = new Array(nReplicas)
  // most updates name one or two replicas: a Set only for long tables
  const seen = nReplicas > 8 ? new Set<string>() : null
  for (let i = 0; i < nReplicas; i++) {
    const id = readReplicaId(d)
    if (seen !== null ? seen.has(id) : replicas.indexOf(id) >= 0) throw new DecodeError(`replica id ${JSON.stringify(id)} listed twice`)
    seen?.add(id)
    replicas[i] = id
  }
  const cc = readRanges(d, nReplicas, CAUSAL_CONTEXT)
  const nContainers = readCount(d, 'container table', 2)
  const containers: WireContainer[] = new Array(nContainers)
  for (let i = 0; i < nContainers; i++) {
    const tag = readUint8(d, 'container type')
    const type = tag & 0x7f
    if (type > ContainerType.Register) throw new DecodeError(`unknown container type ${type}`)
    let parent = -1
    if ((tag & ROOT) === 0) {
      parent = readVarUint(d, 'container parent')
      if (parent >= i) throw new DecodeError(`container ${i} names parent ${parent}, which is not before it`)
      if (containers[parent].type !== ContainerType.Map) throw new DecodeError(`container ${i} is nested in a non-map container`)
    }
    const key = readString(d, 'container key')
    containers[i] = { type: type as ContainerType, parent, key, values: NONE, keys: NONE, comps: NONE, elems: NONE }
  }
  for (const c of containers) {
    switch (c.type) {
      case ContainerType.Map: {
        c.values = readValueEntries(d, nReplicas)
        c.keys = readKeys(d, c.values.length)
        for (let i = 0; i < c.values.length; i++) c.values[i].v = readValue(d)
        break
      }
      case ContainerType.Register: {
        c.values = readValueEntries(d, nReplicas)
        for (let i = 0; i < c.values.length; i++) c.values[i].v = readValue(d)
        break
      }
      case ContainerType.Counter: {
        const n = readCount(d, 'counter components', 4)
        const comps: CounterComp[] = new Array(n)
        for (let i = 0; i < n; i++) {
          const r = readReplica(d, nReplicas, 'counter replica')
          const s = readSeq(d, 'counter seq')
          comps[i] = { r, s, p: readSafeUint(d, 'counter increments'), n: readSafeUint(d, 'counter decrements') }
        }
        c.comps = comps
        break
      }
      case ContainerType.Set: {
        const n = readCount(d, 'set elements', 2)
        if (n === 0) break
        const counts: number[] = new Array(n)
        let total = 0
        for (let i = 0; i < n; i++) {
          total += counts[i] = readVarUint(d, 'element dot count') + 1
          if (total > remaining(d)) throw new DecodeError('set element dot counts exceed the input')
        }
        const rs: number[] = total <= SCRATCH_SIZE ? scratchR : new Array(total)
        const ss: number[] = total <= SCRATCH_SIZE ? scratchS : new Array(total)
        readDotRuns(d, total, nReplicas, rs, ss)
        const elems: SetElem[] = new Array(n)
        let k = 0
        for (let i = 0; i < n; i++) {
          const dots: number[] = new Array(counts[i] * 2)
          for (let j = 0; j < counts[i]; j++, k++) { dots[j * 2] = rs[k]; dots[j * 2 + 1] = ss[k] }
          elems[i] = { v: null, dots }
        }
        for (let i = 0; i < n; i++) elems[i].v = readValue(d)
        c.elems = elems
        break
      }
    }
  }
  const nRemovals = readCount(d, 'removals', 3)
  const removals: WireRemoval[] = nRemovals === 0 ? NONE : new Array(nRemovals)
  for (let i = 0; i < nRemovals; i++) {
    const ci = readVarUint(d, 'removal container')
    if (ci >= nContainers) throw new DecodeError(`removal names container ${ci}, the table has ${nContainers}`)
    const type = containers[ci].type
    let loc = ''
    let value: JsonValue = null
    if (type === ContainerType.Map) loc = readString(d, 'removal key')
    else if (type === ContainerType.Set) { value = readValue(d); loc = canonicalKey(value) }
    const r = readReplica(d, nReplicas, 'removal replica')
    const s = readSeq(d, 'removal seq')
    removals[i] = { c: ci, loc, value, r, s }
  }
  const state = (flags & FLAG_STATE) !== 0
  const keep = state ? readRanges(d, nReplicas, KEEP_SET) : NONE
  return { state, replicas, cc, containers, removals, keep }
}

/** Decodes and validates a whole update; throws DecodeError, never applies anything. */
export const decodeUpdate = (bytes: Uint8Array): DecodedUpdate => decodeWith('update', bytes, readUpdate)

let emptyUpdate: Uint8Array | undefined

/** Whether `update` is the encoding of "nothing to send" (what `encodeStateAsUpdate(sv)` returns when the other side has everything). */
export const isEmptyUpdate = (update: Uint8Array): boolean => {
  emptyUpdate ??= encodeUpdate({ state: false, replicaIds: [], cc: [], parts: [], removals: [], keep: null })
  if (update.length !== emptyUpdate.length) return false
  for (let i = 0; i < update.length; i++) if (update[i] !== emptyUpdate[i]) return false
  return true
}
