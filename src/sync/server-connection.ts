/**
 * One client connection on the hub ({@link ServerConnection}): its rate
 * limits, chunk reassembly within budgets, slow-consumer check and the
 * ordering of its messages per room. {@link SyncServer} is its host.
 *
 * @module
 */
import { DecodeError, VersionError } from '../errors.js'
import type { Logger } from '../components.js'
import { xxh64Hex } from '../hash/hash64.js'
import {
  Access, decodeMessage, encodeMessage, ErrorCode, MessageType,
  type ChunkMessage, type JoinMessage, type SignalJoinMessage, type SignalMessage, type SyncMessage, type KvRequestMessage
} from './messages.js'
import { Reassembler, splitFrame } from './chunking.js'
import type { HubRoom, RoomPeer } from './hub-room.js'
import { SmallMap } from './small-map.js'
import type { SignalCredential, SignalRelay } from './signal-relay.js'
import type { IpBucket, IpRateLimits } from './ip-limits.js'
import type { ConnectionIO, ConnectionStats } from './server-options.js'

/** @internal what a connection needs from its server (`SyncServer` is one): limits, shared state, and the room work. */
export interface ConnectionHost {
  readonly maxFrameBytes: number
  readonly maxMessageBytes: number
  readonly messagesPerSecond: number
  readonly bytesPerSecond: number
  readonly burstSeconds: number
  readonly maxRoomsPerConnection: number
  readonly messagesPerSecondPerIp: number
  readonly bytesPerSecondPerIp: number
  readonly maxQueuedBytes: number
  readonly maxReassemblyBytesPerConnection: number
  readonly maxReassemblyBytes: number
  readonly partialMessageTimeoutMs: number
  readonly now: () => number
  readonly logger: Logger
  readonly signals: SignalRelay
  readonly ipLimits: IpRateLimits
  reassemblyHeld: number
  readonly reassembling: Set<ServerConnection>
  admit: (conn: ServerConnection, m: JoinMessage) => Promise<HubRoom | undefined>
  admitSignaling: (conn: ServerConnection, m: SignalJoinMessage) => Promise<boolean>
  relaySignal: (conn: ServerConnection, m: SignalMessage) => void
  kvRequest: (conn: ServerConnection, m: KvRequestMessage) => void
  left: (room: HubRoom, conn: ServerConnection) => void
  forget: (conn: ServerConnection) => void
  countClose: (code: number) => void
}

/**
 * A sync-step-1 arriving while more than this many frames' worth of bytes
 * (`maxFrameBytes` each, capped at `maxQueuedBytes`) are still queued for
 * the connection is not answered: its answer may be the room's whole state
 * again while an earlier answer has not left, and the client's
 * anti-entropy asks again later.
 */
export const STEP1_SKIP_QUEUED_FRAMES = 1

/** One client connection on the hub. */
export class ServerConnection implements RoomPeer {
  readonly id: string
  // counters as plain fields (not an object): a hub holds thousands of connections
  private framesIn = 0
  private bytesIn = 0
  private framesOut = 0
  private bytesOut = 0
  private readonly rooms = new SmallMap<Promise<HubRoom | undefined>>()
  /** Rooms joined for signaling only (`signal-join`): resolves to whether auth admitted us. */
  private readonly signalRooms = new SmallMap<Promise<boolean>>()
  /** Created on the first chunk: most connections never send one. */
  private reassembler: Reassembler | undefined
  /** Hash of the token and access per admitted room, for signaling peer ids; created on the first admission. */
  private creds: SmallMap<SignalCredential> | undefined
  private chunkId = 0
  /** No more sending or receiving. */
  private closed = false
  /** Rooms left and server resources released. */
  private gone = false
  private msgTokens: number
  private byteTokens: number
  private lastRefill: number

  constructor (private readonly server: ConnectionHost, id: string, private readonly io: ConnectionIO, private ip: IpBucket | undefined) {
    this.id = id
    this.msgTokens = server.messagesPerSecond * server.burstSeconds
    this.byteTokens = server.bytesPerSecond * server.burstSeconds
    this.lastRefill = server.now()
  }

