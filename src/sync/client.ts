/**
 * The client side of the sync protocol, for one connection carrying any
 * number of rooms. Pure: the driver (a provider) hands it frames and calls
 * `connected()`, `disconnected()` and `tick()`; it hands back frames.
 *
 * Per room: on connect it sends `join` with the doc's state vector; the hub
 * answers `joined`, `sync-step-2` (what the client lacks) and `sync-step-1`
 * (its own vector), which the client answers with one `update` holding
 * everything the hub lacks — edits made offline included. Then live updates
 * flow both ways; the hub acknowledges each client update once it is
 * durable, and `pending` counts local updates not yet acknowledged. Lost
 * frames (on lossy transports) are repaired by resending unacknowledged
 * updates and re-joining rooms that never finished the handshake.
 *
 * Signaling: once joined, a room can send opaque `signal`s to other peers
 * of the room through the hub (`sendSignal`) and hears theirs (`signal`
 * event). A room added with `sync: false` joins for signaling only
 * (`signal-join`): the hub runs auth but the doc is not synced through it.
 *
 * @module
 */
import type { Doc } from '../doc/doc.js'
import { InvalidArgumentError } from '../errors.js'
import { silentLogger, type Logger } from '../components.js'
import { DEFAULT_MAX_FRAME_BYTES, ErrorCode, MessageType, type SyncMessage } from './messages.js'
import { DEFAULT_MAX_MESSAGE_BYTES, MessageFraming } from './chunking.js'
import { KvRequests } from './kv-client.js'
import { tokenRetry, type TokenRetry, type TokenRetryOptions, type TokenSource } from './room-token.js'
import { KV_AUTH_ROOM } from './kv-endpoint.js'
import { ClientRoom, type ClientRoomOptions } from './client-room.js'

export { ClientRoom }
export type { ClientRoomOptions, ClientRoomEvents, RoomStatus, RoomLink } from './client-room.js'

const randomSessionId = (): string => `${Math.random().toString(36).slice(2, 12)}${Math.random().toString(36).slice(2, 12)}`

/** Options of {@link SyncClient}; the retry delays of refused joins are in {@link TokenRetryOptions}. */
export interface SyncClientOptions extends TokenRetryOptions {
  /** Sends one frame to the hub (the driver's socket). */
  send: (frame: Uint8Array) => void
  /** Milliseconds, for resend timing. @default Date.now */
  now?: () => number
  /** Largest frame to send; larger messages go as chunks. @default DEFAULT_MAX_FRAME_BYTES (1 MiB) */
  maxFrameBytes?: number
  /** Largest message accepted after reassembly. @default DEFAULT_MAX_MESSAGE_BYTES (64 MiB) */
  maxMessageBytes?: number
  /** Resend an unacknowledged update, or a join that got no answer, after this many ms. @default 5000 */
  resendAfterMs?: number
  /**
   * Ask the hub for anything missed (send the state vector again) this
   * often; repairs updates lost on lossy links (WebRTC unreliable, the
   * simulator). @default 30000
   */
  resyncEveryMs?: number
  /** @default silentLogger */
  logger?: Logger
  /** The session id of this connection's KV requests. @default random */
  kvSession?: string
  /** Give up on a KV request after this many ms. @default 10000 */
  kvTimeoutMs?: number
}


/** The client side of one connection to a hub, with its rooms. */
export class SyncClient {
  private readonly rooms = new Map<string, ClientRoom>()
  private readonly framing: MessageFraming
  private readonly resendAfterMs: number
  private readonly resyncEveryMs: number
  private readonly logger: Logger
  private isConnected = false
  private readonly kvRequests: KvRequests
  /** @internal */
  readonly now: () => number
  /** @internal retry delays of refused joins */
  readonly retry: TokenRetry

