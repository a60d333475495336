/**
 * The sync protocol's messages and their binary codec. One connection
 * carries many rooms; every room-scoped message names its room.
 *
 * ```
 * u8 PROTOCOL_VERSION  u8 type  fields…
 * join        room, token, access-wanted, state vector     client → hub
 * joined      room, access                                 hub → client
 * sync-step-1 room, state vector        "send me what I lack"
 * sync-step-2 room, update              the answer to a sync-step-1
 * update      room, seq, update         a live update; seq > 0 asks for an ack
 * ack         room, from seq, to seq    hub: updates [from, to] are durable
 * awareness   room, y-protocols awareness update
 * leave       room
 * error       room ('' = the connection), code, reason
 * chunk       message id, index, count, bytes (a piece of a larger frame)
 * held        room, state vector        client: this much is durable in my local storage
 * signal      room, from peer, to peer ('' = every peer), payload   relayed by the hub
 * signal-join room, token               client: join for signaling only (no doc sync); answered by joined
 * kv-request  options, id, token, session, seq, command   client → hub: a Raft KV operation
 * kv-response '', id, status, result, reason         hub → client
 * ```
 *
 * `signal` carries opaque payloads between peers of a room (WebRTC
 * offers, answers, ICE candidates — encrypted when the room has a
 * password). The hub binds a connection to the peer id it first signals
 * with in a room, refuses another id from it, and relays to the named peer
 * (or to every signaling peer of the room).
 *
 * A `kv-request` has no room; its room field carries the request's
 * options instead: `''` (none: what clients before `ackedSeq` send) or
 * `acked:<n>`, the client's acknowledged point (decimal, no leading
 * zeros). A hub that predates it reads the field as a room name and
 * ignores it (it never looked at a kv-request's room), so a new client
 * talks to an old hub unchanged; a new hub reads `''` from an old client
 * as "no `ackedSeq`". No version bump, no handshake.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError, InvalidArgumentError, VersionError } from '../errors.js'
import { type Decoder, decodeWith, readBytes, readString, readUint8, readVarUint } from '../codec/reader.js'
import { writeString } from '../codec/writer.js'

/** The leading byte of every sync frame. */
export const PROTOCOL_VERSION = 1

/** Default largest frame a peer sends or accepts (bigger messages travel as chunks): 1 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 1 << 20

/** Room names are at most this many UTF-8 bytes. */
export const MAX_ROOM_NAME_BYTES = 256

/** Auth tokens are at most this many UTF-8 bytes. */
export const MAX_TOKEN_BYTES = 4096

/** Signaling peer ids are at most this many UTF-8 bytes. */
export const MAX_PEER_ID_BYTES = 64

/**
 * Signal payloads are at most this many bytes: an offer or answer (SDP,
 * sealed) is a few KiB; the bound keeps a hub from relaying bulk data to a
 * whole room.
 */
export const MAX_SIGNAL_PAYLOAD_BYTES = 64 * 1024

/** Message type tags on the wire. */
export const MessageType = {
  Join: 0,
  Joined: 1,
  SyncStep1: 2,
  SyncStep2: 3,
  Update: 4,
  Ack: 5,
  Awareness: 6,
  Leave: 7,
  Error: 8,
  Chunk: 9,
  Held: 10,
  Signal: 11,
  SignalJoin: 12,
  KvRequest: 13,
  KvResponse: 14
} as const
export type MessageType = typeof MessageType[keyof typeof MessageType]

/** Outcomes of a KV request. */
export const KvStatus = {
  /** Applied (writes) or read linearizably; `result` holds the KV result. */
  Ok: 0,
  /** Not known to have happened: retry with the same session and seq (e.g. no leader yet). */
  Retry: 1,
  /** Refused for good (denied, malformed command, no Raft group on this hub); `reason` says why. */
  Failed: 2,
  /** The command is over the group's entry size limit (`maxEntryBytes`); only this request fails. */
  TooLarge: 3,
  /** The client's session expired on the group: the request was not applied; start a new session. */
  SessionExpired: 4
} as const
export type KvStatus = typeof KvStatus[keyof typeof KvStatus]

/** Session ids of KV requests are at most this many UTF-8 bytes. */
export const MAX_KV_SESSION_BYTES = 64

