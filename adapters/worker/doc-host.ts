/**
 * {@link DocHost}: the worker's side. Per room it owns one `Doc` with its
 * IndexedDB persistence and WebSocket provider, and one {@link PortSession}
 * per page; it relays presence between the pages and the hub.
 *
 * @module
 */
import {
  Doc, InvalidArgumentError, Ordering, TimeoutError, VectorClock, silentLogger, systemClock,
  type Clock, type Logger, type TimerHandle
} from 'aegis-replication'
import {
  Awareness, applyAwarenessUpdate, decodeAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates, watchAwarenessTimeouts,
  type AwarenessChanges
} from 'aegis-replication/sync'
import type { ExposeDocOptions, PortLike, RoomStatus } from './options.js'
import { PortSession } from './port-session.js'
import { RoomBackend } from './room-backend.js'
import { globalLocks, type LockManagerLike } from './locks.js'

interface HostedRoom {
  name: string
  doc: Doc
  awareness: Awareness
  backend: RoomBackend
  /** Each page's session and the awareness client ids it owns. */
  pages: Map<PortSession, Set<number>>
  /** The sessions opened with a page lock, by lock name. */
  byLock: Map<string, PortSession>
  idleTimer: TimerHandle | undefined
  /** Set while closing: a page that opens the room meanwhile waits, then gets a new one. */
  closing: Promise<void> | undefined
  unsubscribe: () => void
}

/** Default of {@link ExposeDocOptions.idleMs}. */
export const DEFAULT_IDLE_MS = 5_000

/** How long `flush()` waits for the page's changes to reach the worker's doc. */
const FLUSH_WAIT_MS = 10_000

/**
 * Hosts the docs of a worker; `exposeDoc` wires it to pages with comlink.
 * Usable on its own with any `MessagePort` (tests run it in Node).
 */
export class DocHost {
  readonly options: ExposeDocOptions
  private readonly rooms = new Map<string, HostedRoom>()
  private readonly logger: Logger
  private readonly clock: Clock
  private readonly locks: LockManagerLike | undefined
  private closed = false

  constructor (options: ExposeDocOptions = {}, components: { clock?: Clock, locks?: LockManagerLike } = {}) {
    this.options = options
    this.logger = options.logger ?? silentLogger
    this.clock = components.clock ?? systemClock()
    this.locks = components.locks ?? globalLocks()
  }

  /** Room names open now. */
  get roomNames (): string[] { return [...this.rooms.keys()] }

  /** The worker's doc of a room, if open. */
  doc (room: string): Doc | undefined { return this.rooms.get(room)?.doc }

  /**
   * Connects a page to `room` over `port` (the page runs a `PortSession`
   * on the other end). The session starts once the room's stored state is
   * loaded, so the page's first sync brings it. When the page's Web Lock
   * `pageLock` is released (the page closed or disconnected), the session
   * ends and the page's presence is removed.
   */
  async open (room: string, port: PortLike, pageLock?: string): Promise<void> {
    if (typeof room !== 'string' || room.length === 0) throw new InvalidArgumentError('a room name must be a non-empty string')
    if (this.closed) throw new InvalidArgumentError('the host is closed')
    let r = this.rooms.get(room)
    while (r?.closing !== undefined) {
      await r.closing
      r = this.rooms.get(room)
    }
    r ??= this.createRoom(room)
    if (r.idleTimer !== undefined) {
      this.clock.clearTimeout(r.idleTimer)
      r.idleTimer = undefined
    }
    // the port queues the page's frames until the session listens: after the load
    await r.backend.ready
    if (r.closing !== undefined || this.closed) {
      port.close?.()
      return
    }
    const session = new PortSession(port, room, r.doc, this.logger)
    r.pages.set(session, new Set())
    if (pageLock !== undefined) r.byLock.set(pageLock, session)
    session.session.on('awareness', update => this.pageAwareness(r, session, update))
    session.start()
    // the presence known so far (other pages, the hub's clients)
    const known = [...r.awareness.getStates().keys()].filter(id => id !== r.awareness.clientID)
    if (known.length > 0) session.session.sendAwareness(encodeAwarenessUpdate(r.awareness, known))
    if (pageLock !== undefined && this.locks !== undefined) {
      // granted once the page lets go of it: closed, crashed, or destroy()ed
      this.locks.request(pageLock, {}, () => this.closePage(r, session)).catch((err: unknown) => {
        this.logger.warn('cannot watch the page lock; the page session stays open', { room, error: String(err) })
      })
    }
  }

  /** Ends the session a page opened with `pageLock` (a page's `destroy()` calls it; a closed page's lock does the same). */
  leave (room: string, pageLock: string): void {
    const r = this.rooms.get(room)
    const session = r?.byLock.get(pageLock)
    if (r !== undefined && session !== undefined) this.closePage(r, session)
  }

  /**
   * Resolves once the worker's doc holds everything of `version` (a page's
   * `doc.version().encode()`) and has stored it in IndexedDB.
   *
   * @throws {TimeoutError} if those changes do not arrive within 10 s
   */
  async flush (room: string, version: Uint8Array): Promise<void> {
    const r = this.rooms.get(room)
    if (r === undefined) throw new InvalidArgumentError(`room ${JSON.stringify(room)} is not open`)
    const want = VectorClock.decode(version)
    const covered = (): boolean => {
      const o = want.compare(r.doc.version())
      return o === Ordering.Before || o === Ordering.Equal
    }
    if (!covered()) {
      await new Promise<void>((resolve, reject) => {
        const done = (): void => { r.doc.off('update', check); this.clock.clearTimeout(timer) }
        const check = (): void => { if (covered()) { done(); resolve() } }
        const timer = this.clock.setTimeout(() => { done(); reject(new TimeoutError('the page\'s changes did not reach the worker')) }, FLUSH_WAIT_MS)
        r.doc.on('update', check)
      })
    }
    await r.backend.persistence?.flush()
  }

