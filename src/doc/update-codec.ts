/**
 * The Doc update wire format. One format serves local deltas, forwarded
 * deltas and full or partial state. Version 1 carries the map, counter, set
 * and register types; version 2 is written only when an update holds a
 * type that needs it (text, list), and frames every container section with
 * its byte length:
 *
 * ```
 * u8 version (1 | 2)  u8 flags(bit0 = state)  replicas: n × string
 * cc: dot ranges      containers: n × (u8 type|0x80 root, name | parent key)
 * per container, in table order: its type module's section
 *   (version 2: varuint byte length, then the section)
 * removals: n × (container, location, dot)    keep (state only): dot ranges
 * ```
 *
 * A section's content is its type module's business (`types/*.ts`).
 * Decoding validates everything into plain objects before anything is
 * applied, so a bad update changes nothing. A version or container type
 * this build does not know is refused with a `DecodeError` naming what it
 * got, what it reads, and to upgrade.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError } from '../errors.js'
import type { JsonValue } from '../codec/value.js'
import { createDecoder, type Decoder, decodeWith, readCount, readString, readUint8, readVarUint, remaining } from '../codec/reader.js'
import { type Container, ContainerType } from './containers.js'
import { readReplica, readSeq, NONE } from './types/columns.js'
import { type FormatVersion, findModule, knownTypes, moduleOf } from './types/index.js'

/** The leading byte of Doc updates that hold only map, counter, set and register containers (what older builds read). */
export const UPDATE_FORMAT_VERSION = 1
/** The leading byte of Doc updates holding a container type of format 2 (text, list): length-prefixed container sections. */
export const UPDATE_FORMAT_VERSION_2 = 2
/** The update format versions this build reads. */
export const READABLE_UPDATE_VERSIONS: readonly FormatVersion[] = [1, 2]
const FLAG_STATE = 1
const ROOT = 0x80
/** Replica ids are at most this many UTF-8 bytes. */
export const MAX_REPLICA_ID_BYTES = 64
const UPGRADE = 'upgrade aegis-replication to read it'

/** Dot ranges per replica: `[start, end, start, end, …]`, sorted, inclusive. */
export type Ranges = Array<number[] | undefined>

export interface WireContainer {
  type: ContainerType
  /** Index of the parent in the table, -1 for a root. */
  parent: number
  /** Root name, or key in the parent map. */
  key: string
  /** What the type's module decoded (wire replica indices; `integrate` maps them in place). */
  payload: unknown
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
  /** The format version it was written in. */
  version: FormatVersion
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
  /** Per container, its module's payload (`statePart` / `deltaPart`). */
  parts: Array<{ c: Container, p: unknown }>
  removals: Array<{ c: Container, loc: string, value: JsonValue, r: number, s: number }>
  keep: Ranges | null
  /**
   * @internal the lowest version to write (tests, and re-framing); the
   * encoder still writes 2 when a container needs it.
   * @default 1
   */
  version?: FormatVersion
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


/** Encodes an update, as version 1 unless a container needs version 2. Containers are written parents first. */
export const encodeUpdate = (u: UpdateParts): Uint8Array => {
  const rt = new ReplicaTable(u.replicaIds)
  const w = (r: number): number => rt.w(r)
  const body = encoding.createEncoder()
  writeRanges(body, u.cc, rt)

  const table = new Map<Container, number>()
  const order: Container[] = []
  let version: FormatVersion = u.version ?? UPDATE_FORMAT_VERSION
  const addContainer = (c: Container): void => {
    if (table.has(c)) return
    if (c.parent !== null) addContainer(c.parent)
    table.set(c, order.length)
    order.push(c)
    if (moduleOf(c.type).format > version) version = moduleOf(c.type).format
  }
  for (const p of u.parts) addContainer(p.c)
  for (const rm of u.removals) addContainer(rm.c)
  const payload = new Map<Container, unknown>()
  for (const p of u.parts) payload.set(p.c, p.p)

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
    const m = moduleOf(c.type)
    const p = payload.get(c) ?? null
    if (version === UPDATE_FORMAT_VERSION) {
      m.encode(body, p, w)
    } else {
      const section = encoding.createEncoder()
      m.encode(section, p, w)
      encoding.writeVarUint8Array(body, encoding.toUint8Array(section))
    }
  }
  encoding.writeVarUint(body, u.removals.length)
  for (const rm of u.removals) {
    encoding.writeVarUint(body, table.get(rm.c)!)
    moduleOf(rm.c.type).writeLoc(body, rm.loc, rm.value)
    encoding.writeVarUint(body, rt.w(rm.r))
    encoding.writeVarUint(body, rm.s)
  }
  if (u.state) writeRanges(body, u.keep ?? [], rt)