/** What a client may do in a room. */
export const Access = { Read: 'read', Write: 'write' } as const
export type Access = typeof Access[keyof typeof Access]

/**
 * Error and close codes. The 4xxx values double as WebSocket close codes
 * (the range applications may use).
 */
export const ErrorCode = {
  /** A frame could not be decoded. */
  BadMessage: 4400,
  /** The token has expired: get a fresh one and join again (the provider retries with backoff). */
  TokenExpired: 4401,
  /** The token does not allow this room. */
  Denied: 4403,
  /** A read-only client sent an update. */
  ReadOnly: 4405,
  /** The client does not read what the hub sends: too many bytes queued for it (`maxQueuedBytes`). */
  SlowConsumer: 4408,
  /** A frame or reassembled message is over the size limit. */
  TooLarge: 4413,
  /** Too many messages or bytes per second. */
  RateLimited: 4429,
  /** The peer speaks another protocol version. */
  Version: 4426,
  /** Something failed on the hub (e.g. storage); retry later. */
  Internal: 4500,
  /** The hub is at a capacity limit (open rooms, connections); retry later, with backoff. */
  Busy: 4503
} as const
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode]

const ERROR_CODES = new Set<number>(Object.values(ErrorCode))

export interface JoinMessage { type: typeof MessageType.Join, room: string, token: string, access: Access, stateVector: Uint8Array }
export interface JoinedMessage { type: typeof MessageType.Joined, room: string, access: Access }
export interface SyncStep1Message { type: typeof MessageType.SyncStep1, room: string, stateVector: Uint8Array }
export interface SyncStep2Message { type: typeof MessageType.SyncStep2, room: string, update: Uint8Array }
export interface UpdateMessage { type: typeof MessageType.Update, room: string, seq: number, update: Uint8Array }
export interface AckMessage { type: typeof MessageType.Ack, room: string, from: number, to: number }
export interface AwarenessMessage { type: typeof MessageType.Awareness, room: string, update: Uint8Array }
export interface LeaveMessage { type: typeof MessageType.Leave, room: string }
export interface ErrorMessage { type: typeof MessageType.Error, room: string, code: ErrorCode, reason: string }
export interface HeldMessage { type: typeof MessageType.Held, room: string, stateVector: Uint8Array }
/** An opaque payload from one peer of a room to another (`to` = '': to every peer). */
export interface SignalMessage { type: typeof MessageType.Signal, room: string, from: string, to: string, payload: Uint8Array }
/** Join a room for signaling only: auth runs as for `join`, the doc is not synced. */
export interface SignalJoinMessage { type: typeof MessageType.SignalJoin, room: string, token: string }
/**
 * A request to the hubs' Raft KV (room: '', ignored). `command` is a KV
 * command (`encodeKvCommand` of `aegis-replication/raft`); `session` and
 * `seq` make a retried write apply once; `id` pairs the response.
 * `ackedSeq` (optional): the client has the answers of every request of
 * the session up to this seq (0: of none yet); it travels in the frame's
 * room field (see the module documentation).
 */
export interface KvRequestMessage { type: typeof MessageType.KvRequest, room: string, id: number, token: string, session: string, seq: number, command: Uint8Array, ackedSeq?: number }

/** The room field of a kv-request that carries `ackedSeq` starts with this. */
const KV_ACKED_PREFIX = 'acked:'
const KV_ACKED_FIELD = /^acked:(0|[1-9][0-9]{0,15})$/

/** The room field of a kv-request: its options. */
const kvOptionsField = (m: KvRequestMessage): string => {
  if (m.ackedSeq === undefined) return ''
  if (!Number.isSafeInteger(m.ackedSeq) || m.ackedSeq < 0) throw new InvalidArgumentError(`kv-request ackedSeq must be a non-negative safe integer, got ${m.ackedSeq}`)
  return `${KV_ACKED_PREFIX}${m.ackedSeq}`
}

/** Reads a kv-request's options from its room field. @throws {DecodeError} */
const readKvOptions = (field: string): { ackedSeq?: number } => {
  if (field === '') return {}
  const match = KV_ACKED_FIELD.exec(field)
  const n = match === null ? NaN : Number(match[1])
  if (!Number.isSafeInteger(n)) throw new DecodeError(`unknown kv-request options ${JSON.stringify(field.slice(0, 40))}`)
  return { ackedSeq: n }
}
/** The answer to a {@link KvRequestMessage}: the encoded KV result, or an error with a reason. */
export interface KvResponseMessage { type: typeof MessageType.KvResponse, room: string, id: number, status: KvStatus, result: Uint8Array, reason: string }
export interface ChunkMessage { type: typeof MessageType.Chunk, id: number, index: number, count: number, bytes: Uint8Array }

