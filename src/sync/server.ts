/**
 * The hub side of the sync protocol for many connections: decodes and
 * reassembles frames, enforces size and rate limits, asks `auth` about each
 * room a connection joins, and routes messages to {@link HubRoom}s, which
 * the driver opens lazily. Pure: the driver owns sockets, timers and disks.
 *
 * A malformed, oversized, too-fast or too-slow connection is told why and
 * closed; the other connections and the rooms carry on. Every promise chain
 * handles its errors: an unexpected error in a room is logged (`error`),
 * the connection whose message caused it is closed (`Internal`, 4500), and
 * the other rooms keep serving.
 *
 * Signaling: a connection joined to a room (for sync with `join`, or for
 * signaling only with `signal-join`, which runs `auth` but never opens the
 * room's doc) may send `signal` messages, which {@link SignalRelay} passes
 * to the named peer of that room (or to all of them). A read-only
 * connection may signal; a denied one may not.
 *
 * The driver calls {@link SyncServer.sweep} about once a second (overdue
 * chunked messages, released peer ids).
 *
 * @module
 */
import { DecodeError, InvalidArgumentError, VersionError } from '../errors.js'
import { silentLogger, type Logger } from '../components.js'
import { xxh64Hex } from '../hash/hash64.js'
import {
  Access, DEFAULT_MAX_FRAME_BYTES, decodeMessage, encodeMessage, ErrorCode, MessageType,
  type ChunkMessage, type JoinMessage, type SignalJoinMessage, type SignalMessage, type SyncMessage, type KvRequestMessage
} from './messages.js'
import { handleKvRequest, KV_AUTH_ROOM } from './kv-endpoint.js'
import { DEFAULT_MAX_MESSAGE_BYTES, Reassembler, splitFrame } from './chunking.js'
import type { HubRoom, RoomPeer } from './hub-room.js'
import { SmallMap } from './small-map.js'
import { DEFAULT_PEER_ID_GRACE_MS, SignalRelay, type SignalCredential } from './signal-relay.js'
import { IpRateLimits, type IpBucket } from './ip-limits.js'
import { DEFAULT_PRESENCE_LIMITS, type PresenceLimits } from './presence-guard.js'
import type { AuthDecision, ConnectionIO, ConnectionStats, ConnectOptions, SyncServerOptions, SyncServerStats } from './server-options.js'

export type { AuthDecision, SyncServerOptions, ConnectionIO, ConnectionStats, ConnectOptions, SyncServerStats } from './server-options.js'

/**
 * A sync-step-1 arriving while more than this share of `maxQueuedBytes` is
 * still queued for the connection is not answered: the answer may be the
 * room's whole state again, and the client's anti-entropy asks again later.
 */