  /** Frames and bytes in and out so far. */
  get stats (): ConnectionStats {
    return { framesIn: this.framesIn, bytesIn: this.bytesIn, framesOut: this.framesOut, bytesOut: this.bytesOut }
  }

  /** Rooms this connection has joined (or is joining). */
  get roomNames (): string[] { return this.rooms.keys() }

  /**
   * Sends a message, chunked when it is over the frame limit. A connection
   * with more than `maxQueuedBytes` already queued is closed instead
   * (`SlowConsumer`, 4408).
   */
  send (m: SyncMessage): void {
    if (this.closed) return
    const queued = this.io.bufferedAmount
    if (queued !== undefined && queued > this.server.maxQueuedBytes) {
      this.close(ErrorCode.SlowConsumer, `more than ${this.server.maxQueuedBytes} bytes queued for this connection: it does not read`, false)
      return
    }
    const frame = encodeMessage(m)
    const frames = frame.length <= this.server.maxFrameBytes
      ? [frame]
      : splitFrame(frame, this.server.maxFrameBytes, (this.chunkId = (this.chunkId + 1) % 0x40000000))
    for (const f of frames) {
      this.framesOut++
      this.bytesOut += f.length
      this.io.send(f)
    }
  }

  /** Handles one frame from the client. Never throws: bad input closes this connection. */
  receive (frame: Uint8Array): void {
    if (this.closed) return
    this.framesIn++
    this.bytesIn += frame.length
    const s = this.server
    const now = s.now()
    if (!this.withinRate(frame.length, now)) {
      this.fail(ErrorCode.RateLimited, `more than ${s.messagesPerSecond} messages or ${s.bytesPerSecond} bytes per second`)
      return
    }
    if (this.ip !== undefined && !s.ipLimits.take(this.ip, frame.length, now)) {
      this.fail(ErrorCode.RateLimited, `more than ${s.messagesPerSecondPerIp} messages or ${s.bytesPerSecondPerIp} bytes per second from this IP`)
      return
    }
    if (frame.length > s.maxFrameBytes) {
      this.fail(ErrorCode.TooLarge, `a frame of ${frame.length} bytes is over the limit of ${s.maxFrameBytes}; send larger messages as chunks`)
      return
    }
    if (this.reassembler !== undefined && this.overdue(now)) return
    let m: SyncMessage
    try {
      m = decodeMessage(frame)
      if (m.type === MessageType.Chunk) {
        const whole = this.reassemble(m)
        if (whole === undefined) return
        m = decodeMessage(whole)
        if (m.type === MessageType.Chunk) throw new DecodeError('a chunked message holds another chunk')
      }
    } catch (err) {
      if (err instanceof VersionError) {
        this.fail(ErrorCode.Version, err.message)
      } else if (err instanceof DecodeError) {
        this.fail(/larger than|cannot fit/.test(err.message) ? ErrorCode.TooLarge : ErrorCode.BadMessage, err.message)
      } else {
        this.crashed(err)
      }
      return
    }
    this.dispatch(m)
  }

  /** The socket closed: leave every room, release what the connection held. Idempotent. */
  disconnected (): void {
    this.closed = true
    if (this.gone) return
    this.gone = true
    this.dropPartials()
    if (this.ip !== undefined) { this.server.ipLimits.release(this.ip); this.ip = undefined }
    for (const name of this.rooms.keys()) this.leaveRoom(name)
    for (const name of this.signalRooms.keys()) this.leaveRoom(name)
    this.server.forget(this)
  }

  /**
   * @internal closes the connection (`BadMessage`) if a chunked message of
   * it is older than `partialMessageTimeoutMs`; true if it did.
   */
  overdue (now: number): boolean {
    const r = this.reassembler
    if (r === undefined || r.pendingCount === 0 || !r.startedBefore(now - this.server.partialMessageTimeoutMs)) return false
    this.fail(ErrorCode.BadMessage, `a chunked message was not completed within ${this.server.partialMessageTimeoutMs} ms`)
    return true
  }

