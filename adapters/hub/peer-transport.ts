/**
 * The {@link Transport} between hubs of one Raft group, on WebSockets. Each
 * hub dials every member at `<url>/raft` and sends on that socket; it
 * receives on the sockets its peers dialled in (handed over by the hub's
 * HTTP server with {@link HubPeerTransport.accept}), and answers on them
 * while its own socket to that peer is down. Every socket opens with the
 * challenge–response handshake of {@link cluster-auth} on the cluster
 * secret, and a peer must pass `admit` (cluster id, member id, membership)
 * before a single Raft message crosses. A lost socket is dialled again with
 * backoff and jitter; frames sent while it is down are dropped (Raft
 * resends what matters).
 *
 * @module
 */
import { WebSocket } from 'ws'
import { ObservableV2 } from 'lib0/observable'
import { silentLogger, systemRandom, TransportClosedError, type Logger, type Random } from 'aegis-replication'
import { peerId, type PeerId, type Transport, type TransportEvents } from 'aegis-replication/transport'
import { backoffDelay } from '../websocket/backoff.js'
import { PeerRole, type PeerIdentity } from './cluster-auth.js'
import { PeerLink } from './peer-link.js'

/** The path hubs dial each other on. */
export const RAFT_PATH = '/raft'

/** Options of {@link HubPeerTransport}. */
export interface HubPeerTransportOptions {
  /** This hub's id. */
  id: string
  /** The hubs to dial: id → base URL (`ws://host:port`); changed later with {@link HubPeerTransport.setPeers}. */
  peers: Record<string, string>
  /** The cluster secret (see {@link checkSecret}). */
  secret: string
  /** This hub's identity; read at every handshake (the cluster id may be learnt later). */
  identity: () => PeerIdentity
  /** Whether an authenticated member may connect: a reason to refuse it, or undefined. @default any */
  admit?: (peer: PeerIdentity) => string | undefined
  /** A request on an admin socket (the `members` command, a joining hub); `reply` answers on it. */
  onAdmin?: (request: Uint8Array, reply: (answer: Uint8Array) => void, peer: PeerIdentity) => void
  /** An authenticated member connected (either direction). */
  onMember?: (peer: PeerIdentity) => void
  /** Largest WebSocket frame sent to a peer; longer messages travel as fragments. @default 64 KiB */
  fragmentBytes?: number
  /** Largest message accepted from a peer (the `/raft` limit). @default 64 MiB */
  maxMessageBytes?: number
  /** @default 50 */
  minBackoffMs?: number
  /** @default 2000 */
  maxBackoffMs?: number
  /** @default silentLogger */
  logger?: Logger
  /** @default systemRandom() */
  random?: Random
}

interface Outbound { url: string, link: PeerLink | undefined, attempt: number, timer: ReturnType<typeof setTimeout> | undefined }

const trimUrl = (url: string): string => url.replace(/\/+$/, '')

/** See the module documentation. */
export class HubPeerTransport extends ObservableV2<TransportEvents> implements Transport {
  readonly id: PeerId
  private readonly out = new Map<string, Outbound>()
  /** Authenticated member sockets dialled in, by the peer's id (the latest wins). */
  private readonly inbound = new Map<string, PeerLink>()
  private readonly pending = new Set<PeerLink>()
  private readonly logger: Logger
  private readonly random: Random
  private started = false
  private closed = false

  constructor (private readonly options: HubPeerTransportOptions) {
    super()
    this.id = peerId(options.id)
    this.logger = options.logger ?? silentLogger
    this.random = options.random ?? systemRandom()
    this.setPeers(options.peers)
  }

  /** Starts dialling the peers. */
  start (): void {
    this.started = true
    for (const id of this.out.keys()) this.dial(id)
  }

  /** The hubs to dial now (the group's configuration changed): new ones are dialled, gone ones hung up. */
  setPeers (peers: Record<string, string>): void {
    for (const [id, o] of this.out) {
      if (peers[id] !== undefined && trimUrl(peers[id]) === o.url) continue
      this.out.delete(id)
      if (o.timer !== undefined) clearTimeout(o.timer)
      o.link?.close(1000, 'no longer a peer')
    }
    for (const [id, url] of Object.entries(peers)) {
      if (id === this.options.id || this.out.has(id)) continue
      this.out.set(id, { url: trimUrl(url), link: undefined, attempt: 0, timer: undefined })
      if (this.started && !this.closed) this.dial(id)
    }
  }

  /** The hubs being dialled: id → URL. */
  dialling (): Record<string, string> {
    return Object.fromEntries([...this.out].map(([id, o]) => [id, o.url]))
  }

