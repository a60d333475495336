/**
 * Binary codec of Raft messages, log entries, hard state, configurations
 * and snapshots, on `lib0/encoding`. A message starts with
 * {@link RAFT_PROTOCOL_VERSION} and a type byte; decoding anything else, or
 * truncated or trailing bytes, throws `DecodeError`.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError } from '../errors.js'
import { type Decoder, decodeWith, readBytes, readCount, readString, readUint8, readVarUint, remaining } from '../codec/reader.js'
import { writeString } from '../codec/writer.js'
import type { RaftMessage } from './messages.js'
import {
  ConfChangeOp, EntryType, type ConfChange, type ConfState, type Entry, type HardState, type Snapshot, type SnapshotMeta
} from './types.js'

/** The leading byte of every encoded Raft message. */
export const RAFT_PROTOCOL_VERSION = 1

const TYPES = ['append', 'append-resp', 'heartbeat', 'heartbeat-resp', 'vote', 'pre-vote', 'vote-resp', 'pre-vote-resp',
  'snapshot', 'snapshot-resp', 'timeout-now', 'read-index', 'read-index-resp'] as const
const TYPE_TAG = /* @__PURE__ */ (() => new Map<string, number>(TYPES.map((t, i) => [t, i])))()
const ENTRY_TYPES = [EntryType.Normal, EntryType.ConfChange, EntryType.Noop] as const
const CONF_OPS = [ConfChangeOp.AddLearner, ConfChangeOp.Promote, ConfChangeOp.Remove] as const

const writeBool = (e: encoding.Encoder, b: boolean): void => encoding.writeUint8(e, b ? 1 : 0)
const readBool = (d: Decoder, what: string): boolean => {
  const b = readUint8(d, what)
  if (b > 1) throw new DecodeError(`${what} must be 0 or 1, got ${b}`)
  return b === 1
}
const readId = (d: Decoder, what: string): string => {
  const s = readString(d, what)
  if (s.length === 0) throw new DecodeError(`${what} must not be empty`)
  return s
}

/**
 * Writes a length and the bytes, like `encoding.writeVarUint8Array`, but
 * copies straight into the buffer when they fit (lib0 makes a `subarray`
 * view of the input first: one more object per value).
 */
export const writeBytes = (e: encoding.Encoder, bytes: Uint8Array): void => {
  encoding.writeVarUint(e, bytes.length)
  if (e.cpos + bytes.length <= e.cbuf.length) {
    e.cbuf.set(bytes, e.cpos)
    e.cpos += bytes.length
  } else {
    encoding.writeUint8Array(e, bytes)
  }
}

/** Writes an entry: term, index, type, data. */
export const writeEntry = (e: encoding.Encoder, entry: Entry): void => {
  encoding.writeVarUint(e, entry.term)
  encoding.writeVarUint(e, entry.index)
  encoding.writeUint8(e, ENTRY_TYPES.indexOf(entry.type))
  writeBytes(e, entry.data)
}

/**
 * Reads what {@link writeEntry} wrote. With `view`, the entry's data is a
 * view into the input instead of a copy: for a received frame, which the
 * receiver owns and nothing modifies (the entries of one append share it).
 */
export const readEntry = (d: Decoder, view = false): Entry => {
  const term = readVarUint(d, 'entry term')
  const index = readVarUint(d, 'entry index')
  const t = readUint8(d, 'entry type')
  if (t >= ENTRY_TYPES.length) throw new DecodeError(`unknown entry type ${t}`)
  return { term, index, type: ENTRY_TYPES[t], data: view ? readBytesView(d, 'entry data') : readBytes(d, 'entry data') }
}

/** Like `readBytes`, but a view into the input (no copy). */
const readBytesView = (d: Decoder, what: string): Uint8Array => {
  const len = readVarUint(d, `${what} length`)
  if (len > remaining(d)) throw new DecodeError(`${what} declares ${len} bytes but only ${remaining(d)} remain`)
  return d.arr.subarray(d.pos, (d.pos += len))
}

/** Writes a configuration. */
export const writeConfState = (e: encoding.Encoder, conf: ConfState): void => {
  encoding.writeVarUint(e, conf.voters.length)
  for (const v of conf.voters) writeString(e, v)
  encoding.writeVarUint(e, conf.learners.length)
  for (const l of conf.learners) writeString(e, l)
}

/** Reads what {@link writeConfState} wrote. */
export const readConfState = (d: Decoder): ConfState => {
  const nv = readCount(d, 'voter count', 2)
  const voters: string[] = []
  for (let i = 0; i < nv; i++) voters.push(readId(d, 'voter id'))
  const nl = readCount(d, 'learner count', 2)
  const learners: string[] = []
  for (let i = 0; i < nl; i++) learners.push(readId(d, 'learner id'))
  return { voters, learners }
}

