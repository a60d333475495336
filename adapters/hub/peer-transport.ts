/**
 * The {@link Transport} between hubs of one Raft group, on WebSockets. Each
 * hub dials every peer at `<peer url>/raft?from=<own id>` and sends on that
 * socket; it receives on the sockets its peers dialled in (handed over by
 * the hub's HTTP server with {@link HubPeerTransport.accept}). A lost
 * socket is dialled again with backoff and jitter; frames sent while it is
 * down are dropped (Raft resends what matters).
 *
 * With a `clusterToken`, a dialling hub presents it and the accepting one
 * refuses sockets without it.
 *
 * @module
 */
import { WebSocket } from 'ws'
import { ObservableV2 } from 'lib0/observable'
import { silentLogger, systemRandom, TransportClosedError, type Logger, type Random } from 'aegis-replication'
import { peerId, type PeerId, type Transport, type TransportEvents } from 'aegis-replication/transport'
import { backoffDelay } from '../websocket/backoff.js'

/** The path hubs dial each other on. */
export const RAFT_PATH = '/raft'

/** Options of {@link HubPeerTransport}. */
export interface HubPeerTransportOptions {
  /** This hub's id. */
  id: string
  /** The other hubs: id → base URL (`ws://host:port`). */
  peers: Record<string, string>
  /** A shared secret the hubs present to each other. @default none */
  clusterToken?: string
  /** @default 50 */
  minBackoffMs?: number
  /** @default 2000 */
  maxBackoffMs?: number
  /** @default silentLogger */
  logger?: Logger
  /** @default systemRandom() */
  random?: Random
}

const toBytes = (data: WebSocket.RawData): Uint8Array => {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

interface Outbound { url: string, socket: WebSocket | undefined, open: boolean, attempt: number, timer: ReturnType<typeof setTimeout> | undefined }

/** See the module documentation. */
export class HubPeerTransport extends ObservableV2<TransportEvents> implements Transport {
  readonly id: PeerId
  private readonly out = new Map<string, Outbound>()
  private readonly inbound = new Set<WebSocket>()
  private readonly logger: Logger
  private readonly random: Random
  private closed = false

  constructor (private readonly options: HubPeerTransportOptions) {
    super()
    this.id = peerId(options.id)
    this.logger = options.logger ?? silentLogger
    this.random = options.random ?? systemRandom()
    for (const [id, url] of Object.entries(options.peers)) {
      if (id === options.id) continue
      this.out.set(id, { url: url.replace(/\/+$/, ''), socket: undefined, open: false, attempt: 0, timer: undefined })
    }
  }

  /** Starts dialling the peers. */
  start (): void {
    for (const id of this.out.keys()) this.dial(id)
  }

  peers (): PeerId[] {
    return [...this.out].filter(([, o]) => o.open).map(([id]) => id as PeerId)
  }

  send (to: PeerId, frame: Uint8Array): void {
    // the contract lets the caller reuse its buffer once this returns
    this.sendOwned(to, frame.slice())
  }

  /** @internal {@link send} for a buffer no one else holds (a frame built for this call): no copy. */
  sendOwned (to: PeerId, frame: Uint8Array): void {
    if (this.closed) throw new TransportClosedError('the hub peer transport is closed')
    const o = this.out.get(to)
    if (o?.socket === undefined || !o.open) return
    o.socket.send(frame, { binary: true })
  }

  broadcast (frame: Uint8Array): void {
    for (const id of this.peers()) this.send(id, frame)
  }

  /**
   * Whether a dialled-in socket may join: the `from` id must be a
   * configured peer and the token must match.
   */
  admits (from: string | null, token: string | null): boolean {
    if (from === null || !this.out.has(from)) return false
    return this.options.clusterToken === undefined || token === this.options.clusterToken
  }

  /** Takes a socket a peer dialled in (after {@link admits}); its frames become `message` events. */
  accept (socket: WebSocket, from: string): void {
    if (this.closed) { socket.close(1001, 'shutting down'); return }
    this.inbound.add(socket)
    const peer = from as PeerId
    socket.on('message', (data, isBinary) => {
      if (isBinary && !this.closed) this.emit('message', [peer, toBytes(data)])
    })
    socket.on('close', () => { this.inbound.delete(socket) })
    socket.on('error', (err) => { this.logger.debug('peer socket error', { peer: from, error: String(err) }) })
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const o of this.out.values()) {
      if (o.timer !== undefined) clearTimeout(o.timer)
      o.socket?.terminate()
    }
    for (const s of this.inbound) s.terminate()
    this.inbound.clear()
    this.emit('close', [])
  }

  private dial (id: string): void {
    const o = this.out.get(id)
    if (o === undefined || this.closed) return
    const q = new URLSearchParams({ from: this.options.id })
    if (this.options.clusterToken !== undefined) q.set('token', this.options.clusterToken)
    const socket = new WebSocket(`${o.url}${RAFT_PATH}?${q.toString()}`, { perMessageDeflate: false })
    o.socket = socket
    socket.on('open', () => {
      if (o.socket !== socket) return
      o.open = true
      o.attempt = 0
      this.logger.info('peer connected', { peer: id })
      this.emit('peer-joined', [id as PeerId])
    })
    // a peer may answer on the socket we dialled too
    socket.on('message', (data, isBinary) => {
      if (isBinary && !this.closed) this.emit('message', [id as PeerId, toBytes(data)])
    })
    socket.on('error', (err) => { this.logger.debug('peer dial failed', { peer: id, error: String(err) }) })
    socket.on('close', () => {
      if (o.socket !== socket) return
      const wasOpen = o.open
      o.open = false
      o.socket = undefined
      if (wasOpen) {
        this.logger.info('peer disconnected', { peer: id })
        this.emit('peer-left', [id as PeerId])
      }
      if (this.closed) return
      const delay = backoffDelay(o.attempt++, this.options.minBackoffMs ?? 50, this.options.maxBackoffMs ?? 2000, this.random)
      o.timer = setTimeout(() => { o.timer = undefined; this.dial(id) }, delay)
    })
  }
}