  peers (): PeerId[] {
    const ids = new Set<string>()
    for (const [id, o] of this.out) if (o.link?.open === true) ids.add(id)
    for (const id of this.inbound.keys()) ids.add(id)
    return [...ids] as PeerId[]
  }

  send (to: PeerId, frame: Uint8Array): void {
    this.linkTo(to)?.send(frame)
  }

  /** Sends `[tag] ‖ payload` to `to` as one message. */
  sendTagged (to: PeerId, tag: number, payload: Uint8Array): void {
    if (this.closed) throw new TransportClosedError('the hub peer transport is closed')
    this.linkTo(to)?.sendTagged(tag, payload)
  }

  broadcast (frame: Uint8Array): void {
    for (const id of this.peers()) this.send(id, frame)
  }

  /** Takes a socket that was opened on {@link RAFT_PATH}: it is authenticated before anything else. */
  accept (socket: WebSocket): void {
    if (this.closed) { socket.close(1001, 'shutting down'); return }
    const link: PeerLink = new PeerLink(socket, {
      side: 'acceptor',
      secret: this.options.secret,
      me: this.options.identity,
      fragmentBytes: this.options.fragmentBytes,
      maxMessageBytes: this.options.maxMessageBytes,
      logger: this.logger,
      check: (peer, role) => role === PeerRole.Admin ? undefined : this.admit(peer),
      onOpen: () => {
        this.pending.delete(link)
        if (link.role === PeerRole.Admin) return
        const id = link.remote!.nodeId
        this.inbound.get(id)?.close(1000, 'replaced by a newer socket')
        this.inbound.set(id, link)
        this.options.onMember?.(link.remote!)
      },
      onMessage: (m) => {
        if (this.closed) return
        if (link.role === PeerRole.Admin) {
          this.options.onAdmin?.(m, (answer) => { link.send(answer) }, link.remote!)
          return
        }
        this.emit('message', [link.remote!.nodeId as PeerId, m])
      },
      onClose: () => {
        this.pending.delete(link)
        const id = link.remote?.nodeId
        if (id !== undefined && this.inbound.get(id) === link) this.inbound.delete(id)
      }
    })
    this.pending.add(link)
  }

  /** Hangs up every socket (both directions) of a member that may no longer connect. */
  disconnect (id: string, reason: string): void {
    this.inbound.get(id)?.close(4403, reason)
    this.out.get(id)?.link?.close(4403, reason)
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const o of this.out.values()) {
      if (o.timer !== undefined) clearTimeout(o.timer)
      o.link?.terminate()
    }
    for (const l of this.inbound.values()) l.terminate()
    for (const l of this.pending) l.terminate()
    this.inbound.clear()
    this.pending.clear()
    this.emit('close', [])
  }

  private admit (peer: PeerIdentity): string | undefined {
    if (peer.nodeId === this.options.id) return `it claims this hub's own id (${peer.nodeId})`
    return this.options.admit?.(peer)
  }

  private linkTo (to: string): PeerLink | undefined {
    const o = this.out.get(to)
    if (o?.link?.open === true) return o.link
    return this.inbound.get(to)
  }

  private dial (id: string): void {
    const o = this.out.get(id)
    if (o === undefined || this.closed) return
    const socket = new WebSocket(`${o.url}${RAFT_PATH}`, { perMessageDeflate: false })
    const link: PeerLink = new PeerLink(socket, {
      side: 'dialer',
      role: PeerRole.Member,
      expect: id,
      secret: this.options.secret,
      me: this.options.identity,
      fragmentBytes: this.options.fragmentBytes,
      maxMessageBytes: this.options.maxMessageBytes,
      logger: this.logger,
      check: (peer) => this.admit(peer),
      onOpen: () => {
        if (o.link !== link) return
        o.attempt = 0
        this.logger.info('peer connected', { peer: id })
        this.options.onMember?.(link.remote!)
        this.emit('peer-joined', [id as PeerId])
      },
      // a peer answers on the socket we dialled while its own socket to us is down
      onMessage: (m) => { if (!this.closed) this.emit('message', [id as PeerId, m]) },
      onClose: (_l, code, reason) => {
        if (o.link !== link) return
        const wasOpen = link.open
        o.link = undefined
        if (code === 4403) this.logger.warn('a peer hub refused this hub', { peer: id, reason })
        if (wasOpen) {
          this.logger.info('peer disconnected', { peer: id })
          this.emit('peer-left', [id as PeerId])
        }
        if (this.closed || this.out.get(id) !== o) return
        const delay = backoffDelay(o.attempt++, this.options.minBackoffMs ?? 50, this.options.maxBackoffMs ?? 2000, this.random)
        o.timer = setTimeout(() => { o.timer = undefined; this.dial(id) }, delay)
      }
    })
    o.link = link
  }
}