const writeMeta = (e: encoding.Encoder, m: SnapshotMeta): void => {
  encoding.writeVarUint(e, m.index)
  encoding.writeVarUint(e, m.term)
  writeConfState(e, m.conf)
}
const readMeta = (d: Decoder): SnapshotMeta => ({
  index: readVarUint(d, 'snapshot index'),
  term: readVarUint(d, 'snapshot term'),
  conf: readConfState(d)
})

/** Encodes a {@link ConfChange} (the data of a conf-change entry). */
export const encodeConfChange = (cc: ConfChange): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, CONF_OPS.indexOf(cc.op))
  writeString(e, cc.node)
  writeConfState(e, cc.conf)
  return encoding.toUint8Array(e)
}

/** Decodes a {@link ConfChange}. @throws {DecodeError} on bad bytes. */
export const decodeConfChange = (bytes: Uint8Array): ConfChange => decodeWith('conf change', bytes, (d) => {
  const op = readUint8(d, 'conf change op')
  if (op >= CONF_OPS.length) throw new DecodeError(`unknown conf change op ${op}`)
  return { op: CONF_OPS[op], node: readId(d, 'conf change node'), conf: readConfState(d) }
})

/** Encodes one entry on its own (for storage records). */
export const encodeEntry = (entry: Entry): Uint8Array => {
  const e = sizedEncoder(entry.data.length + 24)
  writeEntry(e, entry)
  return finishEncoder(e)
}

/** Decodes {@link encodeEntry}'s output. @throws {DecodeError} on bad bytes. */
export const decodeEntry = (bytes: Uint8Array): Entry => decodeWith('raft entry', bytes, readEntry)

/** Encodes a hard state (for storage records). */
export const encodeHardState = (hs: HardState): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, hs.term)
  writeString(e, hs.vote ?? '')
  encoding.writeVarUint(e, hs.commit)
  return encoding.toUint8Array(e)
}

/** Decodes {@link encodeHardState}'s output. @throws {DecodeError} on bad bytes. */
export const decodeHardState = (bytes: Uint8Array): HardState => decodeWith('raft hard state', bytes, (d) => {
  const term = readVarUint(d, 'term')
  const vote = readString(d, 'vote')
  return { term, vote: vote === '' ? null : vote, commit: readVarUint(d, 'commit') }
})

/** Encodes a snapshot with its metadata (for storage records). */
export const encodeSnapshot = (s: Snapshot): Uint8Array => {
  const e = encoding.createEncoder()
  writeMeta(e, s)
  encoding.writeVarUint8Array(e, s.data)
  return encoding.toUint8Array(e)
}

/** Decodes {@link encodeSnapshot}'s output. @throws {DecodeError} on bad bytes. */
export const decodeSnapshot = (bytes: Uint8Array): Snapshot => decodeWith('raft snapshot', bytes, (d) => {
  const meta = readMeta(d)
  return { ...meta, data: readBytes(d, 'snapshot data') }
})

/**
 * An encoder whose first buffer holds `bytes` (lib0's starts at 100 bytes
 * and doubles, copying at every growth and once more at the end). It skips
 * lib0's constructor, whose 100-byte buffer would be one more allocation
 * outside the JS heap per encoding, thrown away at once.
 */
export const sizedEncoder = (bytes: number): encoding.Encoder => {
  const e = Object.create(encoding.Encoder.prototype) as encoding.Encoder
  e.cpos = 0
  e.cbuf = new Uint8Array(Math.max(8, bytes))
  e.bufs = []
  return e
}

/** The encoder's bytes: a view of its buffer when it never grew (no copy), else lib0's concatenation. */
export const finishEncoder = (e: encoding.Encoder): Uint8Array => e.bufs.length === 0 ? e.cbuf.subarray(0, e.cpos) : encoding.toUint8Array(e)

const sizeOf = (m: RaftMessage): number => {
  let n = 64 + m.from.length * 3 + m.to.length * 3
  if (m.type === 'append') for (const entry of m.entries) n += entry.data.length + 24
  else if (m.type === 'snapshot') n += m.data.length + 256 + (m.meta.conf.voters.length + m.meta.conf.learners.length) * 64
  return n
}

