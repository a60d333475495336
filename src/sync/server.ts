/**
 * The hub side of the sync protocol for many connections: decodes and
 * reassembles frames, enforces size and rate limits, asks `auth` about each
 * room a connection joins, and routes messages to {@link HubRoom}s, which
 * the driver opens lazily. Pure: the driver owns sockets, timers and disks.
 *
 * A malformed, oversized or too-fast connection is told why and closed; the
 * other connections and the rooms carry on.
 *
 * Signaling: a connection joined to a room (for sync with `join`, or for
 * signaling only with `signal-join`, which runs `auth` but never opens the
 * room's doc) may send `signal` messages, which {@link SignalRelay} passes
 * to the named peer of that room (or to all of them). A read-only
 * connection may signal; a denied one may not.
 *
 * @module
 */
import { DecodeError, InvalidArgumentError } from '../errors.js'
import { silentLogger, type Logger } from '../components.js'
import {
  Access, DEFAULT_MAX_FRAME_BYTES, decodeMessage, encodeMessage, ErrorCode, MessageType,
  type JoinMessage, type SignalJoinMessage, type SignalMessage, type SyncMessage, type KvRequestMessage
} from './messages.js'
import { handleKvRequest, KV_AUTH_ROOM, type KvHandler } from './kv-endpoint.js'
import { DEFAULT_MAX_MESSAGE_BYTES, Reassembler, splitFrame } from './chunking.js'
import type { HubRoom, RoomPeer } from './hub-room.js'
import { SmallMap } from './small-map.js'
import { SignalRelay } from './signal-relay.js'

/**
 * What `auth` answers for a token and a room. `'expired'` denies like
 * `'deny'` but tells the client (close code {@link ErrorCode.TokenExpired})
 * that a fresh token may be let in, so it retries instead of giving up.
 */
export type AuthDecision = 'read' | 'write' | 'deny' | 'expired'

/** Options of {@link SyncServer}. */
export interface SyncServerOptions {
  /** Opens (loads) a room; called once per room while it has members. */
  openRoom: (name: string) => Promise<HubRoom>
  /** Called when a room's last member leaves; the driver may unload it. */
  roomIdle?: (room: HubRoom) => void
  /** Decides what a token may do in a room. @default every token may write */
  auth?: (token: string, room: string) => AuthDecision | Promise<AuthDecision>
  /** Largest frame sent or accepted. @default DEFAULT_MAX_FRAME_BYTES (1 MiB) */
  maxFrameBytes?: number
  /** Largest message after reassembly. @default DEFAULT_MAX_MESSAGE_BYTES (64 MiB) */
  maxMessageBytes?: number
  /** Messages per second a connection may send on average. @default 500 */
  messagesPerSecond?: number
  /** Bytes per second a connection may send on average. @default 16 MiB */
  bytesPerSecond?: number
  /** Seconds of burst above the averages. @default 4 */
  burstSeconds?: number
  /** Rooms one connection may join. @default 100 */
  maxRoomsPerConnection?: number
  /** Rooms open (or opening) on the hub at once; a join past it gets `Busy` (4503). @default 10000 */
  maxOpenRooms?: number
  /** Messages per second all connections from one IP may send together. @default 2000 */
  messagesPerSecondPerIp?: number
  /** Bytes per second all connections from one IP may send together. @default 64 MiB */
  bytesPerSecondPerIp?: number
  /** Awareness client ids one connection may announce in one room. @default 16 */
  maxPresencePerConnection?: number
  /** Awareness states one room holds. @default 1000 */
  maxPresencePerRoom?: number
  /** Largest JSON presence state of one client, in bytes as re-encoded. @default 16 KiB */
  maxPresenceStateBytes?: number
  /**
   * Bytes queued for a connection (its socket's `bufferedAmount`) before it
   * is closed as a slow consumer (`SlowConsumer`, 4408). @default 64 MiB
   */
  maxQueuedBytes?: number
  /** Bytes of partly received chunked messages one connection may hold. @default 64 MiB */
  maxReassemblyBytesPerConnection?: number
  /** Bytes of partly received chunked messages all connections may hold together. @default 256 MiB */
  maxReassemblyBytes?: number
  /** A chunked message not completed within this many ms is dropped and its sender closed. @default 30000 */
  partialMessageTimeoutMs?: number
  /** Milliseconds. @default Date.now */
  now?: () => number
  /** @default silentLogger */
  logger?: Logger
  /**
   * Serves `kv-request`s (the hub's Raft KV). Without it they are answered
   * `Failed` with a reason. `auth` is asked about the room `KV_AUTH_ROOM`.
   */
  kv?: KvHandler
}

