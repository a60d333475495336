/**
 * Client sessions (Raft dissertation §6.3): a command proposed with
 * `(clientId, seq)` is applied at most once. Per session the table keeps
 * the response of every applied request the client has not acknowledged
 * (`ackedSeq`), so pipelined requests may apply in any order and a retry
 * of any of them gets its own response back.
 *
 * Everything here is replicated state, changed only by applying log
 * entries, so every replica decides the same: the table's clock is the
 * highest leader timestamp applied so far; a session idle longer than
 * `limits.timeoutMs` by that clock expires; the limits themselves come
 * from the log (a limits entry) and travel in snapshots. A request of an
 * unknown session whose client acknowledged responses before
 * (`ackedSeq > 0`) is refused as expired, never applied a second time. A
 * client that sends no `ackedSeq` gets the old behaviour: an unknown
 * session is taken as new (exactly-once then does not hold across expiry).
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError, InvalidArgumentError } from '../errors.js'
import { type Decoder, decodeWith, readBytes, readCount, readString, readUint8, readVarUint } from '../codec/reader.js'
import { writeString } from '../codec/writer.js'
import { finishEncoder, sizedEncoder, writeBytes } from './codec.js'
import type { SessionLimits, SessionTag } from './envelope.js'

/** The limits a group starts with, until a limits entry changes them. */
export const DEFAULT_SESSION_LIMITS: Readonly<SessionLimits> = Object.freeze({ maxSessions: 100_000, timeoutMs: 600_000, maxResponses: 128 })

/** What the table says about a command. */
export type SessionCheck =
  | { kind: 'new' }
  | { kind: 'duplicate', result: Uint8Array }
  /** Not applied, and never will be under this session. */
  | { kind: 'expired', reason: string }
  /** A new session, but the table is full: not applied; retry later. */
  | { kind: 'full' }

interface Session { floor: number, lastActive: number, responses: Map<number, Uint8Array> }

/** Checks that `l` holds positive safe integers. @throws {InvalidArgumentError} */
export const checkSessionLimits = (l: SessionLimits): SessionLimits => {
  for (const k of ['maxSessions', 'timeoutMs', 'maxResponses'] as const) {
    if (!Number.isSafeInteger(l[k]) || l[k] < 1) throw new InvalidArgumentError(`session limit ${k} must be a positive integer, got ${String(l[k])}`)
  }
  return { maxSessions: l.maxSessions, timeoutMs: l.timeoutMs, maxResponses: l.maxResponses }
}

/** The session table; see the module documentation. */
export class SessionTable {
  /** Sessions, least recently active first. */
  private readonly sessions = new Map<string, Session>()
  /** The replicated limits. */
  limits: SessionLimits = { ...DEFAULT_SESSION_LIMITS }
  /** The replicated clock: the highest leader timestamp applied (ms). */
  time = 0

  /** Sessions held. */
  get size (): number { return this.sessions.size }

  /** Moves the table's clock to `timestamp` (if later) and expires idle sessions. */
  advance (timestamp: number): void {
    if (timestamp <= this.time) return
    if (this.time === 0) for (const s of this.sessions.values()) if (s.lastActive === 0) s.lastActive = timestamp // sessions from before timestamps
    this.time = timestamp
    for (const [id, s] of this.sessions) {
      if (this.time - s.lastActive <= this.limits.timeoutMs) break
      this.sessions.delete(id)
    }
  }

  /** Adopts new limits (from a limits entry). Sessions over a lowered `maxSessions` stay until they expire. */
  setLimits (limits: SessionLimits): void {
    this.limits = checkSessionLimits(limits)
  }

  /**
   * Whether `tag` is new, a retry of an applied request, refused as expired,
   * or refused because the table is full. Records the client's `ackedSeq`
   * and marks a known session active (call it only while applying an entry).
   */
  check (tag: SessionTag): SessionCheck {
    const s = this.sessions.get(tag.clientId)
    if (s === undefined) {
      if (tag.ackedSeq !== undefined && tag.ackedSeq > 0) {
        return { kind: 'expired', reason: `session ${tag.clientId} is unknown to the group (it expired): request ${tag.seq} was not applied; start a new session` }
      }
      return this.sessions.size >= this.limits.maxSessions ? { kind: 'full' } : { kind: 'new' }
    }
    this.touch(tag.clientId, s)
    if (tag.ackedSeq !== undefined && tag.ackedSeq > s.floor) this.raiseFloor(s, tag.ackedSeq)
    if (tag.seq <= s.floor) {
      return { kind: 'expired', reason: `request ${tag.seq} of session ${tag.clientId} is at or below its acknowledged point (${s.floor}): it was not applied again` }
    }
    const result = s.responses.get(tag.seq)
    return result === undefined ? { kind: 'new' } : { kind: 'duplicate', result }
  }