/** Encodes a message: version byte, type byte, from, to, term, then its own fields. */
export const encodeRaftMessage = (m: RaftMessage): Uint8Array => {
  const e = sizedEncoder(sizeOf(m))
  encoding.writeUint8(e, RAFT_PROTOCOL_VERSION)
  encoding.writeUint8(e, TYPE_TAG.get(m.type) as number)
  writeString(e, m.from)
  writeString(e, m.to)
  encoding.writeVarUint(e, m.term)
  switch (m.type) {
    case 'append':
      encoding.writeVarUint(e, m.index)
      encoding.writeVarUint(e, m.logTerm)
      encoding.writeVarUint(e, m.commit)
      encoding.writeVarUint(e, m.entries.length)
      for (const entry of m.entries) writeEntry(e, entry)
      break
    case 'append-resp':
      encoding.writeVarUint(e, m.index)
      writeBool(e, m.reject)
      encoding.writeVarUint(e, m.rejectHint)
      encoding.writeVarUint(e, m.logTerm)
      break
    case 'heartbeat':
      encoding.writeVarUint(e, m.commit)
      encoding.writeVarUint(e, m.readSeq)
      break
    case 'heartbeat-resp':
      encoding.writeVarUint(e, m.readSeq)
      break
    case 'vote':
    case 'pre-vote':
      encoding.writeVarUint(e, m.index)
      encoding.writeVarUint(e, m.logTerm)
      writeBool(e, m.transfer)
      break
    case 'vote-resp':
    case 'pre-vote-resp':
      writeBool(e, m.reject)
      break
    case 'snapshot':
      writeMeta(e, m.meta)
      encoding.writeVarUint(e, m.offset)
      encoding.writeVarUint(e, m.total)
      encoding.writeVarUint8Array(e, m.data)
      break
    case 'snapshot-resp':
      encoding.writeVarUint(e, m.index)
      encoding.writeVarUint(e, m.offset)
      break
    case 'timeout-now':
      break
    case 'read-index':
      encoding.writeVarUint(e, m.ctx)
      break
    case 'read-index-resp':
      encoding.writeVarUint(e, m.ctx)
      encoding.writeVarUint(e, m.index)
      writeBool(e, m.reject)
      break
  }
  return finishEncoder(e)
}

/**
 * Decodes a message written by {@link encodeRaftMessage}.
 *
 * @throws {DecodeError} on an unknown version or type, truncated or
 *   trailing bytes, or a field out of range.
 */
export const decodeRaftMessage = (bytes: Uint8Array): RaftMessage => decodeWith('raft message', bytes, (d) => {
  const version = readUint8(d, 'version')
  if (version !== RAFT_PROTOCOL_VERSION) throw new DecodeError(`unsupported raft protocol version ${version} (this build speaks ${RAFT_PROTOCOL_VERSION})`)
  const tag = readUint8(d, 'message type')
  if (tag >= TYPES.length) throw new DecodeError(`unknown raft message type ${tag}`)
  const type = TYPES[tag]
  const from = readId(d, 'from')
  const to = readId(d, 'to')
  const term = readVarUint(d, 'term')
  switch (type) {
    case 'append': {
      const index = readVarUint(d, 'index')
      const logTerm = readVarUint(d, 'logTerm')
      const commit = readVarUint(d, 'commit')
      const n = readCount(d, 'entry count', 4)
      const entries: Entry[] = []
      for (let i = 0; i < n; i++) {
        const entry = readEntry(d, true)
        if (entry.index !== index + 1 + i) throw new DecodeError(`append entry ${i} has index ${entry.index}, expected ${index + 1 + i}`)
        entries.push(entry)
      }
      return { type, from, to, term, index, logTerm, commit, entries }
    }
    case 'append-resp':
      return { type, from, to, term, index: readVarUint(d, 'index'), reject: readBool(d, 'reject'), rejectHint: readVarUint(d, 'rejectHint'), logTerm: readVarUint(d, 'logTerm') }
    case 'heartbeat':
      return { type, from, to, term, commit: readVarUint(d, 'commit'), readSeq: readVarUint(d, 'readSeq') }
    case 'heartbeat-resp':
      return { type, from, to, term, readSeq: readVarUint(d, 'readSeq') }
    case 'vote':
    case 'pre-vote':
      return { type, from, to, term, index: readVarUint(d, 'index'), logTerm: readVarUint(d, 'logTerm'), transfer: readBool(d, 'transfer') }
    case 'vote-resp':
    case 'pre-vote-resp':
      return { type, from, to, term, reject: readBool(d, 'reject') }
    case 'snapshot': {
      const meta = readMeta(d)
      const offset = readVarUint(d, 'offset')
      const total = readVarUint(d, 'total')
      const data = readBytes(d, 'snapshot chunk')
      if (offset + data.length > total) throw new DecodeError(`snapshot chunk [${offset}, ${offset + data.length}) exceeds total ${total}`)
      return { type, from, to, term, meta, offset, total, data }
    }
    case 'snapshot-resp':
      return { type, from, to, term, index: readVarUint(d, 'index'), offset: readVarUint(d, 'offset') }
    case 'timeout-now':
      return { type, from, to, term }
    case 'read-index':
      return { type, from, to, term, ctx: readVarUint(d, 'ctx') }
    case 'read-index-resp':
      return { type, from, to, term, ctx: readVarUint(d, 'ctx'), index: readVarUint(d, 'index'), reject: readBool(d, 'reject') }
  }
})