/** Every message of the sync protocol, discriminated on `type`. */
export type SyncMessage =
  | JoinMessage | JoinedMessage | SyncStep1Message | SyncStep2Message | UpdateMessage
  | AckMessage | AwarenessMessage | LeaveMessage | ErrorMessage | ChunkMessage | HeldMessage
  | SignalMessage | SignalJoinMessage | KvRequestMessage | KvResponseMessage

/** Messages addressed to a room (all but `chunk`). */
export type RoomMessage = Exclude<SyncMessage, ChunkMessage>

const writeRoomHeader = (e: encoding.Encoder, type: MessageType, room: string): void => {
  encoding.writeUint8(e, PROTOCOL_VERSION)
  encoding.writeUint8(e, type)
  writeString(e, room)
}

/** Encodes one message into a frame. */
export const encodeMessage = (m: SyncMessage): Uint8Array => {
  const e = encoding.createEncoder()
  if (m.type === MessageType.Chunk) {
    encoding.writeUint8(e, PROTOCOL_VERSION)
    encoding.writeUint8(e, m.type)
    encoding.writeVarUint(e, m.id)
    encoding.writeVarUint(e, m.index)
    encoding.writeVarUint(e, m.count)
    encoding.writeVarUint8Array(e, m.bytes)
    return encoding.toUint8Array(e)
  }
  writeRoomHeader(e, m.type, m.type === MessageType.KvRequest ? kvOptionsField(m) : m.room)
  switch (m.type) {
    case MessageType.Join:
      writeString(e, m.token)
      encoding.writeUint8(e, m.access === Access.Write ? 1 : 0)
      encoding.writeVarUint8Array(e, m.stateVector)
      break
    case MessageType.Joined:
      encoding.writeUint8(e, m.access === Access.Write ? 1 : 0)
      break
    case MessageType.SyncStep1:
    case MessageType.Held:
      encoding.writeVarUint8Array(e, m.stateVector)
      break
    case MessageType.SyncStep2:
    case MessageType.Awareness:
      encoding.writeVarUint8Array(e, m.update)
      break
    case MessageType.Update:
      encoding.writeVarUint(e, m.seq)
      encoding.writeVarUint8Array(e, m.update)
      break
    case MessageType.Ack:
      encoding.writeVarUint(e, m.from)
      encoding.writeVarUint(e, m.to - m.from)
      break
    case MessageType.Leave:
      break
    case MessageType.Error:
      encoding.writeVarUint(e, m.code)
      writeString(e, m.reason)
      break
    case MessageType.Signal:
      writeString(e, m.from)
      writeString(e, m.to)
      encoding.writeVarUint8Array(e, m.payload)
      break
    case MessageType.SignalJoin:
      writeString(e, m.token)
      break
    case MessageType.KvRequest:
      encoding.writeVarUint(e, m.id)
      writeString(e, m.token)
      writeString(e, m.session)
      encoding.writeVarUint(e, m.seq)
      encoding.writeVarUint8Array(e, m.command)
      break
    case MessageType.KvResponse:
      encoding.writeVarUint(e, m.id)
      encoding.writeUint8(e, m.status)
      encoding.writeVarUint8Array(e, m.result)
      writeString(e, m.reason)
      break
  }
  return encoding.toUint8Array(e)
}

const readLimitedString = (d: Decoder, what: string, max: number): string => {
  const s = readString(d, what)
  // UTF-8 is at most 3 bytes per UTF-16 unit: a cheap bound before measuring
  if (s.length * 3 > max && new TextEncoder().encode(s).length > max) {
    throw new DecodeError(`${what} is longer than ${max} bytes`)
  }
  return s
}

const readAccess = (d: Decoder): Access => {
  const a = readUint8(d, 'access')
  if (a > 1) throw new DecodeError(`unknown access ${a}`)
  return a === 1 ? Access.Write : Access.Read
}

