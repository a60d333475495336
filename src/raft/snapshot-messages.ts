/**
 * The messages of streamed snapshots (the driver's, not the core's) and
 * their codec. They share the Raft wire format's leading
 * {@link RAFT_PROTOCOL_VERSION} byte and use type tags far above the core's
 * (`0x40`, `0x41`), so `decodeRaftMessage` refuses them and the driver
 * tells them apart by the second byte ({@link isSnapshotStreamFrame}).
 *
 * ```
 * snapshot-chunk      leader → follower  meta, total, checksum (of all data), offset, done, chunkChecksum, data
 * snapshot-chunk-ack  follower → leader  index, checksum, offset (bytes held in order), status
 * ```
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError } from '../errors.js'
import { type Decoder, decodeWith, readBytes, readString, readUint8, readVarUint } from '../codec/reader.js'
import { writeString } from '../codec/writer.js'
import { RAFT_PROTOCOL_VERSION, readConfState, writeConfState } from './codec.js'
import type { NodeId, SnapshotMeta } from './types.js'

/** One chunk of a streamed snapshot: bytes `[offset, offset + data.length)` of `total`. */
export interface SnapshotChunkMessage {
  type: 'snapshot-chunk'
  from: NodeId
  to: NodeId
  /** The leader's term. */
  term: number
  /** What the snapshot covers. */
  meta: SnapshotMeta
  /** Bytes of snapshot data. */
  total: number
  /** CRC-32C of the whole data (identifies the snapshot's bytes; checked at the end). */
  checksum: number
  offset: number
  /** Whether this is the last chunk (`offset + data.length === total`). */
  done: boolean
  /** CRC-32C of `data`. */
  chunkChecksum: number
  data: Uint8Array
}

/** What the follower answers to a chunk. */
export const ChunkStatus = {
  /** Bytes `[0, offset)` are held: go on. */
  Ok: 'ok',
  /** A chunk was missing or corrupt: resend from `offset`. */
  Retry: 'retry',
  /** The snapshot was stored, verified and handed to the core. */
  Done: 'done',
  /** Stale (older term): the transfer is refused. */
  Refused: 'refused'
} as const
/** One of {@link ChunkStatus}'s values. */
export type ChunkStatus = typeof ChunkStatus[keyof typeof ChunkStatus]

/** The follower's acknowledgement of the snapshot at `index` with `checksum`. */
export interface SnapshotChunkAck {
  type: 'snapshot-chunk-ack'
  from: NodeId
  to: NodeId
  /** The follower's term. */
  term: number
  index: number
  checksum: number
  /** Bytes the follower holds, in order, from 0. */
  offset: number
  status: ChunkStatus
}

/** The streamed-snapshot messages. */
export type SnapshotStreamMessage = SnapshotChunkMessage | SnapshotChunkAck

const TAG_CHUNK = 0x40
const TAG_ACK = 0x41
const STATUSES = [ChunkStatus.Ok, ChunkStatus.Retry, ChunkStatus.Done, ChunkStatus.Refused] as const

/** Whether `frame` holds a {@link SnapshotStreamMessage} (by its version and type bytes). */
export const isSnapshotStreamFrame = (frame: Uint8Array): boolean =>
  frame.length >= 2 && frame[0] === RAFT_PROTOCOL_VERSION && (frame[1] === TAG_CHUNK || frame[1] === TAG_ACK)

/** Bytes a chunk message adds to its data, at most (ids of 255 bytes, 64 members). */
export const chunkOverhead = (meta: SnapshotMeta, from: NodeId, to: NodeId): number =>
  64 + 3 * (from.length + to.length) + (meta.conf.voters.length + meta.conf.learners.length) * 64

