/**
 * {@link WebSocketProvider}: keeps one doc in sync with a room on a hub,
 * over a socket shared with every other room on the same URL, and shares
 * presence (awareness) in that room.
 *
 * @module
 */
import { ObservableV2 } from 'lib0/observable'
import {
  AbortError, InvalidArgumentError, silentLogger, systemClock, systemRandom,
  type Clock, type Doc, type Logger, type TimerHandle
} from 'aegis-replication'
import {
  Access, Awareness, ErrorCode, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates, watchAwarenessTimeouts,
  type AwarenessChanges, type ClientRoom, type TokenSource
} from 'aegis-replication/sync'
import { RaftKv } from 'aegis-replication/raft'
import { joinConnection, type ConnectionMember, type HubConnection } from './connection.js'
import type { ProviderStatus, RoomError, WebSocketConstructor, WebSocketProviderOptions } from './options.js'

/** Events of {@link WebSocketProvider}. */
export interface WebSocketProviderEvents {
  /** The connection to the hub changed state. */
  status: (status: ProviderStatus) => void
  /** `true` once the doc and the hub's copy hold the same; `false` when that ends (offline). */
  synced: (synced: boolean) => void
  /** The number of local updates the hub has not acknowledged changed. */
  pending: (pending: number) => void
  /**
   * The hub refused something in this room: `code` 4403 is denied, 4401
   * token expired (or the token function failed: see `cause`), 4405 read-only.
   */
  error: (err: RoomError) => void
}

/**
 * Delay before answering a newcomer's presence with ours, so that a burst
 * of newcomers (or the answers a newcomer gets) costs one message.
 */

interface PageEvents {
  addEventListener?: (type: string, listener: (event: { persisted?: boolean }) => void) => void
  removeEventListener?: (type: string, listener: (event: { persisted?: boolean }) => void) => void
}

/**
 * Syncs `doc` with room `room` on the hub at `url`, reconnecting with
 * backoff. Rooms to one URL share one socket. See the package docs.
 */
export class WebSocketProvider extends ObservableV2<WebSocketProviderEvents> implements ConnectionMember {
  /** The hub's URL. */
  readonly url: string
  /** The room's name on the hub. */
  readonly roomName: string
  /** The doc kept in sync. */
  readonly doc: Doc
  /** Presence in this room. */
  readonly awareness: Awareness
  /** Resolves once first synced; rejects with `AbortError` if destroyed before. */
  readonly whenSynced: Promise<this>
  private readonly token: TokenSource
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly ownsAwareness: boolean
  private readonly conn: HubConnection
  private _room: ClientRoom | undefined = undefined
  private _status: ProviderStatus = 'disconnected'
  private _synced = false
  private destroyed = false
  /** Local updates made while the room was not on the connection (disconnect()ed, or before connect()). */
  private carried = 0
  private readOnly = false
  private lastPending = 0
  private pendingQueued = false
  private stopAwarenessWatch: () => void = () => {}
  private readonly persistence: { flush (): Promise<unknown> } | undefined
  private readonly heldEveryMs: number
  private heldTimer: TimerHandle | undefined = undefined
  private resolveSynced!: (p: this) => void
  private rejectSynced!: (err: Error) => void

  /**
   * @throws {InvalidArgumentError} for a bad URL or room name, when there is
   *   no `WebSocket` to use, or when a provider for this room and URL exists.
   */
  constructor (url: string, room: string, doc: Doc, opts: WebSocketProviderOptions = {}) {
    super()
    try {
      void new URL(url)
    } catch {
      throw new InvalidArgumentError(`not a URL: ${JSON.stringify(url)}`)
    }
    if (typeof room !== 'string' || room.length === 0) throw new InvalidArgumentError('a room name must be a non-empty string')
    const WebSocket = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    if (typeof WebSocket !== 'function') {
      throw new InvalidArgumentError('this runtime has no global WebSocket: pass one as opts.WebSocket (in Node, the `ws` package)')
    }
    const minBackoffMs = opts.minBackoffMs ?? 250
    const maxBackoffMs = opts.maxBackoffMs ?? 30_000
    const tickMs = opts.tickMs ?? 1000
    if (!(minBackoffMs > 0) || !(maxBackoffMs >= minBackoffMs)) {
      throw new InvalidArgumentError(`need 0 < minBackoffMs ≤ maxBackoffMs, got ${minBackoffMs} and ${maxBackoffMs}`)
    }
    if (!(tickMs > 0)) throw new InvalidArgumentError(`tickMs must be positive, got ${tickMs}`)
    this.url = url
    this.roomName = room
    this.doc = doc
    this.token = opts.token ?? ''
    this.clock = opts.clock ?? systemClock()
    this.logger = opts.logger ?? silentLogger
    this.conn = joinConnection(url, WebSocket, {
      clock: this.clock,
      random: opts.random ?? systemRandom(),
      logger: this.logger,
      minBackoffMs,
      maxBackoffMs,
      maxFrameBytes: opts.maxFrameBytes,
      tickMs
    }, this)
    this.persistence = opts.persistence
    this.heldEveryMs = opts.heldEveryMs ?? 1000
    this.ownsAwareness = opts.awareness === undefined
    this.awareness = opts.awareness ?? new Awareness({ now: () => this.clock.now() })
    this.whenSynced = new Promise<this>((resolve, reject) => { this.resolveSynced = resolve; this.rejectSynced = reject })
    this.whenSynced.catch(() => {}) // destroying a provider nobody awaited is not an error
    this.awareness.on('update', this.onAwarenessUpdate)
    doc.on('update', this.onDocUpdate)
    doc.on('destroy', this.onDocDestroy)
    const page = globalThis as PageEvents
    page.addEventListener?.('pagehide', this.onPageHide)
    page.addEventListener?.('pageshow', this.onPageShow)
    this.stopAwarenessWatch = watchAwarenessTimeouts(this.awareness, this.clock)
    if (opts.connect ?? true) this.connect()
  }

