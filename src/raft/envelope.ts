/**
 * The envelope a normal log entry carries: the client's command, its
 * session tag (for exactly-once application), the leader's clock when it
 * appended the entry (the replicated time sessions expire by), or a change
 * of the session table's replicated limits.
 *
 * ```
 * u8 version(2)  u8 flags
 *   [timestamp varuint]                         flags bit 2
 *   [clientId string, seq varuint]              flags bit 0
 *   [ackedSeq varuint]                          flags bit 1 (with bit 0)
 *   [maxSessions, timeoutMs, maxResponses]      flags bit 3 (a limits entry; no command)
 *   command bytes…
 * ```
 * Version 1 (`u8 1, u8 flags(bit 0), [clientId, seq], command`) still decodes.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError } from '../errors.js'
import { createDecoder, readString, readUint8, readVarUint, remaining } from '../codec/reader.js'
import { writeString } from '../codec/writer.js'
import { sizedEncoder } from './codec.js'

const ENVELOPE_VERSION = 2
const F_SESSION = 1
const F_ACKED = 2
const F_TIME = 4
const F_LIMITS = 8

/** Who proposed a command, for exactly-once application. */
export interface SessionTag {
  /** A stable id of the client (unique among clients). */
  clientId: string
  /** The client's request number: increases by one per new request, and stays the same on retries. */
  seq: number
  /**
   * The client has received the responses of every request of this
   * session up to and including this seq, 0 while it has received none
   * (seqs number the session's writes; a client that numbers reads too
   * must send 0 until a write was answered). The group then forgets those
   * responses; a request at or below it is refused, never applied again;
   * and an unknown session with `ackedSeq > 0` is known to have expired.
   * Omitted by old clients: then an unknown session is taken as new, and
   * responses are forgotten only past `maxResponses`.
   */
  ackedSeq?: number
}

/** The session table's limits: replicated configuration, the same on every replica. */
export interface SessionLimits {
  /**
   * Sessions held at once; a new session beyond it is refused (retryable)
   * until one expires. Sessions are never evicted early.
   * @default 100000
   */
  maxSessions: number
  /**
   * A session idle this long (by the leaders' timestamps in the log)
   * expires; its later requests get `SessionExpiredError`.
   * @default 600000 (10 minutes)
   */
  timeoutMs: number
  /**
   * Responses kept per session for requests the client has not
   * acknowledged; past it the lowest is forgotten (and its request refused
   * from then on).
   * @default 128
   */
  maxResponses: number
}

/** An entry's payload, decoded. */
export interface CommandEnvelope {
  /** The command (empty in a limits entry). */
  cmd: Uint8Array
  /** Its session, if tagged. */
  session?: SessionTag
  /** The leader's clock (ms) when it appended the entry. */
  timestamp?: number
  /** New session limits (a limits entry carries no command). */
  limits?: SessionLimits
}

/** Wraps a command (with its session, timestamp or new session limits) into entry data. */
export const encodeCommand = (cmd: Uint8Array, session?: SessionTag, meta: { timestamp?: number, limits?: SessionLimits } = {}): Uint8Array => {
  const e = sizedEncoder(cmd.length + 48 + (session === undefined ? 0 : session.clientId.length * 3))
  const flags = (session === undefined ? 0 : F_SESSION) | (session?.ackedSeq === undefined ? 0 : F_ACKED) |
    (meta.timestamp === undefined ? 0 : F_TIME) | (meta.limits === undefined ? 0 : F_LIMITS)
  encoding.writeUint8(e, ENVELOPE_VERSION)
  encoding.writeUint8(e, flags)
  if (meta.timestamp !== undefined) encoding.writeVarUint(e, Math.max(0, Math.floor(meta.timestamp)))
  if (session !== undefined) {
    writeString(e, session.clientId)
    encoding.writeVarUint(e, session.seq)
    if (session.ackedSeq !== undefined) encoding.writeVarUint(e, session.ackedSeq)
  }
  if (meta.limits !== undefined) {
    encoding.writeVarUint(e, meta.limits.maxSessions)
    encoding.writeVarUint(e, meta.limits.timeoutMs)
    encoding.writeVarUint(e, meta.limits.maxResponses)
  }
  if (e.cpos + cmd.length <= e.cbuf.length) { e.cbuf.set(cmd, e.cpos); e.cpos += cmd.length } else encoding.writeUint8Array(e, cmd)
  // one buffer, sized above: hand out a view instead of copying it again
  return e.bufs.length === 0 ? e.cbuf.subarray(0, e.cpos) : encoding.toUint8Array(e)
}

/** Unwraps {@link encodeCommand}'s output (or a version 1 envelope). @throws {DecodeError} on bad bytes. */
export const decodeCommand = (data: Uint8Array): CommandEnvelope => {
  const d = createDecoder(data)
  const version = readUint8(d, 'command envelope version')
  if (version !== ENVELOPE_VERSION && version !== 1) throw new DecodeError(`command envelope: unsupported version ${version}`)
  const flags = readUint8(d, 'command envelope flags')
  if (flags > (version === 1 ? F_SESSION : 15) || ((flags & F_ACKED) !== 0 && (flags & F_SESSION) === 0)) throw new DecodeError(`command envelope: unknown flags ${flags}`)
  const out: CommandEnvelope = { cmd: data }
  if ((flags & F_TIME) !== 0) out.timestamp = readVarUint(d, 'timestamp')
  if ((flags & F_SESSION) !== 0) {
    out.session = { clientId: readString(d, 'clientId'), seq: readVarUint(d, 'seq') }
    if ((flags & F_ACKED) !== 0) out.session.ackedSeq = readVarUint(d, 'ackedSeq')
  }
  if ((flags & F_LIMITS) !== 0) {
    out.limits = { maxSessions: readVarUint(d, 'maxSessions'), timeoutMs: readVarUint(d, 'timeoutMs'), maxResponses: readVarUint(d, 'maxResponses') }
  }
  // a view, not a copy: entry data is never modified
  out.cmd = data.subarray(d.pos, d.pos + remaining(d))
  return out
}