/** Encodes a streamed-snapshot message. */
export const encodeSnapshotStreamMessage = (m: SnapshotStreamMessage): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, RAFT_PROTOCOL_VERSION)
  encoding.writeUint8(e, m.type === 'snapshot-chunk' ? TAG_CHUNK : TAG_ACK)
  writeString(e, m.from)
  writeString(e, m.to)
  encoding.writeVarUint(e, m.term)
  if (m.type === 'snapshot-chunk') {
    encoding.writeVarUint(e, m.meta.index)
    encoding.writeVarUint(e, m.meta.term)
    writeConfState(e, m.meta.conf)
    encoding.writeVarUint(e, m.total)
    encoding.writeUint32(e, m.checksum)
    encoding.writeVarUint(e, m.offset)
    encoding.writeUint8(e, m.done ? 1 : 0)
    encoding.writeUint32(e, m.chunkChecksum)
    encoding.writeVarUint8Array(e, m.data)
  } else {
    encoding.writeVarUint(e, m.index)
    encoding.writeUint32(e, m.checksum)
    encoding.writeVarUint(e, m.offset)
    encoding.writeUint8(e, STATUSES.indexOf(m.status))
  }
  return encoding.toUint8Array(e)
}

const readId = (d: Decoder, what: string): string => {
  const s = readString(d, what)
  if (s.length === 0) throw new DecodeError(`${what} must not be empty`)
  return s
}
const readUint32 = (d: Decoder, what: string): number => {
  if (d.pos + 4 > d.arr.length) throw new DecodeError(`truncated input: expected ${what} at byte ${d.pos}`)
  const a = d.arr
  const v = (a[d.pos] | (a[d.pos + 1] << 8) | (a[d.pos + 2] << 16) | (a[d.pos + 3] << 24)) >>> 0
  d.pos += 4
  return v
}
const readSafe = (d: Decoder, what: string): number => {
  const v = readVarUint(d, what)
  if (!Number.isSafeInteger(v)) throw new DecodeError(`${what} out of range`)
  return v
}

/**
 * Decodes a message written by {@link encodeSnapshotStreamMessage}.
 * @throws {DecodeError} on a wrong version or type, truncated or trailing
 *   bytes, or inconsistent fields (a chunk past `total`, a `done` flag that
 *   does not match, an unknown status).
 */
export const decodeSnapshotStreamMessage = (bytes: Uint8Array): SnapshotStreamMessage => decodeWith('raft snapshot stream message', bytes, (d) => {
  const version = readUint8(d, 'version')
  if (version !== RAFT_PROTOCOL_VERSION) throw new DecodeError(`unsupported raft protocol version ${version}`)
  const tag = readUint8(d, 'message type')
  if (tag !== TAG_CHUNK && tag !== TAG_ACK) throw new DecodeError(`not a snapshot stream message (type ${tag})`)
  const from = readId(d, 'from')
  const to = readId(d, 'to')
  const term = readSafe(d, 'term')
  if (tag === TAG_CHUNK) {
    const meta: SnapshotMeta = { index: readSafe(d, 'snapshot index'), term: readSafe(d, 'snapshot term'), conf: readConfState(d) }
    const total = readSafe(d, 'total')
    const checksum = readUint32(d, 'checksum')
    const offset = readSafe(d, 'offset')
    const doneByte = readUint8(d, 'done')
    if (doneByte > 1) throw new DecodeError(`done must be 0 or 1, got ${doneByte}`)
    const chunkChecksum = readUint32(d, 'chunk checksum')
    const data = readBytes(d, 'snapshot chunk')
    if (offset + data.length > total) throw new DecodeError(`snapshot chunk [${offset}, ${offset + data.length}) exceeds total ${total}`)
    const done = doneByte === 1
    if (done !== (offset + data.length === total)) throw new DecodeError(`snapshot chunk done flag ${String(done)} does not match [${offset}, ${offset + data.length}) of ${total}`)
    return { type: 'snapshot-chunk', from, to, term, meta, total, checksum, offset, done, chunkChecksum, data }
  }
  const index = readSafe(d, 'index')
  const checksum = readUint32(d, 'checksum')
  const offset = readSafe(d, 'offset')
  const s = readUint8(d, 'status')
  if (s >= STATUSES.length) throw new DecodeError(`unknown snapshot ack status ${s}`)
  return { type: 'snapshot-chunk-ack', from, to, term, index, checksum, offset, status: STATUSES[s] }
})
