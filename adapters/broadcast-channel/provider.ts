/**
 * {@link BroadcastChannelProvider}: keeps one doc in sync with the same
 * room in the other tabs (and workers) of this origin, over the
 * `BroadcastChannel` named `aegis:<room>`, and shares presence there.
 *
 * @module
 */
import { ObservableV2 } from 'lib0/observable'
import {
  AbortError, InvalidArgumentError, silentLogger, systemClock,
  type Clock, type Doc, type Logger, type TimerHandle
} from 'aegis-replication'
import {
  Awareness, PeerSync, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates,
  type AwarenessChanges
} from 'aegis-replication/sync'
import {
  channelName, DEFAULT_ALONE_AFTER_MS,
  type BroadcastChannelConstructor, type BroadcastChannelLike, type BroadcastChannelProviderOptions
} from './options.js'

/** Events of {@link BroadcastChannelProvider}. */
export interface BroadcastChannelProviderEvents {
  /** `true` once the doc caught up with the other tabs (or it found itself alone); `false` on `disconnect()`. */
  synced: (synced: boolean) => void
}

/** A channel message is never chunked: structured cloning has no small size limit. */
const NO_CHUNKING = 0x7fff_ffff

/** Answering a newcomer's presence waits this long, so a burst of newcomers costs one message. */
const AWARENESS_REPLY_MS = 20

interface PageEvents {
  addEventListener?: (type: string, listener: (event: { persisted?: boolean }) => void) => void
  removeEventListener?: (type: string, listener: (event: { persisted?: boolean }) => void) => void
}

/**
 * Syncs `doc` with room `room` in every other tab and worker of this
 * origin that has a provider for it, with no server: a symmetric
 * {@link PeerSync} session on the channel `aegis:<room>`. A joining tab
 * broadcasts its state vector and its whole state; the tabs already there
 * answer with what it lacks, so it catches up and they get its edits.
 *
 * `synced` turns `true` when the first answer arrives, or after
 * `aloneAfterMs` (100 ms) without one: then no other tab is listening
 * (or none answered in time; a late answer still gets applied).
 */
export class BroadcastChannelProvider extends ObservableV2<BroadcastChannelProviderEvents> {
  /** The room's name; the channel is `aegis:<room>`. */
  readonly roomName: string
  /** The doc kept in sync. */
  readonly doc: Doc
  /** Presence in this room. */
  readonly awareness: Awareness
  /** Resolves once first synced; rejects with `AbortError` if destroyed before. */
  readonly whenSynced: Promise<this>
  private readonly session: PeerSync
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly ownsAwareness: boolean
  private readonly aloneAfterMs: number
  private readonly BroadcastChannel: BroadcastChannelConstructor
  private channel: BroadcastChannelLike | undefined = undefined
  private _synced = false
  private destroyed = false
  private aloneTimer: TimerHandle | undefined = undefined
  private tickTimer: TimerHandle | undefined = undefined
  private replyTimer: TimerHandle | undefined = undefined
  private lastAwarenessCheck = 0
  private resolveSynced!: (p: this) => void
  private rejectSynced!: (err: Error) => void

