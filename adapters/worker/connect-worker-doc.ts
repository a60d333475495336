/**
 * The page's side: {@link connectWorkerDoc} gives a page a local `Doc` kept
 * in sync with the doc a (Shared)Worker hosts, so reads stay synchronous,
 * while one worker holds the socket and the IndexedDB writer for every tab.
 *
 * @module
 */
import * as Comlink from 'comlink'
import { ObservableV2 } from 'lib0/observable'
import {
  AbortError, Doc, InvalidArgumentError, silentLogger, systemClock, type Logger
} from 'aegis-replication'
import {
  Awareness, applyAwarenessUpdate, watchAwarenessTimeouts, encodeAwarenessUpdate, KvRequestError, removeAwarenessStates, type AwarenessChanges
} from 'aegis-replication/sync'
import { RaftKv } from 'aegis-replication/raft'
import { BroadcastChannelProvider } from 'aegis-replication/broadcast-channel'
import { globalLocks, holdLock, LeaderElection } from './locks.js'
import type { ConnectWorkerDocOptions, RoomStatus, WorkerDocMode } from './options.js'
import { PortSession } from './port-session.js'
import { RoomBackend } from './room-backend.js'
import type { WorkerDocService } from './expose-doc.js'
import { WebRTCBridge } from './webrtc-bridge.js'

/** Events of {@link WorkerDoc}. */
export interface WorkerDocEvents {
  /** `true` once the local doc holds the shared doc's state. */
  synced: (synced: boolean) => void
  /**
   * This tab became (`true`) or stopped being (`false`) a leader: `'webrtc'`
   * runs the room's WebRTC provider, `'storage'` (leader-tab mode) runs the
   * IndexedDB persistence and the WebSocket provider.
   */
  leader: (role: 'webrtc' | 'storage', leader: boolean) => void
}

interface WorkerHandle {
  endpoint: Comlink.Endpoint
  terminate?: () => void
}

const randomId = (): string => {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto
  return c?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
}

const hasSharedWorker = (): boolean => typeof (globalThis as { SharedWorker?: unknown }).SharedWorker === 'function'

/**
 * A page's connection to a shared doc; see {@link connectWorkerDoc}.
 * `doc` is an ordinary local `Doc`: read it synchronously, edit it, listen
 * to its events; edits reach the worker (and through it the other tabs,
 * IndexedDB and the hub) as they happen.
 */
export class WorkerDoc extends ObservableV2<WorkerDocEvents> {
  readonly room: string
  /** The local doc. */
  readonly doc: Doc
  /** This page's presence (relayed to the other tabs and the hub). */
  readonly awareness: Awareness
  /** How this page reaches the shared doc. */
  readonly mode: WorkerDocMode
  /** Resolves once the local doc holds the shared doc's state (what the worker loaded from IndexedDB included). */
  readonly whenSynced: Promise<this>
  private readonly logger: Logger
  private readonly ownsAwareness: boolean
  private readonly clock = systemClock()
  private _synced = false
  private destroyed = false
  private resolveSynced!: (p: this) => void
  private rejectSynced!: (err: Error) => void
  private stopAwarenessWatch: () => void = () => {}
  private webrtc: WebRTCBridge | undefined = undefined
  // worker modes
  private remote: Comlink.Remote<WorkerDocService> | undefined = undefined
  private worker: WorkerHandle | undefined = undefined
  private session: PortSession | undefined = undefined
  private pageLock: string | undefined = undefined
  private releaseLock: (() => void) | undefined = undefined
  // leader-tab mode
  private tabs: BroadcastChannelProvider | undefined = undefined
  private election: LeaderElection | undefined = undefined
  private backend: RoomBackend | undefined = undefined

  /** @internal use {@link connectWorkerDoc} */
  constructor (url: string | URL, room: string, opts: ConnectWorkerDocOptions) {
    super()
    if (typeof room !== 'string' || room.length === 0) throw new InvalidArgumentError('a room name must be a non-empty string')
    this.room = room
    this.doc = opts.doc ?? new Doc()
    this.logger = opts.logger ?? silentLogger
    this.ownsAwareness = opts.awareness === undefined
    this.awareness = opts.awareness ?? new Awareness()
    const mode = opts.mode ?? 'auto'
    this.mode = mode === 'auto' ? (hasSharedWorker() ? 'shared-worker' : 'leader-tab') : mode
    this.whenSynced = new Promise<this>((resolve, reject) => { this.resolveSynced = resolve; this.rejectSynced = reject })
    this.whenSynced.catch(() => {})
    const locks = globalLocks()
    if (this.mode === 'leader-tab') this.startLeaderTab(opts)
    else this.startWorker(url, opts)
    if (opts.webrtc !== undefined) {
      if (locks === undefined) this.logger.warn('no Web Locks here: WebRTC is off', { room })
      else this.webrtc = new WebRTCBridge(room, this.doc, opts.webrtc, locks, leader => this.emit('leader', ['webrtc', leader]), this.logger)
    }
  }

