/**
 * The hub's client WebSockets: admission before upgrading (origin,
 * connection caps, per IP), the socket as the sync connection's I/O,
 * traffic totals, and the ping loop that drops sockets that stopped
 * answering. The per-message path is one map lookup and `receive`.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { RawData, WebSocket } from 'ws'
import type { Logger } from 'aegis-replication'
import type { ServerConnection, SyncServer } from 'aegis-replication/sync'
import type { DriverLimits } from './driver-limits.js'
import { clientIp, originAllowed } from './origin.js'
import type { PromMetrics } from './prom-metrics.js'
import { IpCounter, refuseUpgrade } from './upgrade-guard.js'

/** What {@link ClientSockets} needs from the hub. */
export interface ClientSocketsOptions {
  sync: SyncServer
  logger: Logger
  limits: DriverLimits
  trustProxy: boolean
  allowedOrigins?: readonly string[] | '*'
  /** Whether the hub listens on a loopback address (asked at each upgrade with an `Origin`). */
  loopbackHub: () => boolean
  closing: () => boolean
  prom: Pick<PromMetrics, 'closed' | 'refused'>
}

type Traffic = { bytesIn: number, bytesOut: number, framesIn: number, framesOut: number }

/** The client sockets of one hub. */
export class ClientSockets {
  private readonly conns = new Map<WebSocket, ServerConnection>()
  private readonly ipOf = new Map<WebSocket, string>()
  private readonly perIp = new IpCounter()
  /** Sockets pinged and not answered yet. */
  private readonly unanswered = new Set<WebSocket>()
  /** Traffic of the connections that closed. */
  private readonly totals: Traffic = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0 }
  private readonly pinger: ReturnType<typeof setInterval>
  private nextId = 0
  // shared listeners (`this` is the socket): one set per hub, no closures per connection
  private readonly onMessage: (this: WebSocket, data: RawData, isBinary: boolean) => void
  private readonly onClose: (this: WebSocket, code: number) => void
  private readonly onError: (this: WebSocket, err: Error) => void
  private readonly onPong: (this: WebSocket) => void

  constructor (private readonly o: ClientSocketsOptions) {
    const { conns, ipOf, perIp, unanswered, totals } = this
    const logger = o.logger
    this.onMessage = function (data, isBinary) {
      const conn = conns.get(this)
      if (conn === undefined) return
      if (!isBinary) { conn.receive(new Uint8Array(0)); return } // text frames are malformed
      // binaryType 'nodebuffer': a Buffer, passed on as a view (Buffer.from(buffer) would copy every message)
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
      conn.receive(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength))
    }
    this.onClose = function (code) {
      const conn = conns.get(this)
      if (conn === undefined) return
      const s = conn.stats
      totals.bytesIn += s.bytesIn; totals.bytesOut += s.bytesOut; totals.framesIn += s.framesIn; totals.framesOut += s.framesOut
      conns.delete(this)
      unanswered.delete(this)
      const ip = ipOf.get(this)
      if (ip !== undefined) { perIp.remove(ip); ipOf.delete(this) }
      conn.disconnected()
      o.prom.closed(code)
      logger.info('connection closed', { connection: conn.id, code, rooms: conn.roomNames.length })
    }
    this.onError = function (err) { logger.warn('connection error', { connection: conns.get(this)?.id, error: err.message }) }
    this.onPong = function () { unanswered.delete(this) }
    // a socket that did not answer the previous ping is gone (or not reading): drop it; after a
    // stall of this process (timers ran late, pongs may be unread) judge at the next tick instead
    const every = o.limits.pingIntervalMs
    let last = Date.now()
    this.pinger = setInterval(() => {
      const now = Date.now()
      const stalled = now - last > every * 1.5
      last = now
      for (const [ws, conn] of conns) {
        if (unanswered.has(ws) && !stalled) {
          logger.info('connection timed out', { connection: conn.id, reason: 'no pong since the last ping' })
          ws.terminate()
          continue
        }
        unanswered.add(ws)
        ws.ping()
      }
    }, every)
    this.pinger.unref?.()
  }

  /** Open client connections. */
  get size (): number { return this.conns.size }

  /** Traffic of every connection, closed and open. */
  traffic (): Traffic {
    const t = { ...this.totals }
    for (const c of this.conns.values()) {
      t.bytesIn += c.stats.bytesIn; t.bytesOut += c.stats.bytesOut
      t.framesIn += c.stats.framesIn; t.framesOut += c.stats.framesOut
    }
    return t
  }

  /** Checks an upgrade before any WebSocket exists; a refusal is answered on `socket` with an HTTP status. */
  admit (req: IncomingMessage, socket: Duplex): boolean {
    const ip = clientIp(req, this.o.trustProxy)
    const refused = this.refusal(req, ip)
    if (refused === undefined) return true
    const [status, kind, reason] = refused
    this.o.prom.refused(status, kind)
    this.o.logger.warn('upgrade refused', { ip, status, reason, origin: req.headers.origin })
    refuseUpgrade(socket, status, reason)
    return false
  }

  private refusal (req: IncomingMessage, ip: string): [number, string, string] | undefined {
    if (this.o.closing()) return [503, 'closing', 'the hub is shutting down']
    const origin = req.headers.origin
    if (origin !== undefined && !originAllowed({ origin, host: req.headers.host, loopbackHub: this.o.loopbackHub(), allowed: this.o.allowedOrigins })) {
      return [403, 'origin', `origin ${origin} may not open this hub's socket (see allowedOrigins / --allowed-origins)`]
    }
    if (this.conns.size >= this.o.limits.maxConnections) return [503, 'connections', 'the hub is at its connection limit; retry later']
    if (this.perIp.get(ip) >= this.o.limits.maxConnectionsPerIp) return [429, 'per-ip', 'too many connections from this address']
    return undefined
  }

  /** A client socket, upgraded: it becomes a sync connection. */
  accept (ws: WebSocket, req: IncomingMessage): void {
    const ip = clientIp(req, this.o.trustProxy)
    const id = `c${++this.nextId}@${ip}`
    ws.binaryType = 'nodebuffer'
    // the socket itself is the connection's I/O (send, close, bufferedAmount): no wrapper, no copy per message
    const conn = this.o.sync.connect(id, ws, { ip })
    this.conns.set(ws, conn)
    this.ipOf.set(ws, ip)
    this.perIp.add(ip)
    this.o.logger.info('connection opened', { connection: id })
    ws.on('message', this.onMessage)
    ws.on('close', this.onClose)
    ws.on('error', this.onError)
    ws.on('pong', this.onPong)
  }

  /** Starts closing every socket with `code`. */
  closeAll (code: number, reason: string): void { for (const ws of this.conns.keys()) ws.close(code, reason) }

  /** Drops every socket still open. */
  terminateAll (): void { for (const ws of this.conns.keys()) ws.terminate() }

  /** Stops the ping loop. */
  stop (): void { clearInterval(this.pinger) }
}