  const head = encoding.createEncoder()
  encoding.writeUint8(head, version)
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


/** The refusal of a version this build does not read. */
export const unsupportedVersion = (what: string, version: number, readable: readonly number[]): DecodeError =>
  new DecodeError(`unsupported ${what} format version ${version}: this build of aegis-replication reads ` +
    `${readable.length === 1 ? `version ${readable[0]}` : `versions ${readable.join(' and ')}`}; ${UPGRADE}`)

const readContainerType = (d: Decoder, version: FormatVersion, i: number): { type: ContainerType, root: boolean } => {
  const tag = readUint8(d, 'container type')
  const type = tag & 0x7f
  const m = findModule(type)
  if (m === undefined) {
    throw new DecodeError(`unknown container type ${type} (container ${i}): this build of aegis-replication knows types ${knownTypes()}; ${UPGRADE}`)
  }
  if (m.format > version) throw new DecodeError(`container type ${type} (${m.name}) cannot appear in update format version ${version}`)
  return { type: type as ContainerType, root: (tag & ROOT) !== 0 }
}

const readUpdate = (d: Decoder): DecodedUpdate => {
  const version = readUint8(d, 'format version')
  if (version !== UPDATE_FORMAT_VERSION && version !== UPDATE_FORMAT_VERSION_2) {
    throw unsupportedVersion('update', version, READABLE_UPDATE_VERSIONS)
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
    const { type, root } = readContainerType(d, version, i)
    let parent = -1
    if (!root) {
      parent = readVarUint(d, 'container parent')
      if (parent >= i) throw new DecodeError(`container ${i} names parent ${parent}, which is not before it`)
      if (containers[parent].type !== ContainerType.Map) throw new DecodeError(`container ${i} is nested in a non-map container`)
    }
    const key = readString(d, 'container key')
    containers[i] = { type, parent, key, payload: null }
  }
  for (let i = 0; i < nContainers; i++) {
    const c = containers[i]
    const m = moduleOf(c.type)
    if (version === UPDATE_FORMAT_VERSION) {
      c.payload = m.decode(d, nReplicas)
      continue
    }
    const len = readVarUint(d, 'container section length')
    if (len > remaining(d)) throw new DecodeError(`container ${i}: section of ${len} bytes, ${remaining(d)} left`)
    const end = d.pos + len
    // the module reads within its section only
    const section = createDecoder(d.arr.subarray(0, end))
    section.pos = d.pos
    c.payload = m.decode(section, nReplicas)
    if (section.pos !== end) throw new DecodeError(`container ${i} (${m.name}): section of ${len} bytes, ${len - (end - section.pos)} read`)
    d.pos = end
  }
  const nRemovals = readCount(d, 'removals', 3)
  const removals: WireRemoval[] = nRemovals === 0 ? NONE : new Array(nRemovals)
  for (let i = 0; i < nRemovals; i++) {
    const ci = readVarUint(d, 'removal container')
    if (ci >= nContainers) throw new DecodeError(`removal names container ${ci}, the table has ${nContainers}`)
    const { loc, value } = moduleOf(containers[ci].type).readLoc(d)
    const r = readReplica(d, nReplicas, 'removal replica')
    const s = readSeq(d, 'removal seq')
    removals[i] = { c: ci, loc, value, r, s }
  }
  const state = (flags & FLAG_STATE) !== 0
  const keep = state ? readRanges(d, nReplicas, KEEP_SET) : NONE
  return { version, state, replicas, cc, containers, removals, keep }
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
