/**
 * One socket per hub URL, shared by every provider (room) that talks to it:
 * a module-level registry keyed by the `WebSocket` constructor and the URL
 * holds a {@link HubConnection}, which owns the socket and the one
 * `SyncClient` all those rooms are added to, reconnects with backoff, and
 * closes the socket once no provider wants it.
 *
 * @module
 */
import { SyncClient, ErrorCode, type ClientRoom } from 'aegis-replication/sync'
import type { Clock, Logger, Random, TimerHandle } from 'aegis-replication'
import { InvalidArgumentError } from 'aegis-replication'
import { backoffDelay } from './backoff.js'
import type { ProviderStatus, RoomError, WebSocketConstructor, WebSocketLike } from './options.js'

/** What the connection needs to know about each provider on it. */
export interface ConnectionMember {
  readonly roomName: string
  /** The room while the provider wants to be online, else undefined. */
  readonly room: ClientRoom | undefined
  /** The connection's status changed. */
  connectionStatus (): void
  /** The hub closed the socket with 4403: the connection was refused. */
  connectionDenied (err: RoomError): void
}

/** Settings of a connection; taken from the first provider that opens it. */
export interface ConnectionSettings {
  clock: Clock
  random: Random
  logger: Logger
  minBackoffMs: number
  maxBackoffMs: number
  maxFrameBytes: number | undefined
  tickMs: number
}

const OPEN = 1
const noop = (): void => {}

const toBytes = (data: unknown): Uint8Array | undefined => {
  // (the tag test also catches ArrayBuffers from another realm)
  if (data instanceof ArrayBuffer || Object.prototype.toString.call(data) === '[object ArrayBuffer]') return new Uint8Array(data as ArrayBuffer)
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return undefined
}

const registry = /* @__PURE__ */ new Map<WebSocketConstructor, Map<string, HubConnection[]>>()

/**
 * A connection to `url` with `member` added: the first open one that does
 * not hold the member's room yet (rooms to one URL share a socket), or a
 * new one (the same room twice — two docs of one room in one process —
 * gets a socket of its own).
 */
export const joinConnection = (
  url: string, WebSocket: WebSocketConstructor, settings: ConnectionSettings, member: ConnectionMember
): HubConnection => {
  const key = new URL(url).href
  let byUrl = registry.get(WebSocket)
  if (byUrl === undefined) registry.set(WebSocket, (byUrl = new Map()))
  let list = byUrl.get(key)
  if (list === undefined) byUrl.set(key, (list = []))
  const free = list.find(c => !c.hasRoom(member.roomName))
  if (free !== undefined) {
    free.add(member)
    return free
  }
  const conn: HubConnection = new HubConnection(url, WebSocket, settings, () => {
    const at = list.indexOf(conn)
    if (at >= 0) list.splice(at, 1)
    if (list.length === 0) byUrl.delete(key)
    if (byUrl.size === 0) registry.delete(WebSocket)
  })
  conn.add(member)
  list.push(conn)
  return conn
}

/** One socket to a hub and the rooms on it. */
export class HubConnection {
  /** The sync client every room on this socket is added to. */
  readonly client: SyncClient
  private readonly members = new Set<ConnectionMember>()
  private socket: WebSocketLike | undefined = undefined
  private _status: ProviderStatus = 'disconnected'
  private attempt = 0
  /** `attempt` when the current socket opened (see the close handler). */
  private attemptAtOpen = 0
  private reconnectTimer: TimerHandle | undefined = undefined
  private tickTimer: TimerHandle | undefined = undefined
  /** The hub closed the socket with 4403: stay offline until a room is (re)added. */
  private halted = false

  constructor (
    readonly url: string,
    private readonly WebSocket: WebSocketConstructor,
    private readonly settings: ConnectionSettings,
    private readonly forget: () => void
  ) {
    this.client = new SyncClient({
      send: frame => this.send(frame),
      now: () => settings.clock.now(),
      maxFrameBytes: settings.maxFrameBytes,
      logger: settings.logger,
      random: settings.random
    })
  }

  get status (): ProviderStatus { return this._status }

  /** Whether a provider of `room` is on this connection. */
  hasRoom (room: string): boolean {
    for (const m of this.members) if (m.roomName === room) return true
    return false
  }

  /** @throws {InvalidArgumentError} if the member's room is taken. */
  add (member: ConnectionMember): void {
    for (const m of this.members) {
      if (m.roomName === member.roomName) {
        throw new InvalidArgumentError(`a provider for room ${JSON.stringify(member.roomName)} on ${this.url} already exists; share it or destroy it first`)
      }
    }
    this.members.add(member)
  }

  /** Drops a provider; the socket closes when it was the last. */
  remove (member: ConnectionMember): void {
    this.members.delete(member)
    if (this.members.size > 0) { this.update(); return }
    this.shutdown()
    this.forget()
  }

  /** A provider added its room: connect (again, even if every room was refused before). */
  activated (): void {
    this.halted = false
    this.update()
  }

  /** A room was refused: stop reconnecting once every room on the socket is. */
  roomDenied (): void {
    if (this.wanted()) return
    this.settings.logger.warn('every room on this connection was denied; not reconnecting', { url: this.url })
    this.shutdown()
  }