  /**
   * @throws {InvalidArgumentError} for an empty room name, or when there is
   *   no `BroadcastChannel` to use.
   */
  constructor (room: string, doc: Doc, opts: BroadcastChannelProviderOptions = {}) {
    super()
    if (typeof room !== 'string' || room.length === 0) throw new InvalidArgumentError('a room name must be a non-empty string')
    const BC = opts.BroadcastChannel ?? (globalThis as { BroadcastChannel?: BroadcastChannelConstructor }).BroadcastChannel
    if (typeof BC !== 'function') throw new InvalidArgumentError('this runtime has no global BroadcastChannel: pass one as opts.BroadcastChannel')
    const aloneAfterMs = opts.aloneAfterMs ?? DEFAULT_ALONE_AFTER_MS
    if (!(aloneAfterMs >= 0)) throw new InvalidArgumentError(`aloneAfterMs must be ≥ 0, got ${aloneAfterMs}`)
    this.roomName = room
    this.doc = doc
    this.BroadcastChannel = BC
    this.aloneAfterMs = aloneAfterMs
    this.clock = opts.clock ?? systemClock()
    this.logger = opts.logger ?? silentLogger
    this.ownsAwareness = opts.awareness === undefined
    this.awareness = opts.awareness ?? new Awareness({ now: () => this.clock.now() })
    this.session = new PeerSync({
      room,
      doc,
      send: frame => this.channel?.postMessage(frame),
      maxFrameBytes: NO_CHUNKING,
      announceState: true,
      resyncEveryMs: opts.resyncEveryMs ?? 10_000,
      now: () => this.clock.now(),
      logger: this.logger
    })
    this.session.on('synced', () => this.setSynced(true))
    this.session.on('awareness', update => this.remoteAwareness(update))
    this.whenSynced = new Promise<this>((resolve, reject) => { this.resolveSynced = resolve; this.rejectSynced = reject })
    this.whenSynced.catch(() => {}) // destroying a provider nobody awaited is not an error
    this.awareness.on('update', this.onAwarenessUpdate)
    doc.on('destroy', this.onDocDestroy)
    const page = globalThis as PageEvents
    page.addEventListener?.('pagehide', this.onPageHide)
    page.addEventListener?.('pageshow', this.onPageShow)
    if (opts.connect ?? true) this.connect()
  }

  /** Whether the doc caught up with the other tabs (or found none). */
  get synced (): boolean { return this._synced }

  /** Whether the provider is on the channel (between `connect()` and `disconnect()`). */
  get connected (): boolean { return this.channel !== undefined }

  /** Joins the channel and runs the handshake; a no-op if already connected. */
  connect (): void {
    if (this.destroyed || this.channel !== undefined) return
    const channel = new this.BroadcastChannel(channelName(this.roomName))
    channel.onmessage = this.onMessage
    this.channel = channel
    this.session.start()
    this.announce()
    this.aloneTimer = this.clock.setTimeout(() => {
      this.aloneTimer = undefined
      this.setSynced(true)
    }, this.aloneAfterMs)
    this.scheduleTick()
  }

  /**
   * Leaves the channel: other tabs see this client's presence go, and their
   * states are dropped here. Local edits made meanwhile go out on `connect()`.
   */
  disconnect (): void {
    const channel = this.channel
    if (channel === undefined) return
    this.session.sendAwareness(encodeAwarenessUpdate(this.awareness, [this.awareness.clientID], new Map()))
    this.leave()
    const remote = [...this.awareness.getStates().keys()].filter(id => id !== this.awareness.clientID)
    removeAwarenessStates(this.awareness, remote, this)
  }

  /** Removes the local presence state (other tabs see it go) and closes the channel. */
  override destroy (): void {
    if (this.destroyed) return
    const page = globalThis as PageEvents
    page.removeEventListener?.('pagehide', this.onPageHide)
    page.removeEventListener?.('pageshow', this.onPageShow)
    this.awareness.off('update', this.onAwarenessUpdate)
    const id = this.awareness.clientID
    removeAwarenessStates(this.awareness, [id], this)
    if (this.channel !== undefined) {
      this.session.sendAwareness(encodeAwarenessUpdate(this.awareness, [id]))
      this.leave()
    }
    this.destroyed = true
    this.session.destroy()
    this.doc.off('destroy', this.onDocDestroy)
    if (this.ownsAwareness) this.awareness.destroy()
    if (!this._synced) this.rejectSynced(new AbortError('the provider was destroyed before it synced'))
    super.destroy()
  }

  private leave (): void {
    for (const t of [this.aloneTimer, this.tickTimer, this.replyTimer]) if (t !== undefined) this.clock.clearTimeout(t)
    this.aloneTimer = this.tickTimer = this.replyTimer = undefined
    this.session.stop()
    this.channel!.onmessage = null
    this.channel!.close()
    this.channel = undefined
    this.setSynced(false)
  }