  /** Remembers the response to request `seq` of `clientId` (creating the session if new). */
  record (tag: SessionTag, result: Uint8Array): void {
    let s = this.sessions.get(tag.clientId)
    if (s === undefined) {
      s = { floor: tag.ackedSeq ?? 0, lastActive: this.time, responses: new Map() }
      this.sessions.set(tag.clientId, s)
    }
    s.responses.set(tag.seq, result)
    if (s.responses.size > this.limits.maxResponses) {
      let low = Infinity
      for (const seq of s.responses.keys()) if (seq < low) low = seq
      this.raiseFloor(s, low)
    }
  }

  private touch (id: string, s: Session): void {
    s.lastActive = this.time
    this.sessions.delete(id)
    this.sessions.set(id, s)
  }

  private raiseFloor (s: Session, floor: number): void {
    s.floor = floor
    for (const seq of s.responses.keys()) if (seq <= floor) s.responses.delete(seq)
  }

  /** Writes the limits, the clock and the sessions, least recently active first. */
  write (e: encoding.Encoder): void {
    encoding.writeVarUint(e, this.limits.maxSessions)
    encoding.writeVarUint(e, this.limits.timeoutMs)
    encoding.writeVarUint(e, this.limits.maxResponses)
    encoding.writeVarUint(e, this.time)
    encoding.writeVarUint(e, this.sessions.size)
    for (const [id, s] of this.sessions) {
      writeString(e, id)
      encoding.writeVarUint(e, s.floor)
      encoding.writeVarUint(e, s.lastActive)
      encoding.writeVarUint(e, s.responses.size)
      for (const [seq, r] of s.responses) {
        encoding.writeVarUint(e, seq)
        encoding.writeVarUint8Array(e, r)
      }
    }
  }

  /** Replaces the table with one read from `d` (`version` 1: the old one-response-per-session table). */
  read (d: Decoder, version = 2): void {
    this.sessions.clear()
    if (version === 1) {
      this.limits = { ...DEFAULT_SESSION_LIMITS }
      this.time = 0
      const n = readCount(d, 'session count', 3)
      for (let i = 0; i < n; i++) {
        const id = readString(d, 'clientId')
        const seq = readVarUint(d, 'seq')
        this.sessions.set(id, { floor: Math.max(0, seq - 1), lastActive: 0, responses: new Map([[seq, readBytes(d, 'session result')]]) })
      }
      return
    }
    this.limits = checkSessionLimits({ maxSessions: readVarUint(d, 'maxSessions'), timeoutMs: readVarUint(d, 'timeoutMs'), maxResponses: readVarUint(d, 'maxResponses') })
    this.time = readVarUint(d, 'session clock')
    const n = readCount(d, 'session count', 4)
    for (let i = 0; i < n; i++) {
      const id = readString(d, 'clientId')
      const s: Session = { floor: readVarUint(d, 'floor'), lastActive: readVarUint(d, 'lastActive'), responses: new Map() }
      const m = readCount(d, 'response count', 2)
      for (let j = 0; j < m; j++) {
        const seq = readVarUint(d, 'seq')
        s.responses.set(seq, readBytes(d, 'session result'))
      }
      this.sessions.set(id, s)
    }
  }
}

const SNAPSHOT_VERSION = 2

/** Encodes a node's snapshot data: the session table, then the state machine's bytes. */
export const encodeNodeSnapshot = (sessions: SessionTable, state: Uint8Array): Uint8Array => {
  // room for the state and a small session table: usually no regrowth, no final copy
  const e = sizedEncoder(state.length + 4096)
  encoding.writeUint8(e, SNAPSHOT_VERSION)
  sessions.write(e)
  writeBytes(e, state)
  return finishEncoder(e)
}

/** Decodes {@link encodeNodeSnapshot}'s output (or version 1's) into `sessions`; returns the state machine's bytes. @throws {DecodeError} */
export const decodeNodeSnapshot = (bytes: Uint8Array, sessions: SessionTable): Uint8Array => decodeWith('raft node snapshot', bytes, (d) => {
  const v = readUint8(d, 'snapshot version')
  if (v !== SNAPSHOT_VERSION && v !== 1) throw new DecodeError(`unsupported snapshot version ${v}`)
  sessions.read(d, v)
  return readBytes(d, 'state machine snapshot')
})