  /** Opens or closes the socket to match what the providers want. */
  update (): void {
    if (!this.wanted()) { this.shutdown(); return }
    if (this.socket !== undefined || this.reconnectTimer !== undefined) return
    this.open()
  }

  /** Whether some provider wants to be online in a room the hub has not refused. */
  private wanted (): boolean {
    if (this.halted) return false
    for (const m of this.members) if (m.room !== undefined && m.room.status !== 'denied') return true
    return false
  }

  private open (): void {
    const { logger } = this.settings
    let ws: WebSocketLike
    try {
      ws = new this.WebSocket(this.url)
    } catch (err) {
      logger.error('could not create a WebSocket', { url: this.url, error: String(err) })
      this.scheduleReconnect()
      return
    }
    ws.binaryType = 'arraybuffer'
    this.socket = ws
    this.setStatus('connecting')
    ws.onopen = () => {
      if (this.socket !== ws) return
      this.attemptAtOpen = this.attempt
      this.attempt = 0
      logger.debug('connected', { url: this.url })
      this.setStatus('connected')
      this.client.connected()
      this.scheduleTick()
    }
    ws.onmessage = (event) => {
      if (this.socket !== ws) return
      const frame = toBytes(event.data)
      if (frame === undefined) {
        logger.warn('ignored a text frame from the hub', { url: this.url })
        return
      }
      try {
        this.client.receive(frame)
      } catch (err) {
        const bad = (err as Error | undefined)?.name === 'DecodeError'
        logger[bad ? 'warn' : 'error'](bad ? 'undecodable frame from the hub; reconnecting' : 'handling a frame failed; reconnecting', { url: this.url, error: String(err) })
        this.drop(bad ? ErrorCode.BadMessage : 4000, bad ? 'bad message' : 'client error')
      }
    }
    ws.onerror = () => { if (this.socket === ws) logger.debug('socket error', { url: this.url }) }
    ws.onclose = (event) => {
      if (this.socket !== ws) return
      this.detach()
      const { code, reason } = event
      if (code >= 4400 && code <= 4499) {
        logger.warn('the hub closed the connection', { url: this.url, code, reason })
        // the hub refused us (too large, too fast, …): keep backing off, or we
        // would reconnect and be refused again every `minBackoffMs`
        this.attempt = Math.max(this.attempt, this.attemptAtOpen + 1)
      } else {
        logger.debug('connection closed', { url: this.url, code, reason })
      }
      this.client.disconnected()
      if (code === ErrorCode.Denied) {
        this.halted = true
        for (const m of [...this.members]) if (m.room !== undefined) m.connectionDenied({ code: ErrorCode.Denied, reason })
      }
      this.setStatus('disconnected')
      if (this.wanted()) this.scheduleReconnect()
    }
  }

  /** Closes the socket on our side and reconnects after a backoff. */
  private drop (code: number, reason: string): void {
    this.shutdown(code, reason)
    if (this.wanted()) this.scheduleReconnect()
  }

  private scheduleReconnect (): void {
    if (this.reconnectTimer !== undefined) return
    const { clock, random, minBackoffMs, maxBackoffMs, logger } = this.settings
    const delay = backoffDelay(this.attempt++, minBackoffMs, maxBackoffMs, random)
    logger.debug('reconnecting', { url: this.url, attempt: this.attempt, delay })
    this.reconnectTimer = clock.setTimeout(() => {
      this.reconnectTimer = undefined
      if (this.wanted() && this.socket === undefined) this.open()
    }, delay)
  }

  private scheduleTick (): void {
    this.tickTimer = this.settings.clock.setTimeout(() => {
      this.tickTimer = undefined
      if (this.socket === undefined) return
      this.client.tick()
      this.scheduleTick()
    }, this.settings.tickMs)
  }

  private send (frame: Uint8Array): void {
    const ws = this.socket
    if (ws === undefined || ws.readyState !== OPEN) return
    try {
      ws.send(frame)
    } catch (err) {
      this.settings.logger.warn('send failed', { url: this.url, error: String(err) })
    }
  }

  /** Forgets the socket: later events of it are ignored. */
  private detach (): WebSocketLike | undefined {
    const ws = this.socket
    this.socket = undefined
    if (this.tickTimer !== undefined) this.settings.clock.clearTimeout(this.tickTimer)
    this.tickTimer = undefined
    if (ws !== undefined) {
      // no-ops rather than null: `ws` throws on an 'error' event nobody listens to
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = noop
    }
    return ws
  }

  /** Closes the socket (if any) and cancels a pending reconnect. */
  private shutdown (code = 1000, reason = ''): void {
    if (this.reconnectTimer !== undefined) this.settings.clock.clearTimeout(this.reconnectTimer)
    this.reconnectTimer = undefined
    const ws = this.detach()
    if (ws === undefined) return
    try {
      ws.close(code, reason)
    } catch (err) {
      this.settings.logger.debug('close failed', { url: this.url, error: String(err) })
    }
    this.client.disconnected()
    this.setStatus('disconnected')
  }

  private setStatus (status: ProviderStatus): void {
    if (this._status === status) return
    this._status = status
    for (const m of [...this.members]) m.connectionStatus()
  }
}