  /** Whether the local doc holds the shared doc's state. */
  get synced (): boolean { return this._synced }

  /** Whether this tab runs the room's WebRTC provider. */
  get isWebRTCLeader (): boolean { return this.webrtc?.isLeader ?? false }

  /** Leader-tab mode: whether this tab runs the IndexedDB persistence and WebSocket provider. */
  get isStorageLeader (): boolean { return this.backend !== undefined }

  /**
   * Resolves once every change of the local doc so far is stored in
   * IndexedDB (by the worker, or by this tab when it leads; a leader-tab
   * page that does not lead resolves at once).
   */
  async flush (): Promise<void> {
    if (this.remote !== undefined) {
      await this.remote.flush(this.room, this.doc.version().encode())
      return
    }
    await this.backend?.persistence?.flush()
  }

  /**
   * The hubs' Raft KV (see `WebSocketProvider.kv`), over the worker's hub
   * connection (or the leading tab's own, in leader-tab mode). A tab that
   * does not lead in leader-tab mode has no hub connection: its calls fail
   * with `KvRequestError`; open a `WebSocketProvider` there for KV calls.
   */
  get kv (): RaftKv {
    this._kv ??= new RaftKv({ propose: async (cmd) => await this.kvCall(cmd), read: async (q) => await this.kvCall(q) })
    return this._kv
  }

  private _kv: RaftKv | undefined

  private async kvCall (command: Uint8Array): Promise<Uint8Array> {
    if (this.remote !== undefined) return await this.remote.kv(this.room, command)
    const provider = this.backend?.provider
    if (provider === undefined) throw new KvRequestError('this tab has no hub connection (leader-tab mode, not the leader, or no url): open a WebSocketProvider for KV calls')
    return await provider.kv.node.propose(command)
  }

  /** The shared doc's hub connection, as the worker (or the leading tab) sees it. */
  async status (): Promise<RoomStatus> {
    if (this.remote !== undefined) return await this.remote.status(this.room)
    const pages = 0
    if (this.backend === undefined) return { status: 'disconnected', synced: false, pending: 0, pages, json: this.doc.toJSON() }
    return { ...this.backend.status(), pages, json: this.doc.toJSON() }
  }

  /**
   * Leaves: removes this page's presence, ends the session with the worker
   * (a dedicated worker is terminated once it stored what it has), gives
   * up any leadership (another tab takes over). The local doc stays usable.
   */
  override destroy (): void {
    if (this.destroyed) return
    this.destroyed = true
    this.stopAwarenessWatch()
    this.webrtc?.destroy()
    this.awareness.off('update', this.onAwarenessUpdate)
    const id = this.awareness.clientID
    removeAwarenessStates(this.awareness, [id], this)
    const session = this.session
    if (session !== undefined) {
      session.session.sendAwareness(encodeAwarenessUpdate(this.awareness, [id]))
      session.close()
    }
    const remote = this.remote
    if (remote !== undefined) {
      const done = (): void => {
        this.releaseLock?.()
        remote[Comlink.releaseProxy]()
        this.worker?.terminate?.()
      }
      // a dedicated worker dies with this page: let it store what it has first
      const leaving = this.mode === 'worker'
        ? remote.flush(this.room, this.doc.version().encode()).finally(() => remote.leave(this.room, this.pageLock!))
        : remote.leave(this.room, this.pageLock!)
      leaving.then(done, done)
    }
    this.tabs?.destroy()
    this.election?.resign()
    if (this.ownsAwareness) this.awareness.destroy()
    if (!this._synced) this.rejectSynced(new AbortError('destroyed before it synced'))
    super.destroy()
  }

  private setSynced (synced: boolean): void {
    if (this._synced === synced || this.destroyed) return
    this._synced = synced
    if (synced) this.resolveSynced(this)
    this.emit('synced', [synced])
  }