  constructor (options: SyncClientOptions) {
    if (typeof options?.send !== 'function') throw new InvalidArgumentError('SyncClient needs a send(frame) function')
    this.now = options.now ?? (() => Date.now())
    this.framing = new MessageFraming(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, options.send)
    this.resendAfterMs = options.resendAfterMs ?? 5000
    this.resyncEveryMs = options.resyncEveryMs ?? 30_000
    this.logger = options.logger ?? silentLogger
    this.retry = tokenRetry(options)
    this.kvRequests = new KvRequests({
      send: (m) => { this.sendMessage(m); return this.isConnected },
      now: this.now,
      retry: this.retry,
      session: options.kvSession ?? randomSessionId(),
      timeoutMs: options.kvTimeoutMs
    })
  }

  /**
   * Sends a command to the hubs' Raft KV (an `encodeKvCommand` of
   * `aegis-replication/raft`); resolves with the encoded result once it is
   * applied (writes) or read linearizably. Survives reconnects: a request
   * is sent again with the same session and seq, so a write applies once.
   * A token function is called before every send; when the hub answers
   * that its token expired, the request is sent again with a fresh one
   * (with backoff, until `kvTimeoutMs`).
   *
   * @throws {KvRequestError} when the hub refuses it for good.
   * @throws {TimeoutError} after `kvTimeoutMs` without an answer.
   */
  kv (command: Uint8Array, token: TokenSource = ''): Promise<Uint8Array> {
    return this.kvRequests.request(command, token)
  }

  /** Whether the driver reported the link up. */
  get online (): boolean { return this.isConnected }

  /** Adds a room; joins it at once when connected. One doc per room name. */
  addRoom (name: string, doc: Doc, options: ClientRoomOptions = {}): ClientRoom {
    if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError('a room name must be a non-empty string')
    if (this.rooms.has(name)) throw new InvalidArgumentError(`room ${JSON.stringify(name)} is already open on this connection`)
    const room = new ClientRoom(this, name, doc, options)
    this.rooms.set(name, room)
    if (this.isConnected) room.join()
    return room
  }

  /** Leaves a room and stops syncing its doc. */
  removeRoom (name: string): void {
    const room = this.rooms.get(name)
    if (room === undefined) return
    if (this.isConnected) this.sendMessage({ type: MessageType.Leave, room: name })
    room.detach()
    this.rooms.delete(name)
  }

  room (name: string): ClientRoom | undefined { return this.rooms.get(name) }

  /** The driver's link is up: (re)join every room. */
  connected (): void {
    this.isConnected = true
    this.kvRequests.resendAll()
    for (const room of this.rooms.values()) room.join()
  }

  /** The driver's link went down. */
  disconnected (): void {
    this.isConnected = false
    this.framing.clear()
    for (const room of this.rooms.values()) room.offline()
  }

  /** Call every second or so: resends what seems lost on lossy links. */
  tick (): void {
    this.kvRequests.tick()
    if (!this.isConnected) return
    const now = this.now()
    for (const room of this.rooms.values()) room.tick(now, this.resendAfterMs, this.resyncEveryMs)
  }

  /**
   * Handles one frame from the hub.
   *
   * @throws {DecodeError} for a frame that cannot be decoded; nothing was
   *   applied, and the driver should close the connection with
   *   `ErrorCode.BadMessage`.
   */
  receive (frame: Uint8Array): void {
    const m = this.framing.receive(frame)
    if (m === undefined) return
    if (m.type === MessageType.KvResponse) { this.kvRequests.receive(m); return }
    if (m.type === MessageType.Error && m.room === '') {
      this.logger.warn('hub reported a connection error', { code: m.code, reason: m.reason })
      return
    }
    if (m.type === MessageType.Error && m.room === KV_AUTH_ROOM && !this.rooms.has(m.room)) {
      // precedes the refusal of the KV request whose token expired
      if (m.code === ErrorCode.TokenExpired) this.kvRequests.tokenExpired()
      return
    }
    const room = this.rooms.get(m.room)
    if (room === undefined) {
      this.logger.debug('message for a room not open here', { room: m.room, type: m.type })
      return
    }
    room.receive(m)
  }

  /** Closes every room. */
  destroy (): void {
    this.kvRequests.abortAll('the connection was destroyed')
    for (const name of [...this.rooms.keys()]) this.removeRoom(name)
  }

  /** @internal */
  sendMessage (m: SyncMessage): void {
    if (this.isConnected) this.framing.send(m)
  }
}
