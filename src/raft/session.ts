/**
 * Client sessions: a command proposed with `(clientId, seq)` is applied at
 * most once, and a retry of the latest one gets the remembered result. The
 * table is part of the replicated state (every replica builds it in log
 * order) and of snapshots.
 *
 * The envelope a normal entry carries:
 * ```
 * u8 version(1)  u8 flags(bit 0: session)  [clientId string, seq varuint]  command bytes…
 * ```
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError } from '../errors.js'
import { type Decoder, createDecoder, decodeWith, readBytes, readCount, readString, readUint8, readVarUint, remaining } from '../codec/reader.js'
import { writeString } from '../codec/writer.js'

const ENVELOPE_VERSION = 1

/** Who proposed a command, for exactly-once application. */
export interface SessionTag {
  /** A stable id of the client (unique among clients). */
  clientId: string
  /** The client's request number: increases by one per new request, and stays the same on retries. */
  seq: number
}

/** Wraps a command (with its session, if any) into entry data. */
export const encodeCommand = (cmd: Uint8Array, session?: SessionTag): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, ENVELOPE_VERSION)
  encoding.writeUint8(e, session === undefined ? 0 : 1)
  if (session !== undefined) {
    writeString(e, session.clientId)
    encoding.writeVarUint(e, session.seq)
  }
  encoding.writeUint8Array(e, cmd)
  return encoding.toUint8Array(e)
}

/** Unwraps {@link encodeCommand}'s output. @throws {DecodeError} on bad bytes. */
export const decodeCommand = (data: Uint8Array): { cmd: Uint8Array, session?: SessionTag } => {
  const d = createDecoder(data)
  const version = readUint8(d, 'command envelope version')
  if (version !== ENVELOPE_VERSION) throw new DecodeError(`command envelope: unsupported version ${version}`)
  const flags = readUint8(d, 'command envelope flags')
  if (flags > 1) throw new DecodeError(`command envelope: unknown flags ${flags}`)
  let session: SessionTag | undefined
  if (flags === 1) session = { clientId: readString(d, 'clientId'), seq: readVarUint(d, 'seq') }
  const cmd = data.slice(d.pos, d.pos + remaining(d))
  return session === undefined ? { cmd } : { cmd, session }
}

/** What the table says about a command. */
export type SessionCheck =
  | { kind: 'new' }
  | { kind: 'duplicate', result: Uint8Array }
  | { kind: 'stale' }

/** The session table; see the module documentation. */
export class SessionTable {
  private readonly sessions = new Map<string, { seq: number, result: Uint8Array }>()

  /** @param maxSessions - clients remembered; the least recently active is forgotten first. */
  constructor (readonly maxSessions = 100_000) {}

  /** Sessions held. */
  get size (): number { return this.sessions.size }

  /** Whether `(clientId, seq)` is new, a retry of the last request, or older than that. */
  check (tag: SessionTag): SessionCheck {
    const s = this.sessions.get(tag.clientId)
    if (s === undefined || tag.seq > s.seq) return { kind: 'new' }
    if (tag.seq === s.seq) return { kind: 'duplicate', result: s.result }
    return { kind: 'stale' }
  }

  /** Remembers the result of request `seq` of `clientId`. */
  record (tag: SessionTag, result: Uint8Array): void {
    this.sessions.delete(tag.clientId)
    this.sessions.set(tag.clientId, { seq: tag.seq, result })
    if (this.sessions.size > this.maxSessions) this.sessions.delete(this.sessions.keys().next().value as string)
  }

  /** Writes the table, oldest session first. */
  write (e: encoding.Encoder): void {
    encoding.writeVarUint(e, this.sessions.size)
    for (const [id, s] of this.sessions) {
      writeString(e, id)
      encoding.writeVarUint(e, s.seq)
      encoding.writeVarUint8Array(e, s.result)
    }
  }

  /** Replaces the table with one read from `d`. */
  read (d: Decoder): void {
    this.sessions.clear()
    const n = readCount(d, 'session count', 3)
    for (let i = 0; i < n; i++) {
      const id = readString(d, 'clientId')
      const seq = readVarUint(d, 'seq')
      this.sessions.set(id, { seq, result: readBytes(d, 'session result') })
    }
  }
}

const SNAPSHOT_VERSION = 1

/** Encodes a node's snapshot data: the session table, then the state machine's bytes. */
export const encodeNodeSnapshot = (sessions: SessionTable, state: Uint8Array): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, SNAPSHOT_VERSION)
  sessions.write(e)
  encoding.writeVarUint8Array(e, state)
  return encoding.toUint8Array(e)
}

/** Decodes {@link encodeNodeSnapshot}'s output into `sessions`; returns the state machine's bytes. @throws {DecodeError} */
export const decodeNodeSnapshot = (bytes: Uint8Array, sessions: SessionTable): Uint8Array => decodeWith('raft node snapshot', bytes, (d) => {
  const v = readUint8(d, 'snapshot version')
  if (v !== SNAPSHOT_VERSION) throw new DecodeError(`unsupported snapshot version ${v}`)
  sessions.read(d)
  return readBytes(d, 'state machine snapshot')
})
