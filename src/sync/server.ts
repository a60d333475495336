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
import { InvalidArgumentError } from '../errors.js'
import { silentLogger, type Logger } from '../components.js'
import {
  Access, DEFAULT_MAX_FRAME_BYTES, ErrorCode, MessageType,
  type JoinMessage, type SignalJoinMessage, type SignalMessage, type KvRequestMessage
} from './messages.js'
import { handleKvRequest, KV_AUTH_ROOM } from './kv-endpoint.js'
import { DEFAULT_MAX_MESSAGE_BYTES } from './chunking.js'
import type { HubRoom } from './hub-room.js'
import { DEFAULT_PEER_ID_GRACE_MS, SignalRelay } from './signal-relay.js'
import { IpRateLimits } from './ip-limits.js'
import { ServerConnection, type ConnectionHost } from './server-connection.js'
import { DEFAULT_PRESENCE_LIMITS, type PresenceLimits } from './presence-guard.js'
import type { AuthDecision, ConnectionIO, ConnectOptions, SyncServerOptions, SyncServerStats } from './server-options.js'

export type { AuthDecision, SyncServerOptions, ConnectionIO, ConnectionStats, ConnectOptions, SyncServerStats } from './server-options.js'
export { ServerConnection, STEP1_SKIP_QUEUED_FRAMES } from './server-connection.js'

/** The hub's sync endpoint: connections in, rooms behind. */
export class SyncServer implements ConnectionHost {
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