/** What the driver gives the server for each connection. */
export interface ConnectionIO {
  /** Sends a frame; after the socket closed it must drop it quietly (as `ws` does). */
  send (frame: Uint8Array): void
  /** Close the socket with a WebSocket close code (4xxx) and a reason. */
  close (code: number, reason: string): void
  /** Bytes sent but not yet written to the network (a `ws` socket has it); watched for slow consumers. */
  readonly bufferedAmount?: number
}

/** Counters for metrics. */
export interface ConnectionStats {
  framesIn: number
  bytesIn: number
  framesOut: number
  bytesOut: number
}

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
  private chunkId = 0
  private closed = false
  private msgTokens: number
  private byteTokens: number
  private lastRefill: number

  constructor (private readonly server: SyncServer, id: string, private readonly io: ConnectionIO) {
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

  /** Sends a message, chunked when it is over the frame limit. */
  send (m: SyncMessage): void {
    if (this.closed) return
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
    if (!this.withinRate(frame.length)) {
      this.fail(ErrorCode.RateLimited, `more than ${this.server.messagesPerSecond} messages or ${this.server.bytesPerSecond} bytes per second`)
      return
    }
    if (frame.length > this.server.maxFrameBytes) {
      this.fail(ErrorCode.TooLarge, `a frame of ${frame.length} bytes is over the limit of ${this.server.maxFrameBytes}; send larger messages as chunks`)
      return
    }
    let m: SyncMessage
    try {
      m = decodeMessage(frame)
      if (m.type === MessageType.Chunk) {
        this.reassembler ??= new Reassembler({ maxMessageBytes: this.server.maxMessageBytes })
        const whole = this.reassembler.push(m)
        if (whole === undefined) return
        m = decodeMessage(whole)
        if (m.type === MessageType.Chunk) throw new DecodeError('a chunked message holds another chunk')
      }
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err
      const tooLarge = /larger than|cannot fit/.test(err.message)
      this.fail(tooLarge ? ErrorCode.TooLarge : ErrorCode.BadMessage, err.message)
      return
    }
    this.dispatch(m)
  }

  /** The socket closed: leave every room. */
  disconnected (): void {
    if (this.closed && this.rooms.size === 0) return
    this.closed = true
    this.reassembler = undefined
    for (const name of this.rooms.keys()) this.leaveRoom(name)
    for (const name of this.signalRooms.keys()) this.leaveRoom(name)
    this.server.forget(this)
  }

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
    // chained on the join, so messages keep their order while auth and loading run
    this.rooms.set(m.room, pending.then(room => {
      if (room !== undefined && !this.closed) room.receive(this, m)
      return room
    }))
  }

  private join (m: JoinMessage): void {
    const prev = this.rooms.get(m.room)
    if (prev !== undefined) {
      // a re-join on the same connection (its answer was lost): handshake again
      this.rooms.set(m.room, prev.then(room => {
        if (room === undefined || this.closed) return this.closed ? undefined : this.server.admit(this, m)
        void room.join(this, room.accessOf(this) ?? Access.Read, m.stateVector)
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
        if (ok && !this.closed) this.server.relaySignal(this, m)
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
      if (room !== undefined && !this.closed) this.server.relaySignal(this, m)
      return room
    }))
  }


  private leaveRoom (name: string): void {
    const pending = this.rooms.get(name)
    this.rooms.delete(name)
    if (pending !== undefined) {
      void pending.then(room => {
        this.server.signals.remove(name, this)
        if (room !== undefined) this.server.left(room, this)
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
  }

  private withinRate (bytes: number): boolean {
    const s = this.server
    const now = s.now()
    const dt = Math.max(0, now - this.lastRefill) / 1000
    this.lastRefill = now
    this.msgTokens = Math.min(s.messagesPerSecond * s.burstSeconds, this.msgTokens + dt * s.messagesPerSecond)
    this.byteTokens = Math.min(s.bytesPerSecond * s.burstSeconds, this.byteTokens + dt * s.bytesPerSecond)
    this.msgTokens -= 1
    this.byteTokens -= bytes
    return this.msgTokens >= 0 && this.byteTokens >= 0
  }

  private fail (code: ErrorCode, reason: string): void {
    this.server.logger.warn('closing a misbehaving connection', { connection: this.id, code, reason })
    this.send({ type: MessageType.Error, room: '', code, reason })
    this.closed = true
    this.io.close(code, reason.slice(0, 120))
    this.disconnected()
  }
}

/** The hub's sync endpoint: connections in, rooms behind. */
export class SyncServer {
  /** @internal */ readonly maxFrameBytes: number
  /** @internal */ readonly maxMessageBytes: number
  /** @internal */ readonly messagesPerSecond: number
  /** @internal */ readonly bytesPerSecond: number
  /** @internal */ readonly burstSeconds: number
  /** @internal */ readonly maxRoomsPerConnection: number
  /** @internal */ readonly now: () => number
  /** @internal */ readonly logger: Logger
  /** @internal the signaling members of every room */
  readonly signals: SignalRelay
  private readonly options: SyncServerOptions
  private readonly connections = new Set<ServerConnection>()
  private readonly rooms = new Map<string, Promise<HubRoom>>()
  /** Joins in progress per room (auth or loading still running). */
  private readonly joining = new Map<string, number>()

  constructor (options: SyncServerOptions) {
    if (typeof options?.openRoom !== 'function') throw new InvalidArgumentError('SyncServer needs an openRoom(name) function')
    this.options = options
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    this.messagesPerSecond = options.messagesPerSecond ?? 500
    this.bytesPerSecond = options.bytesPerSecond ?? 16 * 1024 * 1024
    this.burstSeconds = options.burstSeconds ?? 4
    this.maxRoomsPerConnection = options.maxRoomsPerConnection ?? 1000
    this.now = options.now ?? (() => Date.now())
    this.logger = options.logger ?? silentLogger
    this.signals = new SignalRelay(this.logger)
  }

  /** Open connections. */
  get connectionCount (): number { return this.connections.size }

  /** Rooms open or opening. */
  get roomNames (): string[] { return [...this.rooms.keys()] }

  /** A new client connection. */
  connect (id: string, io: ConnectionIO, _opts?: { ip?: string }): ServerConnection {
    const c = new ServerConnection(this, id, io)
    this.connections.add(c)
    return c
  }

  /** @internal auth, then open the room and join it */
  async admit (conn: ServerConnection, m: JoinMessage): Promise<HubRoom | undefined> {
    this.joining.set(m.room, (this.joining.get(m.room) ?? 0) + 1)
    try {
      return await this.admitNow(conn, m)
    } finally {
      const n = (this.joining.get(m.room) ?? 1) - 1
      if (n === 0) this.joining.delete(m.room)
      else this.joining.set(m.room, n)
    }
  }

  /** @internal auth for a signaling-only join: the room's doc is not opened */
  async admitSignaling (conn: ServerConnection, m: SignalJoinMessage): Promise<boolean> {
    const decision = await this.decide(conn, m.room, m.token)
    if (decision === 'deny') return false
    if (!this.connections.has(conn)) return false
    this.signals.add(m.room, conn)
    this.logger.info('joined room for signaling', { room: m.room, connection: conn.id, access: decision })
    conn.send({ type: MessageType.Joined, room: m.room, access: decision === 'write' ? Access.Write : Access.Read })
    return true
  }

  /** @internal */
  relaySignal (conn: ServerConnection, m: SignalMessage): void {
    const refused = this.signals.relay(conn, m)
    if (refused === undefined) return
    const held = this.signals.peerIdOf(m.room, conn)
    conn.send({
      type: MessageType.Error,
      room: m.room,
      code: ErrorCode.BadMessage,
      reason: refused === 'spoofed'
        ? `this connection signals as ${JSON.stringify(held)} in this room, not ${JSON.stringify(m.from)}`
        : `peer id ${JSON.stringify(m.from)} is taken in this room`
    })
  }

  /** @internal */
  kvRequest (conn: ServerConnection, m: KvRequestMessage): void {
    void handleKvRequest({
      handler: this.options.kv,
      decide: async (token) => await this.decide(conn, KV_AUTH_ROOM, token),
      send: (r) => conn.send(r),
      logger: this.logger
    }, m)
  }

  /** Asks `auth`; a failing or odd answer is `deny` (and the connection is told). */
  private async decide (conn: ServerConnection, room: string, token: string): Promise<'read' | 'write' | 'deny'> {
    let decision: AuthDecision
    try {
      decision = this.options.auth === undefined ? 'write' : await this.options.auth(token, room)
    } catch (err) {
      this.logger.error('auth failed', { room, connection: conn.id, error: String(err) })
      decision = 'deny'
    }
    if (decision === 'expired') {
      this.logger.info('join denied: token expired', { room, connection: conn.id })
      conn.send({ type: MessageType.Error, room, code: ErrorCode.TokenExpired, reason: `the token for room ${JSON.stringify(room)} has expired; join again with a fresh one` })
      return 'deny'
    }
    if (decision !== 'read' && decision !== 'write') {
      this.logger.info('join denied', { room, connection: conn.id })
      conn.send({ type: MessageType.Error, room, code: ErrorCode.Denied, reason: `access to room ${JSON.stringify(room)} denied` })
      return 'deny'
    }
    return decision
  }

  private async admitNow (conn: ServerConnection, m: JoinMessage): Promise<HubRoom | undefined> {
    const decision = await this.decide(conn, m.room, m.token)
    if (decision === 'deny') return undefined
    const access = decision === 'write' && m.access === Access.Write ? Access.Write : Access.Read
    let room: HubRoom
    try {
      room = await this.open(m.room)
    } catch (err) {
      this.logger.error('could not open room', { room: m.room, error: String(err) })
      conn.send({ type: MessageType.Error, room: m.room, code: ErrorCode.Internal, reason: 'the hub could not open this room; retry later' })
      return undefined
    }
    if (!this.connections.has(conn)) { this.left(room, conn); return undefined }
    this.logger.info('joined room', { room: m.room, connection: conn.id, access })
    await room.join(conn, access, m.stateVector)
    return room
  }

  /** @internal */
  left (room: HubRoom, conn: ServerConnection): void {
    room.leave(conn)
    if (room.size === 0) this.options.roomIdle?.(room)
  }

  /**
   * Forgets an idle room so the driver can unload it; refuses (false) when
   * it has members again. The next join opens it anew through `openRoom`.
   */
  closeRoom (room: HubRoom): boolean {
    if (room.size > 0 || this.joining.has(room.name)) return false
    this.rooms.delete(room.name)
    return true
  }

  /** @internal */
  forget (conn: ServerConnection): void { this.connections.delete(conn) }

  private open (name: string): Promise<HubRoom> {
    let p = this.rooms.get(name)
    if (p === undefined) {
      p = this.options.openRoom(name)
      this.rooms.set(name, p)
      p.catch(() => { if (this.rooms.get(name) === p) this.rooms.delete(name) })
    }
    return p
  }
}