  /** Takes a chunk within the per-connection and hub-wide budgets; the whole message once complete. */
  private reassemble (c: ChunkMessage): Uint8Array | undefined {
    const s = this.server
    const r = this.reassembler ??= new Reassembler({ maxMessageBytes: s.maxMessageBytes, now: s.now })
    const cost = r.cost(c)
    if (cost > 0 && r.heldBytes + cost > s.maxReassemblyBytesPerConnection) {
      this.fail(ErrorCode.TooLarge, `partly received chunked messages of this connection are over the limit of ${s.maxReassemblyBytesPerConnection} bytes`)
      return undefined
    }
    if (cost > 0 && s.reassemblyHeld + cost > s.maxReassemblyBytes) {
      this.fail(ErrorCode.Busy, `the hub holds ${s.maxReassemblyBytes} bytes of partly received messages; retry later`)
      return undefined
    }
    const before = r.heldBytes
    try {
      return r.push(c)
    } finally {
      s.reassemblyHeld += r.heldBytes - before
      if (r.pendingCount > 0) s.reassembling.add(this)
      else s.reassembling.delete(this)
    }
  }

  private dropPartials (): void {
    const r = this.reassembler
    if (r === undefined) return
    this.server.reassemblyHeld -= r.heldBytes
    this.server.reassembling.delete(this)
    r.clear()
    this.reassembler = undefined
  }

  /** @internal the token hash and access `auth` admitted this connection with in `room` */
  admitted (room: string, token: string, write: boolean): void {
    (this.creds ??= new SmallMap()).set(room, { tokenHash: xxh64Hex(token), write })
  }

  /** @internal */
  credentialIn (room: string): SignalCredential | undefined { return this.creds?.get(room) }

  private dispatch (m: Exclude<SyncMessage, { type: typeof MessageType.Chunk }>): void {
    if (m.type === MessageType.Join) { this.join(m); return }
    if (m.type === MessageType.SignalJoin) { this.signalJoin(m); return }
    if (m.type === MessageType.Signal) { this.signal(m); return }
    if (m.type === MessageType.KvRequest) { this.server.kvRequest(this, m); return }
    if (m.type === MessageType.KvResponse) { this.fail(ErrorCode.BadMessage, 'a client does not send kv-response'); return }
    const pending = this.rooms.get(m.room)
    if (m.type === MessageType.Leave && (pending !== undefined || this.signalRooms.get(m.room) !== undefined)) {
      this.leaveRoom(m.room)
      return
    }
    if (pending === undefined) {
      this.send({ type: MessageType.Error, room: m.room, code: ErrorCode.Denied, reason: 'join the room before sending to it' })
      return
    }
    if (m.type === MessageType.SyncStep1 && this.queuedOver(Math.min(this.server.maxQueuedBytes, this.server.maxFrameBytes * STEP1_SKIP_QUEUED_FRAMES))) {
      this.server.logger.debug('skipped a sync-step-1: the previous answers are still queued', { room: m.room, connection: this.id })
      return
    }
    // chained on the join, so messages keep their order while auth and loading run
    this.rooms.set(m.room, pending.then(room => {
      try {
        if (room !== undefined && !this.closed) room.receive(this, m)
      } catch (err) {
        this.crashed(err, m.room)
      }
      return room
    }))
  }

  private queuedOver (bytes: number): boolean {
    const queued = this.io.bufferedAmount
    return queued !== undefined && queued > bytes
  }

  private join (m: JoinMessage): void {
    const prev = this.rooms.get(m.room)
    if (prev !== undefined) {
      // a re-join on the same connection (its answer was lost): handshake again
      this.rooms.set(m.room, prev.then(room => {
        if (room === undefined || this.closed) return this.closed ? undefined : this.server.admit(this, m)
        void room.join(this, room.accessOf(this) ?? Access.Read, m.stateVector) // never rejects
        return room
      }))
      return
    }
    if (this.rooms.size + this.signalRooms.size >= this.server.maxRoomsPerConnection) {
      this.send({ type: MessageType.Error, room: m.room, code: ErrorCode.Denied, reason: `a connection may join at most ${this.server.maxRoomsPerConnection} rooms` })
      return
    }
    this.rooms.set(m.room, this.server.admit(this, m))
  }

