/**
 * {@link WebRTCProvider}: a mesh of data channels among the peers of a
 * room, with a {@link PeerSync} session on each, set up through signaling
 * over the hub's own socket (shared with the app's WebSocket providers).
 *
 * @module
 */
import { ObservableV2 } from 'lib0/observable'
import {
  InvalidArgumentError, silentLogger, systemClock, systemRandom,
  type Clock, type Doc, type Logger, type Random, type TimerHandle
} from 'aegis-replication'
import {
  Awareness, applyAwarenessUpdate, watchAwarenessTimeouts, decodeAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates,
  type AwarenessChanges, type ClientRoom
} from 'aegis-replication/sync'
import {
  backoffDelay, joinConnection,
  type ConnectionMember, type HubConnection, type ProviderStatus, type RoomError, type WebSocketConstructor
} from 'aegis-replication/websocket'
import { PeerLink, type LinkHost } from './peer-link.js'
import { deriveRoomKey, openSignal, sealSignal, type OpenFailure } from './signal-crypto.js'
import { encodePeerSignal, parsePeerSignal, type PeerSignal } from './signal-payload.js'
import { loadWebRTCShim } from './shim.js'
import type { WebRTCProviderEvents, WebRTCProviderOptions } from './options.js'

const DEFAULT_MAX_FRAME_BYTES = 64 * 1024
const TICK_MS = 1000

const randomHex = (bytes: number, random: Random): string => {
  const c = (globalThis as { crypto?: Crypto }).crypto
  const b = new Uint8Array(bytes)
  if (c?.getRandomValues !== undefined) c.getRandomValues(b)
  else for (let i = 0; i < bytes; i++) b[i] = Math.floor(random.next() * 256)
  return Array.from(b, x => x.toString(16).padStart(2, '0')).join('')
}

interface PageEvents {
  addEventListener?: (type: string, listener: () => void) => void
  removeEventListener?: (type: string, listener: () => void) => void
}

/** The room on one hub, as a member of that hub's shared connection. */
class SignalingHub implements ConnectionMember {
  room: ClientRoom | undefined = undefined
  readonly conn: HubConnection
  constructor (readonly url: string, readonly roomName: string, private readonly provider: WebRTCProvider, WebSocket: WebSocketConstructor, settings: Parameters<typeof joinConnection>[2]) {
    this.conn = joinConnection(url, WebSocket, settings, this)
  }

  connectionStatus (): void { this.provider._signalingStatus() }
  connectionDenied (err: RoomError): void { this.provider._denied(this, err) }
}

/** A peer this provider knows of, and its reconnect state. */
interface KnownPeer {
  attempts: number
  retry: TimerHandle | undefined
  /** Its link or ours is over `maxPeers`: we sync with it through the hub. */
  unreached: boolean
}

/**
 * Syncs `doc` with every peer of `room` over WebRTC data channels; peers
 * find each other through the hubs in `options.signaling`. See the package
 * docs.
 */
export class WebRTCProvider extends ObservableV2<WebRTCProviderEvents> {
  /** The room's name. */
  readonly roomName: string
  /** The doc kept in sync. */
  readonly doc: Doc
  /** This peer's id in the room. */
  readonly peerId: string
  /** Presence in this room, shared over the data channels. */
  readonly awareness: Awareness
  /** Most data channels kept (see {@link WebRTCProviderOptions.maxPeers}). */
  readonly maxPeers: number
  private readonly hubs: SignalingHub[]
  private readonly links = new Map<string, PeerLink>()
  private readonly known = new Map<string, KnownPeer>()
  private readonly clock: Clock
  private readonly random: Random
  private readonly logger: Logger
  private readonly token: string
  private readonly ownsAwareness: boolean
  private readonly minBackoffMs: number
  private readonly maxBackoffMs: number
  private readonly maxAttempts: number
  private readonly linkHost: LinkHost
  private readonly key: Promise<CryptoKey | undefined>
  /** Signals in and out are handled one at a time, in order (decryption is async). */
  private inbox: Promise<void> = Promise.resolve()
  private outbox: Promise<void> = Promise.resolve()
  private readonly ready: Promise<void>
  private readonly warned = new Set<string>()
  private _status: ProviderStatus = 'disconnected'
  private _synced = false
  private _hubSync = false
  private destroyed = false
  private tickTimer: TimerHandle | undefined
  private stopAwarenessWatch: () => void = () => {}