export const STEP1_SKIP_QUEUED_SHARE = 1 / 4

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

  constructor (private readonly server: SyncServer, id: string, private readonly io: ConnectionIO, private ip: IpBucket | undefined) {
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
    if (m.type === MessageType.SyncStep1 && this.queuedOver(this.server.maxQueuedBytes * STEP1_SKIP_QUEUED_SHARE)) {
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

/** The hub's sync endpoint: connections in, rooms behind. */
export class SyncServer {
  /** @internal */ readonly maxFrameBytes: number
  /** @internal */ readonly maxMessageBytes: number
  /** @internal */ readonly messagesPerSecond: number
  /** @internal */ readonly bytesPerSecond: number
  /** @internal */ readonly burstSeconds: number
  /** @internal */ readonly maxRoomsPerConnection: number
  /** @internal */ readonly maxOpenRooms: number
  /** @internal */ readonly messagesPerSecondPerIp: number
  /** @internal */ readonly bytesPerSecondPerIp: number
  /** @internal */ readonly maxQueuedBytes: number
  /** @internal */ readonly maxReassemblyBytesPerConnection: number
  /** @internal */ readonly maxReassemblyBytes: number
  /** @internal */ readonly partialMessageTimeoutMs: number
  /** @internal */ readonly now: () => number
  /** @internal */ readonly logger: Logger
  /** @internal the signaling members of every room */
  readonly signals: SignalRelay
  /** @internal the per-IP rate buckets */
  readonly ipLimits: IpRateLimits
  /** @internal bytes of partly received chunked messages held by all connections */
  reassemblyHeld = 0
  /** @internal connections holding partly received chunked messages */
  readonly reassembling = new Set<ServerConnection>()
  private readonly presenceLimits: PresenceLimits
  private readonly options: SyncServerOptions
  private readonly connections = new Set<ServerConnection>()
  private readonly rooms = new Map<string, Promise<HubRoom>>()
  /** Joins in progress per room (auth or loading still running). */
  private readonly joining = new Map<string, number>()
  private readonly closedByCode: Record<number, number> = {}

  constructor (options: SyncServerOptions) {
    if (typeof options?.openRoom !== 'function') throw new InvalidArgumentError('SyncServer needs an openRoom(name) function')
    this.options = options
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    this.messagesPerSecond = options.messagesPerSecond ?? 500
    this.bytesPerSecond = options.bytesPerSecond ?? 16 * 1024 * 1024
    this.burstSeconds = options.burstSeconds ?? 4
    this.maxRoomsPerConnection = options.maxRoomsPerConnection ?? 100
    this.maxOpenRooms = options.maxOpenRooms ?? 10_000
    this.messagesPerSecondPerIp = options.messagesPerSecondPerIp ?? 2000
    this.bytesPerSecondPerIp = options.bytesPerSecondPerIp ?? 64 * 1024 * 1024
    this.maxQueuedBytes = options.maxQueuedBytes ?? 64 * 1024 * 1024
    this.maxReassemblyBytesPerConnection = options.maxReassemblyBytesPerConnection ?? 64 * 1024 * 1024
    this.maxReassemblyBytes = options.maxReassemblyBytes ?? 256 * 1024 * 1024
    this.partialMessageTimeoutMs = options.partialMessageTimeoutMs ?? 30_000
    this.presenceLimits = {
      maxPerConnection: options.maxPresencePerConnection ?? DEFAULT_PRESENCE_LIMITS.maxPerConnection,
      maxPerRoom: options.maxPresencePerRoom ?? DEFAULT_PRESENCE_LIMITS.maxPerRoom,
      maxStateBytes: options.maxPresenceStateBytes ?? DEFAULT_PRESENCE_LIMITS.maxStateBytes
    }
    this.now = options.now ?? (() => Date.now())
    this.logger = options.logger ?? silentLogger
    this.signals = new SignalRelay(this.logger, { now: this.now, graceMs: options.peerIdGraceMs ?? DEFAULT_PEER_ID_GRACE_MS })
    this.ipLimits = new IpRateLimits({ messagesPerSecond: this.messagesPerSecondPerIp, bytesPerSecond: this.bytesPerSecondPerIp, burstSeconds: this.burstSeconds })
  }

  /** Open connections. */
  get connectionCount (): number { return this.connections.size }

  /** Rooms open or opening. */
  get roomNames (): string[] { return [...this.rooms.keys()] }

  /** Counts for metrics: connections, open rooms, reassembly bytes held, closes by code. */
  stats (): SyncServerStats {
    return {
      connections: this.connections.size,
      openRooms: this.rooms.size,
      ips: this.ipLimits.size,
      reassemblyBytes: this.reassemblyHeld,
      closedByCode: { ...this.closedByCode }
    }
  }

  /**
   * A new client connection. `options.ip` puts it under the per-IP rate
   * limits it shares with the IP's other connections.
   */
  connect (id: string, io: ConnectionIO, options?: ConnectOptions): ServerConnection {
    const ip = options?.ip
    const c = new ServerConnection(this, id, io, ip === undefined ? undefined : this.ipLimits.acquire(ip, this.now()))
    this.connections.add(c)
    return c
  }

  /**
   * Housekeeping the driver calls about once a second: closes connections
   * whose chunked messages are overdue (`BadMessage`, 4400), forgets
   * released signaling peer ids past their time.
   */
  sweep (): void {
    if (this.reassembling.size > 0) {
      const now = this.now()
      for (const c of [...this.reassembling]) c.overdue(now)
    }
    this.signals.sweep()
  }

  /** @internal */
  countClose (code: number): void { this.closedByCode[code] = (this.closedByCode[code] ?? 0) + 1 }

  /** @internal auth, then open the room and join it; never rejects */
  async admit (conn: ServerConnection, m: JoinMessage): Promise<HubRoom | undefined> {
    this.joining.set(m.room, (this.joining.get(m.room) ?? 0) + 1)
    try {
      return await this.admitNow(conn, m)
    } catch (err) {
      conn.crashed(err, m.room)
      return undefined
    } finally {
      const n = (this.joining.get(m.room) ?? 1) - 1
      if (n === 0) this.joining.delete(m.room)
      else this.joining.set(m.room, n)
    }
  }

  /** @internal auth for a signaling-only join: the room's doc is not opened; never rejects */
  async admitSignaling (conn: ServerConnection, m: SignalJoinMessage): Promise<boolean> {
    try {
      const decision = await this.decide(conn, m.room, m.token)
      if (decision === 'deny') return false
      if (!this.connections.has(conn)) return false
      conn.admitted(m.room, m.token, decision === 'write')
      this.signals.add(m.room, conn, conn.credentialIn(m.room))
      this.logger.info('joined room for signaling', { room: m.room, connection: conn.id, access: decision })
      conn.send({ type: MessageType.Joined, room: m.room, access: decision === 'write' ? Access.Write : Access.Read })
      return true
    } catch (err) {
      conn.crashed(err, m.room)
      return false
    }
  }

  /** @internal */
  relaySignal (conn: ServerConnection, m: SignalMessage): void {
    const refused = this.signals.relay(conn, m, conn.credentialIn(m.room))
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
    handleKvRequest({
      handler: this.options.kv,
      decide: async (token) => await this.decide(conn, KV_AUTH_ROOM, token),
      send: (r) => conn.send(r),
      logger: this.logger
    }, m).catch(err => conn.crashed(err))
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
    if (!this.connections.has(conn)) return undefined
    const access = decision === 'write' && m.access === Access.Write ? Access.Write : Access.Read
    const opening = this.open(m.room)
    if (opening === undefined) {
      this.logger.warn('join refused: too many open rooms', { room: m.room, connection: conn.id, maxOpenRooms: this.maxOpenRooms })
      conn.send({ type: MessageType.Error, room: m.room, code: ErrorCode.Busy, reason: `the hub has ${this.maxOpenRooms} rooms open; retry later` })
      return undefined
    }
    let room: HubRoom
    try {
      room = await opening
    } catch (err) {
      this.logger.error('could not open room', { room: m.room, error: String(err) })
      conn.send({ type: MessageType.Error, room: m.room, code: ErrorCode.Internal, reason: 'the hub could not open this room; retry later' })
      return undefined
    }
    if (!this.connections.has(conn)) { this.left(room, conn); return undefined }
    conn.admitted(m.room, m.token, access === Access.Write)
    this.logger.info('joined room', { room: m.room, connection: conn.id, access })
    try {
      room.setPresenceLimits(this.presenceLimits)
      await room.join(conn, access, m.stateVector)
    } catch (err) {
      this.left(room, conn)
      throw err
    }
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

  /** The room's opening, or undefined when opening a new room would pass `maxOpenRooms`. */
  private open (name: string): Promise<HubRoom> | undefined {
    let p = this.rooms.get(name)
    if (p === undefined) {
      if (this.rooms.size >= this.maxOpenRooms) return undefined
      let opening: Promise<HubRoom>
      try {
        opening = this.options.openRoom(name)
      } catch (err) {
        opening = Promise.reject(err)
      }
      p = opening
      this.rooms.set(name, opening)
      opening.catch(() => { if (this.rooms.get(name) === opening) this.rooms.delete(name) })
    }
    return p
  }
}