  /** The connection's state; `'disconnected'` after `disconnect()`. */
  get status (): ProviderStatus { return this._status }

  /** Whether the doc holds what the hub's copy holds (and the other way round). */
  get synced (): boolean { return this._synced }

  /** Local updates the hub has not acknowledged as durable (edits made offline included). */
  get pending (): number { return this.carried + (this._room?.pending ?? 0) }

  /** Whether the provider wants to be online (between `connect()` and `disconnect()`). */
  get shouldConnect (): boolean { return this._room !== undefined }

  /**
   * The hubs' Raft KV, over this provider's connection: linearizable
   * `get`/`put`/`delete`/`cas`/`range` for what CRDTs cannot do (claim a
   * unique name, take the last seat). The hub must run a Raft group
   * (`aegis-hub --id n1 [--peers …]`); a follower hub forwards to the
   * leader. Requests wait while the socket is down and are sent again on
   * reconnect with the same session, so a write applies once; they fail
   * with `KvRequestError` when refused and `TimeoutError` after 10 s
   * connected without an answer. `auth(token, '@kv')` decides access.
   */
  get kv (): RaftKv {
    this._kv ??= new RaftKv({
      propose: async (cmd) => await this.conn.client.kv(cmd, this.token),
      read: async (query) => await this.conn.client.kv(query, this.token)
    })
    return this._kv
  }

  private _kv: RaftKv | undefined

  /** @internal the room on the shared sync client, while connected */
  get room (): ClientRoom | undefined { return this._room }

  /** Joins the room, opening the shared socket if needed; a no-op if already connecting or connected. */
  connect (): void {
    if (this.destroyed || this._room !== undefined) return
    const room = this.conn.client.addRoom(this.roomName, this.doc, { token: this.token, access: Access.Write })
    this._room = room
    room.on('status', (status) => { if (status !== 'synced') this.setSynced(false) })
    room.on('synced', () => {
      this.carried = 0
      this.setSynced(true)
      this.announce()
      this.scheduleHeld()
    })
    room.on('pending', () => this.queuePending())
    room.on('error', (err) => this.roomError(err))
    room.on('awareness', (update) => this.remoteAwareness(update))
    this.conn.activated()
    this.connectionStatus()
  }

  /**
   * Leaves the room and stays offline until `connect()`; the shared socket
   * closes if no other room uses it. Peers see this client's presence go,
   * and the peers' states are dropped here. Local edits keep counting in
   * `pending` and go out on `connect()`.
   *
   * (When the connection drops by itself, peers' states are kept until
   * they time out: the hub keeps no presence, so after a short outage they
   * would not be sent again before their next renewal.)
   */
  disconnect (): void {
    const room = this._room
    if (room === undefined) return
    if (room.synced) room.sendAwareness(encodeAwarenessUpdate(this.awareness, [this.awareness.clientID], new Map()))
    this.leave()
    const remote = [...this.awareness.getStates().keys()].filter(id => id !== this.awareness.clientID)
    removeAwarenessStates(this.awareness, remote, this)
    this.conn.update()
    this.connectionStatus()
  }

  /**
   * Removes the local presence state (peers see it go), leaves the room,
   * and closes the shared socket if this was its last provider.
   */
  override destroy (): void {
    if (this.destroyed) return
    this.destroyed = true
    this.stopAwarenessWatch()
    if (this.heldTimer !== undefined) this.clock.clearTimeout(this.heldTimer)
    const page = globalThis as PageEvents
    page.removeEventListener?.('pagehide', this.onPageHide)
    page.removeEventListener?.('pageshow', this.onPageShow)
    this.awareness.off('update', this.onAwarenessUpdate)
    const id = this.awareness.clientID
    const room = this._room
    removeAwarenessStates(this.awareness, [id], this)
    if (room?.synced === true) room.sendAwareness(encodeAwarenessUpdate(this.awareness, [id]))
    if (room !== undefined) this.leave()
    this.conn.remove(this)
    this.doc.off('update', this.onDocUpdate)
    this.doc.off('destroy', this.onDocDestroy)
    if (this.ownsAwareness) this.awareness.destroy()
    if (!this._synced) this.rejectSynced(new AbortError('the provider was destroyed before it synced'))
    this._status = 'disconnected'
    super.destroy()
  }

