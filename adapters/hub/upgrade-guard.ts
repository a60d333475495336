/**
 * What the hub checks before a socket costs it anything: sockets that do not
 * finish a request in time (slowloris), upgrades past the connection caps,
 * from a foreign origin, or while closing (refused with an HTTP status on the
 * raw socket, before any WebSocket exists).
 *
 * @module
 */
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'

/** A socket the HTTP server accepted (`net.Socket`, or the `tls.TLSSocket` over one). */
type RawSocket = Duplex & { remoteAddress?: string, _parent?: unknown }

function forget (this: RawSocket): void { pendingOf.get(this)?.settled(this) }
const pendingOf = new WeakMap<RawSocket, HeaderGuard>()

/**
 * Sockets that have not sent a complete request yet: each is destroyed once
 * `timeoutMs` passed, and one IP may hold at most `perIp` of them (its oldest
 * goes first). Node's own `headersTimeout` is checked only every
 * `connectionsCheckingInterval` and not at all on a server the hub did not create.
 */
export class HeaderGuard {
  /** Insertion order is arrival order: the sweep stops at the first young socket. */
  private readonly pending = new Map<RawSocket, number>()
  private readonly perIpCount = new Map<string, number>()
  private readonly timer: ReturnType<typeof setInterval>
  /** Sockets destroyed for not finishing their request in time. */
  timedOut = 0

  constructor (private readonly timeoutMs: number, private readonly perIp: number, private readonly now: () => number = Date.now) {
    this.timer = setInterval(() => this.sweep(), Math.max(20, Math.min(1000, timeoutMs / 4)))
    this.timer.unref?.()
  }

  /** The HTTP server's `connection` listener. */
  readonly accepted = (socket: RawSocket): void => {
    this.pending.set(socket, this.now())
    pendingOf.set(socket, this)
    socket.once('close', forget)
    const ip = socket.remoteAddress
    if (ip === undefined || this.perIp <= 0) return
    const n = (this.perIpCount.get(ip) ?? 0) + 1
    this.perIpCount.set(ip, n)
    if (n > this.perIp) {
      for (const s of this.pending.keys()) {
        if (s.remoteAddress === ip) { this.settled(s); s.destroy(); break }
      }
    }
  }

  /** A complete request (or upgrade) arrived on `socket`: it is no longer watched. */
  settled (socket: RawSocket): void {
    const raw = this.pending.has(socket) ? socket : socket._parent as RawSocket | undefined // TLS: the request's socket wraps the accepted one
    if (raw === undefined || !this.pending.delete(raw)) return
    raw.off('close', forget)
    const ip = raw.remoteAddress
    if (ip === undefined) return
    const n = (this.perIpCount.get(ip) ?? 1) - 1
    if (n <= 0) this.perIpCount.delete(ip)
    else this.perIpCount.set(ip, n)
  }

  /** Destroys the sockets past the timeout. */
  sweep (): void {
    const deadline = this.now() - this.timeoutMs
    for (const [s, at] of this.pending) {
      if (at > deadline) break
      this.settled(s)
      s.destroy()
      this.timedOut++
    }
  }

  /** Number of sockets still sending their first request. */
  get size (): number { return this.pending.size }

  close (): void { clearInterval(this.timer) }
}

/** Refuses an upgrade with an HTTP status and a one-line reason, and closes the socket. */
export const refuseUpgrade = (socket: Duplex, status: number, reason: string): void => {
  const body = reason + '\n'
  socket.once('finish', () => socket.destroy())
  socket.once('error', () => socket.destroy())
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n${status === 503 || status === 429 ? 'Retry-After: 5\r\n' : ''}\r\n${body}`
  )
}

/** Open client connections per IP address. */
export class IpCounter {
  private readonly counts = new Map<string, number>()
  get (ip: string): number { return this.counts.get(ip) ?? 0 }
  add (ip: string): void { this.counts.set(ip, this.get(ip) + 1) }
  remove (ip: string): void {
    const n = this.get(ip) - 1
    if (n <= 0) this.counts.delete(ip)
    else this.counts.set(ip, n)
  }
}