  /**
   * @throws {InvalidArgumentError} for a bad room, no signaling URL, a bad
   *   URL, or a runtime without `RTCPeerConnection` or `WebSocket` (pass them).
   */
  constructor (room: string, doc: Doc, options: WebRTCProviderOptions) {
    super()
    if (typeof room !== 'string' || room.length === 0) throw new InvalidArgumentError('a room name must be a non-empty string')
    const urls = options?.signaling
    if (!Array.isArray(urls) || urls.length === 0) throw new InvalidArgumentError('options.signaling must list at least one hub URL')
    for (const url of urls) {
      try { void new URL(url) } catch { throw new InvalidArgumentError(`not a URL: ${JSON.stringify(url)}`) }
    }
    const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    if (typeof WebSocket !== 'function') throw new InvalidArgumentError('this runtime has no global WebSocket: pass one as options.WebSocket')
    const PC = options.RTCPeerConnection ?? (globalThis as { RTCPeerConnection?: typeof RTCPeerConnection }).RTCPeerConnection
    if (typeof PC !== 'function') {
      throw new InvalidArgumentError('this runtime has no RTCPeerConnection (workers and Node have none): pass one as options.RTCPeerConnection, or run the provider in a window')
    }
    const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1024) throw new InvalidArgumentError(`maxFrameBytes must be an integer ≥ 1024, got ${maxFrameBytes}`)
    const maxPeers = options.maxPeers ?? 20
    if (!Number.isInteger(maxPeers) || maxPeers < 0) throw new InvalidArgumentError(`maxPeers must be an integer ≥ 0, got ${maxPeers}`)
    this.roomName = room
    this.doc = doc
    this.maxPeers = maxPeers
    this.clock = options.clock ?? systemClock()
    this.random = options.random ?? systemRandom()
    this.logger = options.logger ?? silentLogger
    this.token = options.token ?? ''
    this.minBackoffMs = options.minBackoffMs ?? 250
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000
    this.maxAttempts = options.maxReconnectAttempts ?? 8
    this.peerId = options.peerId ?? randomHex(16, this.random)
    this.ownsAwareness = options.awareness === undefined
    this.awareness = options.awareness ?? new Awareness({ now: () => this.clock.now() })
    const provider = this
    this.linkHost = {
      room,
      doc,
      clock: this.clock,
      logger: this.logger,
      maxFrameBytes,
      connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
      rtcConfig: { iceServers: options.iceServers ?? [] },
      RTCPeerConnection: PC,
      sessions: new WeakSet(),
      signal: (to, s) => provider.sendSignal(to, s),
      opened: link => provider.linkOpened(link),
      closed: (link, reason) => provider.linkClosed(link, reason),
      synced: () => provider.updateSynced(),
      awareness: (link, update) => provider.linkAwareness(link, update)
    }
    this.ready = (options.shim ?? true) ? loadWebRTCShim(this.logger) : Promise.resolve()
    this.key = options.password === undefined ? Promise.resolve(undefined) : deriveRoomKey(options.password, room)
    this.key.catch((err: unknown) => this.logger.error('could not derive the room key', { room, error: String(err) }))
    const settings = {
      clock: this.clock,
      random: this.random,
      logger: this.logger,
      minBackoffMs: this.minBackoffMs,
      maxBackoffMs: this.maxBackoffMs,
      maxFrameBytes: undefined,
      tickMs: TICK_MS
    }
    this.hubs = [...new Set(urls)].map(url => new SignalingHub(url, room, this, WebSocket, settings))
    this.awareness.on('update', this.onAwarenessUpdate)
    doc.on('destroy', this.onDocDestroy)
    ;(globalThis as PageEvents).addEventListener?.('pagehide', this.onPageHide)
    for (const hub of this.hubs) this.joinHub(hub)
    this.scheduleTick()
    this.stopAwarenessWatch = watchAwarenessTimeouts(this.awareness, this.clock)
  }

  /** The signaling state: `connected` while at least one hub is. */
  get status (): ProviderStatus { return this._status }

  /** Peer ids with an open data channel. */
  get peers (): string[] { return [...this.links.values()].filter(l => l.state === 'open').map(l => l.remote) }

  /** Whether every open channel (and the hub, when syncing through it) answered our state vector. */
  get synced (): boolean { return this._synced }

  /** Whether the doc also syncs through the hub(s) (past `maxPeers`). */
  get hubSync (): boolean { return this._hubSync }

  /** Closes every data channel, leaves the room on every hub, and removes the local presence. */
  override destroy (): void {
    if (this.destroyed) return
    this.destroyed = true
    if (this.tickTimer !== undefined) this.clock.clearTimeout(this.tickTimer)
    this.stopAwarenessWatch()
    for (const k of this.known.values()) if (k.retry !== undefined) this.clock.clearTimeout(k.retry)
    ;(globalThis as PageEvents).removeEventListener?.('pagehide', this.onPageHide)
    this.awareness.off('update', this.onAwarenessUpdate)
    // peers see this client go at once rather than at their timeout
    removeAwarenessStates(this.awareness, [this.awareness.clientID], this)
    this.sendBye()
    for (const link of [...this.links.values()]) link.close('the provider was destroyed')
    for (const hub of this.hubs) {
      if (hub.room !== undefined) hub.conn.client.removeRoom(this.roomName)
      hub.room = undefined
      hub.conn.remove(hub)
    }
    this.doc.off('destroy', this.onDocDestroy)
    if (this.ownsAwareness) this.awareness.destroy()
    this._status = 'disconnected'
    super.destroy()
  }

  /** @internal */
  _signalingStatus (): void {
    const s = this.hubs.map(h => h.room === undefined ? 'disconnected' : h.conn.status)
    const status: ProviderStatus = s.includes('connected') ? 'connected' : s.includes('connecting') ? 'connecting' : 'disconnected'
    if (status === this._status || this.destroyed) return
    this._status = status
    this.emit('status', [status])
  }

  /** @internal */
  _denied (hub: SignalingHub, err: RoomError): void {
    this.logger.warn('the hub refused signaling in this room', { url: hub.url, room: this.roomName, code: err.code, reason: err.reason })
  }

  /** Adds the room to a hub's shared connection: for signaling only, or for sync as well. */
  private joinHub (hub: SignalingHub): void {
    const room = hub.conn.client.addRoom(this.roomName, this.doc, { token: this.token, sync: this._hubSync, peerId: this.peerId })
    hub.room = room
    room.on('synced', () => {
      // (re)joined: tell the room we are here; the peers that hear it offer
      void this.sendSignal('', { t: 'announce' })
      if (this._hubSync) this.sendAwarenessToHub(hub, [...this.awareness.getStates().keys()])
      this.updateSynced()
    })
    room.on('status', () => this.updateSynced())
    room.on('signal', (from, payload, to) => this.receiveSignal(from, payload, to))
    room.on('awareness', update => this.remoteAwareness(update, hub))
    room.on('error', err => this.logger.warn('the hub refused a request', { url: hub.url, room: this.roomName, code: err.code, reason: err.reason }))
    hub.conn.activated()
    this._signalingStatus()
  }

  /** Past `maxPeers`: sync through the hub(s) too, so updates reach the peers we have no channel to. */
  private enterHubSync (): void {
    if (this._hubSync || this.destroyed) return
    this._hubSync = true
    this.logger.info('more peers than maxPeers: syncing through the hub too', { room: this.roomName, maxPeers: this.maxPeers })
    for (const hub of this.hubs) {
      if (hub.room !== undefined) hub.conn.client.removeRoom(this.roomName)
      this.joinHub(hub)
    }
    this.emit('hub-sync', [])
  }

  // ------------------------------------------------------------- signaling

  private sendSignal (to: string, s: PeerSignal): Promise<void> {
    this.logger.debug('signal out', { room: this.roomName, peer: to, type: s.t })
    const plain = encodePeerSignal(s)
    this.outbox = this.outbox.then(async () => {
      if (this.destroyed) return
      const key = await this.key
      for (const hub of this.hubs) {
        const room = hub.room
        if (room === undefined || !room.isJoined) continue
        room.sendSignal(to, await sealSignal(key, this.roomName, this.peerId, to, plain))
      }
    }).catch((err: unknown) => this.logger.error('could not send a signal', { to, error: String(err) }))
    return this.outbox
  }

  private receiveSignal (from: string, payload: Uint8Array, to: string): void {
    if (from === this.peerId) return
    this.inbox = this.inbox.then(async () => {
      if (this.destroyed) return
      await this.ready
      const opened = await openSignal(await this.key, this.roomName, from, to, payload)
      if (typeof opened === 'string') { this.unreadable(from, opened); return }
      const s = parsePeerSignal(opened)
      if (s === undefined) { this.unreadable(from, 'malformed'); return }
      await this.handleSignal(from, s)
    }).catch((err: unknown) => this.logger.error('handling a signal failed', { from, error: String(err) }))
  }

  private unreadable (from: string, why: OpenFailure): void {
    const key = `${from}:${why}`
    if (this.warned.has(key)) return
    this.warned.add(key)
    const message = {
      'wrong-password': 'could not decrypt a signal: the peer uses another room password; not connecting',
      'expected-password': 'a peer signals without the room password; not connecting',
      'unexpected-password': 'a peer signals with a room password this provider was not given; not connecting',
      malformed: 'ignored a malformed signal'
    }[why]
    this.logger.warn(message, { room: this.roomName, peer: from })
  }

  private async handleSignal (from: string, s: PeerSignal): Promise<void> {
    this.logger.debug('signal in', { room: this.roomName, peer: from, type: s.t })
    const link = this.links.get(from)
    switch (s.t) {
      case 'announce': {
        // a peer came (or came back): the one that hears the announcement offers
        if (link !== undefined && link.state !== 'closed') return
        this.knownPeer(from).attempts = 0
        this.connect(from)
        return
      }
      case 'offer': {
        if (link !== undefined && link.session === s.s) return // the same offer through another hub
        if (link !== undefined && link.offerer && link.state === 'connecting' && this.wins(from)) {
          // glare: both offered at once; the smaller id's offer stands, the other side answers it
          this.logger.debug('ignored a colliding offer', { room: this.roomName, peer: from })
          return
        }
        if (link === undefined && this.atCap()) { this.full(from); return }
        const fresh = new PeerLink(this.linkHost, from, s.s, false)
        this.links.set(from, fresh)
        link?.close('the peer started a new connection')
        this.knownPeer(from)
        await fresh.answer(s.sdp)
        return
      }
      case 'answer':
        if (link !== undefined && link.session === s.s && link.offerer) await link.accept(s.sdp)
        return
      case 'ice':
        if (link !== undefined && link.session === s.s) await link.candidate(s.c)
        return
      case 'full':
        this.knownPeer(from).unreached = true
        if (link !== undefined && link.state === 'connecting') link.close('the peer has no room for another channel')
        this.enterHubSync()
    }
  }

  /** Which offer stands when two collide (perfect negotiation with fixed roles): the smaller peer id's. */
  private wins (peer: string): boolean { return this.peerId < peer }

  private atCap (): boolean {
    let n = 0
    for (const l of this.links.values()) if (l.state !== 'closed') n++
    return n >= this.maxPeers
  }

  private knownPeer (peer: string): KnownPeer {
    let k = this.known.get(peer)
    if (k === undefined) this.known.set(peer, (k = { attempts: 0, retry: undefined, unreached: false }))
    return k
  }

  private full (peer: string): void {
    this.knownPeer(peer).unreached = true
    void this.sendSignal(peer, { t: 'full' })
    this.enterHubSync()
  }

  /** Offerer side: a new connection attempt to `peer`. */
  private connect (peer: string): void {
    if (this.destroyed) return
    const old = this.links.get(peer)
    if (old === undefined && this.atCap()) { this.full(peer); return }
    const link = new PeerLink(this.linkHost, peer, randomHex(8, this.random), true)
    this.links.set(peer, link)
    old?.close('replaced by a new attempt')
    void link.offer()
  }

  // ------------------------------------------------------------ the links

  private linkOpened (link: PeerLink): void {
    if (this.links.get(link.remote) !== link) return
    const k = this.knownPeer(link.remote)
    k.attempts = 0
    this.logger.info('data channel open', { room: this.roomName, peer: link.remote })
    // tell the new peer every presence state we know (it may reach peers we do not)
    const states = [...this.awareness.getStates().keys()]
    if (states.length > 0) link.sync.sendAwareness(encodeAwarenessUpdate(this.awareness, states))
    this.emit('peers', [{ added: [link.remote], removed: [], connected: this.peers }])
    this.updateSynced()
  }

  private linkClosed (link: PeerLink, reason: string): void {
    if (this.links.get(link.remote) === link) this.links.delete(link.remote)
    this.logger.info('data channel closed', { room: this.roomName, peer: link.remote, reason })
    // presence the peer brought over this link goes with it, unless another link still carries it
    const carried = new Set<number>()
    for (const other of this.links.values()) for (const c of other.clients) carried.add(c)
    const gone = [...link.clients].filter(c => !carried.has(c) && c !== this.awareness.clientID)
    if (gone.length > 0 && !this.destroyed) removeAwarenessStates(this.awareness, gone, this)
    if (this.destroyed) return
    if (link.wasOpen) this.emit('peers', [{ added: [], removed: [link.remote], connected: this.peers }])
    this.updateSynced()
    if (!this.links.has(link.remote)) this.scheduleReconnect(link.remote)
  }

  /**
   * Backoff, then offer again (both sides do; if the offers collide, the
   * smaller id's stands); an attempt that gets no answer times out and
   * comes back here. Gives up after `maxReconnectAttempts`.
   */
  private scheduleReconnect (peer: string): void {
    const k = this.knownPeer(peer)
    if (k.retry !== undefined || k.unreached) return
    if (k.attempts >= this.maxAttempts) {
      this.logger.info('giving up on a peer until it announces itself again', { room: this.roomName, peer })
      this.known.delete(peer)
      return
    }
    const delay = backoffDelay(k.attempts++, this.minBackoffMs, this.maxBackoffMs, this.random)
    k.retry = this.clock.setTimeout(() => {
      k.retry = undefined
      if (this.destroyed || this.links.has(peer)) return
      this.connect(peer)
    }, delay)
  }

  private updateSynced (): void {
    if (this.destroyed) return
    const open = [...this.links.values()].filter(l => l.state === 'open')
    const hubRooms = this._hubSync ? this.hubs.filter(h => h.room !== undefined) : []
    const synced = (open.length > 0 || hubRooms.some(h => h.room!.synced)) &&
      open.every(l => l.synced) &&
      (hubRooms.length === 0 || hubRooms.some(h => h.room!.synced))
    if (synced === this._synced) return
    this._synced = synced
    this.emit('synced', [synced])
  }

  // ------------------------------------------------------------- presence

  private readonly onAwarenessUpdate = ({ added, updated, removed }: AwarenessChanges, origin: unknown): void => {
    const id = this.awareness.clientID
    const changed = added.concat(updated, removed)
    // a peer's update may bump our own clock (it saw us leave): answer it at once
    const send = origin === 'local' ? changed : changed.filter(c => c === id)
    if (send.length === 0) return
    const update = encodeAwarenessUpdate(this.awareness, send)
    for (const link of this.links.values()) if (link.state === 'open') link.sync.sendAwareness(update)
    if (this._hubSync) for (const hub of this.hubs) if (hub.room?.synced === true) hub.room.sendAwareness(update)
  }

  private linkAwareness (link: PeerLink, update: Uint8Array): void {
    try {
      for (const e of decodeAwarenessUpdate(update)) {
        if (e.state === null) link.clients.delete(e.clientID)
        else link.clients.add(e.clientID)
      }
      applyAwarenessUpdate(this.awareness, update, link)
    } catch (err) {
      this.logger.warn('dropped a bad awareness update from a peer', { room: this.roomName, peer: link.remote, error: String(err) })
    }
  }

  private remoteAwareness (update: Uint8Array, hub: SignalingHub): void {
    try {
      applyAwarenessUpdate(this.awareness, update, hub)
    } catch (err) {
      this.logger.warn('dropped a bad awareness update from the hub', { url: hub.url, room: this.roomName, error: String(err) })
    }
  }

  private sendAwarenessToHub (hub: SignalingHub, clients: number[]): void {
    if (hub.room?.synced === true && clients.length > 0) hub.room.sendAwareness(encodeAwarenessUpdate(this.awareness, clients))
  }

  // --------------------------------------------------------------- timers

  private scheduleTick (): void {
    this.tickTimer = this.clock.setTimeout(() => {
      this.tickTimer = undefined
      if (this.destroyed) return
      for (const link of this.links.values()) if (link.state === 'open') link.sync.tick()
      this.scheduleTick()
    }, TICK_MS)
  }


  private readonly onDocDestroy = (): void => { this.destroy() }

  /** Tells every peer (and the hub, when syncing through it) that this client's presence is gone. */
  private sendBye (): void {
    const id = this.awareness.clientID
    const bye = encodeAwarenessUpdate(this.awareness, [id], new Map())
    for (const link of this.links.values()) if (link.state === 'open') link.sync.sendAwareness(bye)
    if (this._hubSync) for (const hub of this.hubs) if (hub.room?.synced === true) hub.room.sendAwareness(bye)
  }

  /** The page is going away: peers drop this client's presence now rather than at their timeout. */
  private readonly onPageHide = (): void => { this.sendBye() }
}