  /** @internal */
  connectionStatus (): void {
    const status: ProviderStatus = this._room === undefined ? 'disconnected' : this.conn.status
    if (status === this._status) return
    this._status = status
    this.emit('status', [status])
  }

  /** @internal */
  connectionDenied (err: RoomError): void {
    this.emit('error', [err])
  }

  /** Takes the room off the shared client; what it had not got acknowledged carries over. */
  private leave (): void {
    const room = this._room!
    this.carried += room.pending
    this.readOnly = room.access === Access.Read
    this._room = undefined
    this.conn.client.removeRoom(this.roomName)
    this.setSynced(false)
    this.queuePending()
  }

  private roomError (err: RoomError): void {
    // refused for good (a fixed token denied or expired) or read-only: the hub will not take our updates
    const final = this._room?.status === 'denied'
    if (err.code === ErrorCode.ReadOnly || final) {
      this.carried = 0
      this.queuePending()
    }
    const retrying = this._room?.status === 'retrying'
    this.logger.warn(retrying ? 'the hub refused the room for now; retrying with a fresh token' : 'the hub refused a request', {
      url: this.url, room: this.roomName, code: err.code, reason: err.reason, ...(err.cause === undefined ? {} : { cause: String(err.cause) })
    })
    this.emit('error', [err])
    if (final) this.conn.roomDenied()
  }

  private setSynced (synced: boolean): void {
    if (this._synced === synced) return
    this._synced = synced
    if (synced) this.resolveSynced(this)
    this.emit('synced', [synced])
  }

  /** Emits `pending` once per microtask, only when it changed. */
  private queuePending (): void {
    if (this.pendingQueued) return
    this.pendingQueued = true
    queueMicrotask(() => {
      this.pendingQueued = false
      if (this.destroyed) return
      const pending = this.pending
      if (pending === this.lastPending) return
      this.lastPending = pending
      this.emit('pending', [pending])
    })
  }

  private readonly onDocUpdate = (_update: Uint8Array, _origin: unknown): void => {
    this.scheduleHeld()
    // while the room is on the client, it counts local updates itself
    if (this._room !== undefined || this.readOnly) return
    this.carried++
    this.queuePending()
  }

  private readonly onDocDestroy = (): void => { this.destroy() }

  /** With a persistence: once it flushed, tell the hub what is durable here (at most every heldEveryMs). */
  private scheduleHeld (): void {
    const persistence = this.persistence
    if (persistence === undefined || this.heldTimer !== undefined || this.destroyed) return
    this.heldTimer = this.clock.setTimeout(() => {
      this.heldTimer = undefined
      const sv = this.doc.encodeStateVector() // what the flush below covers
      persistence.flush().then(() => this._room?.reportHeld(sv), (err: unknown) => {
        this.logger.warn('persistence flush failed; not reporting what is held', { room: this.roomName, error: String(err) })
      })
    }, this.heldEveryMs)
  }

  /** Re-announces the local state with a fresh clock, so peers that dropped it take it again. */
  private announce (): void {
    const local = this.awareness.getLocalState()
    // a pristine {} at clock 0 is nothing to announce (peers ignore it, as in y-protocols)
    const pristine = local !== null && Object.keys(local).length === 0 && (this.awareness.meta.get(this.awareness.clientID)?.clock ?? 0) === 0
    if (local !== null && !pristine && this._room?.synced === true) this.awareness.setLocalState(local)
  }

  private readonly onAwarenessUpdate = ({ added, updated, removed }: AwarenessChanges, origin: unknown): void => {
    const room = this._room
    if (room === undefined || !room.synced) return
    const id = this.awareness.clientID
    const changed = added.concat(updated, removed)
    // a peer's update may bump our own clock (it saw us leave): answer it at once
    const send = origin === 'local' ? changed : changed.filter(c => c === id)
    if (send.length > 0) room.sendAwareness(encodeAwarenessUpdate(this.awareness, send))
  }

  private remoteAwareness (update: Uint8Array): void {
    // the hub keeps the room's presence and hands it to newcomers, so no reply is needed here
    try {
      applyAwarenessUpdate(this.awareness, update, this)
    } catch (err) {
      this.logger.warn('dropped a bad awareness update', { url: this.url, room: this.roomName, error: String(err) })
    }
  }


  /** The page is going away (or into the back-forward cache): tell peers now rather than at their timeout. */
  private readonly onPageHide = (): void => {
    const room = this._room
    if (room?.synced === true) room.sendAwareness(encodeAwarenessUpdate(this.awareness, [this.awareness.clientID], new Map()))
  }

  private readonly onPageShow = (event: { persisted?: boolean }): void => {
    if (event.persisted === true) this.announce()
  }
}