  private setSynced (synced: boolean): void {
    if (synced && this.aloneTimer !== undefined) {
      this.clock.clearTimeout(this.aloneTimer)
      this.aloneTimer = undefined
    }
    if (this._synced === synced) return
    this._synced = synced
    if (synced) this.resolveSynced(this)
    this.emit('synced', [synced])
  }

  private readonly onMessage = (event: { data: unknown }): void => {
    const data = event.data
    const frame = data instanceof Uint8Array ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : undefined
    if (frame === undefined) {
      this.logger.warn('dropped a channel message that is not bytes', { room: this.roomName, kind: typeof data })
      return
    }
    try {
      this.session.receive(frame)
    } catch (err) {
      this.logger.warn('dropped a bad frame from another tab', { room: this.roomName, error: String(err) })
    }
  }

  /** Anti-entropy and awareness timeouts. */
  private scheduleTick (): void {
    const every = Math.min(1000, this.awareness.timeoutMs / 10)
    this.tickTimer = this.clock.setTimeout(() => {
      this.tickTimer = undefined
      if (this.channel === undefined) return
      this.session.tick()
      const now = this.clock.now()
      if (now - this.lastAwarenessCheck >= this.awareness.timeoutMs / 10) {
        this.lastAwarenessCheck = now
        this.awareness.checkTimeouts()
      }
      this.scheduleTick()
    }, every)
  }

  /**
   * Announces the local state with a fresh clock: a state at clock 0 is
   * ignored by peers that do not know the client yet, and the answers to
   * this announcement are how a newcomer learns the others' states.
   */
  private announce (): void {
    const local = this.awareness.getLocalState()
    if (local !== null) this.awareness.setLocalState(local)
  }

  private readonly onAwarenessUpdate = ({ added, updated, removed }: AwarenessChanges, origin: unknown): void => {
    if (this.channel === undefined) return
    const id = this.awareness.clientID
    const changed = added.concat(updated, removed)
    // a peer's update may bump our own clock (it saw us leave): answer it at once
    const send = origin === 'local' ? changed : changed.filter(c => c === id)
    if (send.length > 0) this.session.sendAwareness(encodeAwarenessUpdate(this.awareness, send))
  }

  private remoteAwareness (update: Uint8Array): void {
    let newcomer = false
    const onChange = ({ added }: AwarenessChanges): void => { if (added.length > 0) newcomer = true }
    this.awareness.on('update', onChange)
    try {
      applyAwarenessUpdate(this.awareness, update, this)
    } catch (err) {
      this.logger.warn('dropped a bad awareness update', { room: this.roomName, error: String(err) })
    } finally {
      this.awareness.off('update', onChange)
    }
    // a tab we did not know: tell it who we are (each tab answers for itself)
    if (newcomer && this.replyTimer === undefined && this.awareness.getLocalState() !== null) {
      this.replyTimer = this.clock.setTimeout(() => {
        this.replyTimer = undefined
        if (this.channel !== undefined) this.session.sendAwareness(encodeAwarenessUpdate(this.awareness, [this.awareness.clientID]))
      }, AWARENESS_REPLY_MS)
    }
  }

  private readonly onDocDestroy = (): void => { this.destroy() }

  /** The page is going away (or into the back-forward cache): tell the other tabs now. */
  private readonly onPageHide = (): void => {
    if (this.channel !== undefined) this.session.sendAwareness(encodeAwarenessUpdate(this.awareness, [this.awareness.clientID], new Map()))
  }

  /** Back from the back-forward cache: catch up on what was missed and re-announce. */
  private readonly onPageShow = (event: { persisted?: boolean }): void => {
    if (event.persisted !== true || this.channel === undefined) return
    this.session.start()
    this.announce()
  }
}