const readSeq = (d: Decoder, what: string): number => {
  const n = readVarUint(d, what)
  if (!Number.isSafeInteger(n)) throw new DecodeError(`${what} is out of range`)
  return n
}

/**
 * Decodes one frame.
 *
 * @throws {DecodeError} naming what was wrong: wrong protocol version,
 *   unknown type, truncation, trailing bytes, limits.
 */
export const decodeMessage = (frame: Uint8Array): SyncMessage => decodeWith('sync message', frame, d => {
  const version = readUint8(d, 'protocol version')
  if (version !== PROTOCOL_VERSION) {
    throw new VersionError(version, `protocol version ${version} is not supported (this peer speaks ${PROTOCOL_VERSION})`)
  }
  const type = readUint8(d, 'message type')
  if (type === MessageType.Chunk) {
    const id = readSeq(d, 'chunk id')
    const index = readSeq(d, 'chunk index')
    const count = readSeq(d, 'chunk count')
    if (count < 2 || index >= count) throw new DecodeError(`chunk ${index} of ${count} is impossible`)
    return { type, id, index, count, bytes: readBytes(d, 'chunk bytes') }
  }
  const room = readLimitedString(d, 'room name', MAX_ROOM_NAME_BYTES)
  switch (type) {
    case MessageType.Join: {
      const token = readLimitedString(d, 'token', MAX_TOKEN_BYTES)
      const access = readAccess(d)
      return { type, room, token, access, stateVector: readBytes(d, 'state vector') }
    }
    case MessageType.Joined:
      return { type, room, access: readAccess(d) }
    case MessageType.SyncStep1:
    case MessageType.Held:
      return { type, room, stateVector: readBytes(d, 'state vector') }
    case MessageType.SyncStep2:
      return { type, room, update: readBytes(d, 'update') }
    case MessageType.Update: {
      const seq = readSeq(d, 'update seq')
      return { type, room, seq, update: readBytes(d, 'update') }
    }
    case MessageType.Ack: {
      const from = readSeq(d, 'ack from')
      const to = from + readSeq(d, 'ack length')
      if (from < 1 || !Number.isSafeInteger(to)) throw new DecodeError(`ack range [${from}, ${to}] is out of range`)
      return { type, room, from, to }
    }
    case MessageType.Awareness:
      return { type, room, update: readBytes(d, 'awareness update') }
    case MessageType.Leave:
      return { type, room }
    case MessageType.Error: {
      const code = readVarUint(d, 'error code')
      if (!ERROR_CODES.has(code)) throw new DecodeError(`unknown error code ${code}`)
      return { type, room, code: code as ErrorCode, reason: readLimitedString(d, 'error reason', 1024) }
    }
    case MessageType.Signal: {
      const from = readLimitedString(d, 'signal sender', MAX_PEER_ID_BYTES)
      if (from.length === 0) throw new DecodeError('a signal needs a sender peer id')
      const to = readLimitedString(d, 'signal target', MAX_PEER_ID_BYTES)
      const payload = readBytes(d, 'signal payload')
      if (payload.length > MAX_SIGNAL_PAYLOAD_BYTES) throw new DecodeError(`a signal payload of ${payload.length} bytes is larger than ${MAX_SIGNAL_PAYLOAD_BYTES}`)
      return { type, room, from, to, payload }
    }
    case MessageType.SignalJoin:
      return { type, room, token: readLimitedString(d, 'token', MAX_TOKEN_BYTES) }
    case MessageType.KvRequest: {
      const id = readSeq(d, 'kv request id')
      const token = readLimitedString(d, 'token', MAX_TOKEN_BYTES)
      const session = readLimitedString(d, 'kv session', MAX_KV_SESSION_BYTES)
      const seq = readSeq(d, 'kv seq')
      const command = readBytes(d, 'kv command')
      return { type, room: '', id, token, session, seq, command, ...readKvOptions(room) }
    }
    case MessageType.KvResponse: {
      const id = readSeq(d, 'kv response id')
      const status = readUint8(d, 'kv status')
      if (status > 4) throw new DecodeError(`unknown kv status ${status}`)
      return { type, room, id, status: status as KvStatus, result: readBytes(d, 'kv result'), reason: readLimitedString(d, 'kv reason', 1024) }
    }
    default:
      throw new DecodeError(`unknown message type ${type}`)
  }
})