  private startWorker (url: string | URL, opts: ConnectWorkerDocOptions): void {
    const name = opts.name ?? 'aegis'
    const g = globalThis as unknown as {
      SharedWorker?: new (url: string | URL, o: WorkerOptions) => { port: MessagePort }
      Worker?: new (url: string | URL, o: WorkerOptions) => Worker
    }
    // a script that fails to load or throws at start: whenSynced rejects rather than waiting forever
    const failed = (event: { message?: string }): void => {
      const message = `the worker script ${String(url)} failed${event.message === undefined ? '' : `: ${event.message}`}`
      this.logger.error(message, { room: this.room })
      if (!this._synced) this.rejectSynced(new Error(message))
    }
    if (this.mode === 'shared-worker') {
      if (g.SharedWorker === undefined) throw new InvalidArgumentError('this runtime has no SharedWorker: use mode \'auto\' or \'leader-tab\'')
      const w = new g.SharedWorker(url, { type: 'module', name }) as { port: MessagePort, onerror?: ((e: { message?: string }) => void) | null }
      w.onerror = failed
      this.worker = { endpoint: w.port, terminate: () => w.port.close() }
    } else {
      if (g.Worker === undefined) throw new InvalidArgumentError('this runtime has no Worker')
      const w = new g.Worker(url, { type: 'module', name })
      w.onerror = failed
      this.worker = { endpoint: w, terminate: () => w.terminate() }
    }
    const remote = Comlink.wrap<WorkerDocService>(this.worker.endpoint)
    this.remote = remote
    const { port1, port2 } = new MessageChannel()
    const session = new PortSession(port1, this.room, this.doc, this.logger)
    this.session = session
    session.session.on('synced', () => this.setSynced(true))
    session.session.on('awareness', update => this.remoteAwareness(update))
    this.awareness.on('update', this.onAwarenessUpdate)
    const pageLock = `aegis-page:${randomId()}`
    this.pageLock = pageLock
    const locks = globalLocks()
    // hold a lock of our own first: the worker learns we left when it is released
    const held = locks === undefined ? Promise.resolve(undefined) : holdLock(locks, pageLock)
    held.then(release => {
      if (this.destroyed) { release?.(); return }
      this.releaseLock = release
      return remote.open(this.room, Comlink.transfer(port2, [port2]), pageLock)
    }).catch((err: unknown) => {
      this.logger.error('could not open the room in the worker', { room: this.room, error: String(err) })
    })
    session.start()
    this.announce()
    this.stopAwarenessWatch()
    this.stopAwarenessWatch = watchAwarenessTimeouts(this.awareness, this.clock)
  }

  private startLeaderTab (opts: ConnectWorkerDocOptions): void {
    const tabs = new BroadcastChannelProvider(this.room, this.doc, { awareness: this.awareness, logger: this.logger })
    this.tabs = tabs
    const locks = globalLocks()
    const lead = (leader: boolean): void => {
      if (leader) {
        this.backend = new RoomBackend(this.room, this.doc, this.awareness, { ...opts.fallback, logger: this.logger })
      } else {
        void this.backend?.destroy()
        this.backend = undefined
      }
      this.emit('leader', ['storage', leader])
    }
    if (locks === undefined) lead(true) // no Web Locks: every tab keeps its own copy
    else this.election = new LeaderElection(`aegis-leader:${this.room}`, locks, lead, this.logger)
    tabs.whenSynced.then(async () => {
      await this.backend?.ready
      this.setSynced(true)
    }, () => {})
  }

  /** Announces the local state with a fresh clock, so the worker and the other tabs take it. */
  private announce (): void {
    const local = this.awareness.getLocalState()
    if (local !== null) this.awareness.setLocalState(local)
  }


  private readonly onAwarenessUpdate = ({ added, updated, removed }: AwarenessChanges, origin: unknown): void => {
    const id = this.awareness.clientID
    const changed = added.concat(updated, removed)
    const send = origin === 'local' ? changed : changed.filter(c => c === id)
    if (send.length > 0) this.session?.session.sendAwareness(encodeAwarenessUpdate(this.awareness, send))
  }

  private remoteAwareness (update: Uint8Array): void {
    try {
      applyAwarenessUpdate(this.awareness, update, this)
    } catch (err) {
      this.logger.warn('dropped a bad awareness update from the worker', { room: this.room, error: String(err) })
    }
  }
}

/**
 * Connects this page to the doc of `room` hosted by the worker script at
 * `url` (which calls `exposeDoc`), and returns a {@link WorkerDoc} whose
 * `doc` is a local copy kept in sync over a `MessagePort`.
 *
 * Where there is no `SharedWorker` (mode `'auto'`), the tabs elect a leader
 * with the Web Lock `aegis-leader:<room>`; it runs `opts.fallback`
 * (IndexedDB + WebSocket) on its own doc, and every tab shares the doc
 * with `BroadcastChannelProvider`. With `opts.webrtc`, one tab (the Web
 * Lock `aegis-webrtc:<room>`) runs a `WebRTCProvider` on its local doc.
 *
 * @throws {InvalidArgumentError} for an empty room name, or a `mode` this
 *   runtime cannot do
 */
export const connectWorkerDoc = (url: string | URL, room: string, opts: ConnectWorkerDocOptions = {}): WorkerDoc =>
  new WorkerDoc(url, room, opts)