  private signalJoin (m: SignalJoinMessage): void {
    const prev = this.signalRooms.get(m.room)
    if (prev !== undefined) {
      // asked again (the answer was lost, or a denied join is retried): auth again
      this.signalRooms.set(m.room, prev.then(() => this.closed ? false : this.server.admitSignaling(this, m)))
      return
    }
    if (this.rooms.size + this.signalRooms.size >= this.server.maxRoomsPerConnection) {
      this.send({ type: MessageType.Error, room: m.room, code: ErrorCode.Denied, reason: `a connection may join at most ${this.server.maxRoomsPerConnection} rooms` })
      return
    }
    this.signalRooms.set(m.room, this.server.admitSignaling(this, m))
  }

  /** Relays a signal once the join it follows is through; a connection not admitted to the room may not signal. */
  private signal (m: SignalMessage): void {
    const signaling = this.signalRooms.get(m.room)
    if (signaling !== undefined) {
      this.signalRooms.set(m.room, signaling.then(ok => {
        try {
          if (ok && !this.closed) this.server.relaySignal(this, m)
        } catch (err) {
          this.crashed(err, m.room)
        }
        return ok
      }))
      return
    }
    const pending = this.rooms.get(m.room)
    if (pending === undefined) {
      this.send({ type: MessageType.Error, room: m.room, code: ErrorCode.Denied, reason: 'join the room before signaling in it' })
      return
    }
    this.rooms.set(m.room, pending.then(room => {
      try {
        if (room !== undefined && !this.closed) this.server.relaySignal(this, m)
      } catch (err) {
        this.crashed(err, m.room)
      }
      return room
    }))
  }


  private leaveRoom (name: string): void {
    const pending = this.rooms.get(name)
    this.rooms.delete(name)
    if (pending !== undefined) {
      void pending.then(room => {
        try {
          this.server.signals.remove(name, this)
          if (room !== undefined) this.server.left(room, this)
        } catch (err) {
          this.server.logger.error('unexpected error leaving a room', { room: name, connection: this.id, error: String(err) })
        }
      })
    }
    const signaling = this.signalRooms.get(name)
    this.signalRooms.delete(name)
    if (signaling !== undefined) {
      void signaling.then(() => {
        // still a sync member of the room: it keeps signaling through that membership
        if (!this.rooms.has(name)) this.server.signals.remove(name, this)
      })
    }
    if (!this.rooms.has(name) && !this.signalRooms.has(name)) this.creds?.delete(name)
  }

  private withinRate (bytes: number, now: number): boolean {
    const s = this.server
    const dt = Math.max(0, now - this.lastRefill) / 1000
    this.lastRefill = now
    this.msgTokens = Math.min(s.messagesPerSecond * s.burstSeconds, this.msgTokens + dt * s.messagesPerSecond)
    this.byteTokens = Math.min(s.bytesPerSecond * s.burstSeconds, this.byteTokens + dt * s.bytesPerSecond)
    this.msgTokens -= 1
    this.byteTokens -= bytes
    return this.msgTokens >= 0 && this.byteTokens >= 0
  }

  /** @internal closes a misbehaving connection, telling it why */
  fail (code: ErrorCode, reason: string): void { this.close(code, reason, true) }

  /** @internal an unexpected error while handling this connection's message: log it, close with `Internal` */
  crashed (err: unknown, room?: string): void {
    this.server.logger.error('unexpected error handling a message; closing its connection', { connection: this.id, room, error: String(err), stack: (err as Error)?.stack })
    this.close(ErrorCode.Internal, 'the hub failed to handle a message of this connection', true)
  }

  private close (code: ErrorCode, reason: string, tell: boolean): void {
    if (this.closed) return
    if (code !== ErrorCode.Internal) this.server.logger.warn('closing a misbehaving connection', { connection: this.id, code, reason })
    if (tell) this.send({ type: MessageType.Error, room: '', code, reason })
    if (this.closed) return // the send found a slow consumer and closed it
    this.closed = true
    this.server.countClose(code)
    try {
      this.io.close(code, reason.slice(0, 120))
    } catch (err) {
      this.server.logger.error('closing a socket failed', { connection: this.id, error: String(err) })
    }
    this.disconnected()
  }
}