  /**
   * Runs a KV command (`encodeKvCommand`) on the hubs' Raft KV through the
   * room's hub connection; resolves with the encoded result.
   *
   * @throws {InvalidArgumentError} if the room is not open or the worker has no hub `url`.
   */
  async kv (room: string, command: Uint8Array): Promise<Uint8Array> {
    const provider = this.rooms.get(room)?.backend.provider
    if (provider === undefined) throw new InvalidArgumentError(`room ${JSON.stringify(room)} has no hub connection in the worker (not open, or exposeDoc got no url)`)
    return await provider.kv.node.propose(command)
  }

  /** The room's hub connection and pages. */
  status (room: string): RoomStatus {
    const r = this.rooms.get(room)
    if (r === undefined) return { status: 'disconnected', synced: false, pending: 0, pages: 0, json: {} }
    return { ...r.backend.status(), pages: r.pages.size, json: r.doc.toJSON() }
  }

  /** Closes every room (sessions, sockets, databases). */
  async close (): Promise<void> {
    this.closed = true
    await Promise.all([...this.rooms.values()].map(r => this.closeRoom(r)))
  }

  private createRoom (name: string): HostedRoom {
    const doc = new Doc()
    const awareness = new Awareness({ now: () => this.clock.now() })
    const backend = new RoomBackend(name, doc, awareness, this.options)
    const r: HostedRoom = { name, doc, awareness, backend, pages: new Map(), byLock: new Map(), idleTimer: undefined, closing: undefined, unsubscribe: () => {} }
    // the hub's presence goes to every page
    const onUpdate = ({ added, updated, removed }: AwarenessChanges, origin: unknown): void => {
      if (origin !== backend.provider && origin !== 'timeout') return
      const changed = added.concat(updated, removed).filter(id => id !== awareness.clientID)
      if (changed.length === 0) return
      const update = encodeAwarenessUpdate(awareness, changed)
      for (const s of r.pages.keys()) s.session.sendAwareness(update)
    }
    // back on the hub: announce the pages' presence again
    const onSynced = (synced: boolean): void => {
      if (!synced) return
      const ids = [...r.pages.values()].flatMap(set => [...set]).filter(id => awareness.meta.has(id))
      if (ids.length > 0) this.toHub(r, encodeAwarenessUpdate(awareness, ids))
    }
    awareness.on('update', onUpdate)
    backend.provider?.on('synced', onSynced)
    const stopWatch = watchAwarenessTimeouts(awareness, this.clock)
    r.unsubscribe = () => { stopWatch(); awareness.off('update', onUpdate); backend.provider?.off('synced', onSynced) }
    this.rooms.set(name, r)
    return r
  }

  private toHub (r: HostedRoom, update: Uint8Array): void {
    const room = r.backend.provider?.room
    if (room?.synced === true) room.sendAwareness(update)
  }

  private pageAwareness (r: HostedRoom, from: PortSession, update: Uint8Array): void {
    let entries
    try {
      entries = decodeAwarenessUpdate(update)
      applyAwarenessUpdate(r.awareness, update, from)
    } catch (err) {
      this.logger.warn('dropped a bad awareness update from a page', { room: r.name, error: String(err) })
      return
    }
    const ids = r.pages.get(from)
    if (ids === undefined) return
    for (const e of entries) {
      if (e.state === null) ids.delete(e.clientID)
      else ids.add(e.clientID)
    }
    for (const s of r.pages.keys()) if (s !== from) s.session.sendAwareness(update)
    this.toHub(r, update)
  }

  private closePage (r: HostedRoom, session: PortSession): void {
    const ids = r.pages.get(session)
    if (ids === undefined) return
    r.pages.delete(session)
    for (const [lock, s] of r.byLock) if (s === session) r.byLock.delete(lock)
    session.close()
    const gone = [...ids].filter(id => r.awareness.states.has(id))
    if (gone.length > 0) {
      removeAwarenessStates(r.awareness, gone, session)
      const update = encodeAwarenessUpdate(r.awareness, gone)
      for (const s of r.pages.keys()) s.session.sendAwareness(update)
      this.toHub(r, update)
    }
    if (r.pages.size === 0 && r.closing === undefined && !this.closed) {
      r.idleTimer = this.clock.setTimeout(() => {
        r.idleTimer = undefined
        if (r.pages.size === 0) void this.closeRoom(r)
      }, this.options.idleMs ?? DEFAULT_IDLE_MS)
    }
  }

  private closeRoom (r: HostedRoom): Promise<void> {
    if (r.closing !== undefined) return r.closing
    if (r.idleTimer !== undefined) this.clock.clearTimeout(r.idleTimer)
    for (const s of r.pages.keys()) s.close()
    r.pages.clear()
    r.byLock.clear()
    r.unsubscribe()
    r.closing = (async () => {
      try {
        await r.backend.destroy()
      } catch (err) {
        this.logger.warn('closing a room failed', { room: r.name, error: String(err) })
      }
      r.awareness.destroy()
      r.doc.destroy()
      if (this.rooms.get(r.name) === r) this.rooms.delete(r.name)
    })()
    return r.closing
  }
}
