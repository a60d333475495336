/**
 * A deterministic, seeded, simulated network for tests: every peer gets a
 * {@link Transport}, and frames travel over links with latency, loss,
 * duplication and reordering, through partitions and crashes. Nothing
 * happens until the test advances the network's virtual clock, and a run is
 * reproducible from its seed.
 *
 * ```ts
 * import { InMemoryNetwork, peerId } from 'aegis-replication/transport'
 * const net = new InMemoryNetwork({ seed: 7, latency: { min: 5, max: 20 }, loss: 0.1 })
 * const a = net.createTransport(peerId('a'))
 * const b = net.createTransport(peerId('b'))
 * b.on('message', (from, frame) => console.log(from, frame))
 * net.runUntilIdle()           // a and b see each other join
 * a.send(b.id, new Uint8Array([1, 2, 3]))
 * net.runFor(100)              // delivered (unless lost)
 * ```
 *
 * Semantics worth knowing:
 * - Joins and leaves are announced through the scheduler at the current
 *   time, before any frame sent afterwards can arrive.
 * - Partitions and blocks are silent, like a real network: peers stay in
 *   `peers()`, frames across the cut are dropped (at send and at delivery).
 * - `crash(id)` loses the frames in flight to and from the peer and cancels
 *   the timers set through `clockFor(id)`; `close()` loses only the frames
 *   in flight to it, and the others hear `'peer-left'` after its in-order
 *   frames have arrived.
 * - At `reorder: 0` each directed link is FIFO, even with jittered latency
 *   (duplicates excepted).
 *
 * @module
 */
import type { Clock, TimerHandle } from '../components.js'
import { InvalidArgumentError, TransportClosedError } from '../errors.js'
import { Prng } from '../testing/prng.js'
import type { ScheduledEvent } from './event-queue.js'
import {
  DEFAULT_LINK_OPTIONS, DEFAULT_MAX_FRAME_SIZE, resolveLinkOptions,
  type InMemoryNetworkOptions, type LinkOptions, type ResolvedLinkOptions
} from './in-memory-network-options.js'
import { InMemoryTransport, type LinkLayer } from './in-memory-transport.js'
import { peerId, type PeerId, type Transport } from './transport.js'
import { VirtualClock } from './virtual-clock.js'

/** Counters of what happened to frames. */
export interface NetworkStats {
  /** Frames accepted by `send` (each recipient of a `broadcast` counts once). */
  sent: number
  /** Frames handed to a receiver's `'message'` listeners (duplicates included). */
  delivered: number
  /** Frames lost: random loss, a partition or block, a peer that is gone or crashed. */
  dropped: number
  /** Extra copies scheduled by random duplication. */
  duplicated: number
}

type LinkTable<T> = Map<PeerId, Map<PeerId, T>>
const getLink = <T>(table: LinkTable<T>, from: PeerId, to: PeerId): T | undefined => table.get(from)?.get(to)
const setLink = <T>(table: LinkTable<T>, from: PeerId, to: PeerId, value: T): void => {
  let row = table.get(from)
  if (row === undefined) table.set(from, (row = new Map()))
  row.set(to, value)
}
const deleteLink = <T>(table: LinkTable<T>, from: PeerId, to: PeerId): void => {
  const row = table.get(from)
  if (row !== undefined && row.delete(to) && row.size === 0) table.delete(from)
}
const forgetPeer = <T>(table: LinkTable<T>, id: PeerId): void => {
  table.delete(id)
  for (const [from, row] of table) if (row.delete(id) && row.size === 0) table.delete(from)
}

export class InMemoryNetwork implements LinkLayer {
  /** The virtual clock: inject it as the `clock` component of every peer. */
  readonly clock: VirtualClock
  readonly maxFrameSize: number
  private readonly prng: Prng
  private defaults: ResolvedLinkOptions
  private readonly overrides: LinkTable<LinkOptions> = new Map()
  private readonly blocked: LinkTable<true> = new Map()
  /** Partition group of each listed peer; unlisted peers share group -1. */
  private groups: Map<PeerId, number> | undefined
  /** In-order delivery time of the last FIFO frame on each link. */
  private readonly fifo: LinkTable<number> = new Map()
  private readonly live = new Map<PeerId, InMemoryTransport>()
  private incarnations = 0
  private readonly crashes = new Map<PeerId, number>()
  private readonly timers = new Map<PeerId, Set<ScheduledEvent>>()
  private readonly counters: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 }

  constructor (options: InMemoryNetworkOptions = {}) {
    this.prng = new Prng(options.seed ?? 0)
    this.defaults = resolveLinkOptions(DEFAULT_LINK_OPTIONS, options)
    const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE
    if (!(maxFrameSize >= 0)) throw new InvalidArgumentError(`maxFrameSize must be >= 0, got ${maxFrameSize}`)
    this.maxFrameSize = maxFrameSize
    this.clock = new VirtualClock(options.settle === undefined ? {} : { settle: options.settle })
  }

  /** A snapshot of the frame counters. */
  get stats (): NetworkStats {
    return { ...this.counters }
  }

  /** The ids of the attached (not closed, not crashed) transports, in creation order. */
  peers (): PeerId[] {
    return [...this.live.keys()]
  }

  /**
   * Attaches a new peer. Every attached peer and the new one learn of each
   * other through `'peer-joined'` events, delivered by the scheduler.
   *
   * @throws {InvalidArgumentError} if a transport with this id is attached.
   */
  createTransport (id: PeerId | string): Transport {
    const pid = peerId(id)
    if (this.live.has(pid)) throw new InvalidArgumentError(`a transport for ${pid} is already attached`)
    const t = new InMemoryTransport(this, pid, ++this.incarnations)
    const now = this.clock.now()
    for (const other of this.live.values()) {
      this.clock.schedule(now, () => { if (this.isLive(t) && this.isLive(other)) other.join(t.id, t.incarnation) })
      this.clock.schedule(now, () => { if (this.isLive(t) && this.isLive(other)) t.join(other.id, other.incarnation) })
    }
    this.live.set(pid, t)
    return t
  }

  /**
   * Crashes a peer: its transport emits `'close'` with a
   * {@link TransportClosedError}, frames in flight to and from it are lost,
   * timers set through {@link clockFor} for it are cancelled, and the others
   * see `'peer-left'`.
   */
  crash (id: PeerId | string): void {
    const t = this.attached(id)
    t.crashed = true
    this.crashes.set(t.id, (this.crashes.get(t.id) ?? 0) + 1)
    const timers = this.timers.get(t.id)
    if (timers !== undefined) for (const timer of timers) this.clock.clearTimeout(timer as unknown as TimerHandle)
    this.timers.delete(t.id)
    this.remove(t, new TransportClosedError(`${t.id} crashed`))
  }

  /** Brings a crashed (or closed) peer back with a fresh transport; crashes it first if it is attached. */
  restart (id: PeerId | string): Transport {
    if (this.live.has(peerId(id))) this.crash(id)
    return this.createTransport(id)
  }

  /**
   * A {@link Clock} on the network's virtual time whose timers die with the
   * peer: `crash(id)` cancels them, and the clock sets no new timers
   * afterwards (get a new one for the restarted peer).
   */
  clockFor (id: PeerId | string): Clock {
    const pid = peerId(id)
    const epoch = this.crashes.get(pid) ?? 0
    return {
      now: () => this.clock.now(),
      setTimeout: (fn, ms) => {
        if ((this.crashes.get(pid) ?? 0) !== epoch) return {} as TimerHandle
        let set = this.timers.get(pid)
        if (set === undefined) this.timers.set(pid, (set = new Set()))
        const owned = set
        const handle = this.clock.setTimeout(() => { owned.delete(event); fn() }, ms)
        const event = handle as unknown as ScheduledEvent
        owned.add(event)
        return handle
      },
      clearTimeout: (handle) => {
        this.timers.get(pid)?.delete(handle as unknown as ScheduledEvent)
        this.clock.clearTimeout(handle)
      }
    }
  }

  /**
   * Splits the network: peers talk only within their group. Peers named in
   * no group form one more group together, so `partition([a])` isolates `a`.
   * Replaces any earlier partition; `partition()` removes it.
   */
  partition (...groups: ReadonlyArray<ReadonlyArray<PeerId | string>>): void {
    const map = new Map<PeerId, number>()
    groups.forEach((group, i) => {
      for (const id of group) {
        const pid = peerId(id)
        if (map.has(pid)) throw new InvalidArgumentError(`${pid} is in more than one partition group`)
        map.set(pid, i)
      }
    })
    this.groups = groups.length === 0 ? undefined : map
  }

  /** Drops every frame from `from` to `to` (one way) until {@link unblock} or {@link heal}. */
  block (from: PeerId | string, to: PeerId | string): void {
    setLink(this.blocked, peerId(from), peerId(to), true)
  }

  unblock (from: PeerId | string, to: PeerId | string): void {
    deleteLink(this.blocked, peerId(from), peerId(to))
  }

  /** Removes the partition and every block. Link options stay. */
  heal (): void {
    this.groups = undefined
    this.blocked.clear()
  }

  /** Whether a frame from `from` to `to` would cross the current cuts. */
  canReach (from: PeerId | string, to: PeerId | string): boolean {
    const f = peerId(from)
    const t = peerId(to)
    if (getLink(this.blocked, f, t) === true) return false
    return this.groups === undefined || (this.groups.get(f) ?? -1) === (this.groups.get(t) ?? -1)
  }

  /** Changes the defaults of every link (those without their own options). */
  setOptions (options: LinkOptions): void {
    this.defaults = resolveLinkOptions(this.defaults, options)
  }

  /**
   * Gives the directed link `from → to` its own options (for a delay spike,
   * a lossy hop), replacing earlier ones for that link; what they leave out
   * follows the network's defaults. `setLinkOptions(a, b, {})` resets it.
   */
  setLinkOptions (from: PeerId | string, to: PeerId | string, options: LinkOptions): void {
    resolveLinkOptions(this.defaults, options) // validates
    const own: LinkOptions = {}
    if (options.latency !== undefined) own.latency = { min: options.latency.min, max: options.latency.max }
    if (options.loss !== undefined) own.loss = options.loss
    if (options.duplicate !== undefined) own.duplicate = options.duplicate
    if (options.reorder !== undefined) own.reorder = options.reorder
    if (Object.keys(own).length === 0) deleteLink(this.overrides, peerId(from), peerId(to))
    else setLink(this.overrides, peerId(from), peerId(to), own)
  }

  /** Runs the next scheduled event (a delivery, a join or leave, a timer). */
  step (): boolean {
    return this.clock.step()
  }

  /** Advances virtual time by `ms`, running everything due. See {@link VirtualClock.runFor}. */
  runFor (ms: number, maxSteps?: number): number {
    return this.clock.runFor(ms, maxSteps)
  }

  /**
   * Runs until nothing is scheduled.
   *
   * @throws {Error} if still busy after `maxSteps` events (periodic timers never go idle).
   */
  runUntilIdle (maxSteps?: number): number {
    return this.clock.runUntilIdle(maxSteps)
  }

  /** Runs until `done()` holds or `maxTime` ms pass; returns whether it held. */
  runUntil (done: () => boolean, maxTime: number, maxSteps?: number): boolean {
    return this.clock.runUntil(done, maxTime, maxSteps)
  }

  /** {@link runFor} letting promise continuations run between events. */
  runForAsync (ms: number, maxSteps?: number): Promise<number> {
    return this.clock.runForAsync(ms, maxSteps)
  }

  /** {@link runUntilIdle} letting promise continuations run between events. */
  runUntilIdleAsync (maxSteps?: number): Promise<number> {
    return this.clock.runUntilIdleAsync(maxSteps)
  }

  /** {@link runUntil} letting promise continuations run between events. */
  runUntilAsync (done: () => boolean, maxTime: number, maxSteps?: number): Promise<boolean> {
    return this.clock.runUntilAsync(done, maxTime, maxSteps)
  }

  /** @internal Called by a transport's `send` and `broadcast`. */
  transmit (sender: InMemoryTransport, to: PeerId, frame: Uint8Array): void {
    this.counters.sent++
    const receiver = this.live.get(to)
    if (receiver === undefined || !this.canReach(sender.id, to)) {
      this.counters.dropped++
      return
    }
    const link = this.linkOptions(sender.id, to)
    if (link.loss > 0 && this.prng.bool(link.loss)) {
      this.counters.dropped++
      return
    }
    const now = this.clock.now()
    const { min, max } = link.latency
    let at = now + min + this.prng.next() * (max - min)
    if (link.reorder > 0 && this.prng.bool(link.reorder)) {
      at += 1 + this.prng.next() * (2 * Math.max(max, 1) - 1)
    } else {
      const last = getLink(this.fifo, sender.id, to)
      if (last !== undefined && at < last) at = last
      setLink(this.fifo, sender.id, to, at)
    }
    this.scheduleDelivery(sender, receiver, frame.slice(), at)
    if (link.duplicate > 0 && this.prng.bool(link.duplicate)) {
      this.counters.duplicated++
      this.scheduleDelivery(sender, receiver, frame.slice(), at + this.prng.next() * Math.max(max, 1))
    }
  }

  /** @internal Called by a transport's `close`. */
  detach (t: InMemoryTransport): void {
    if (this.isLive(t)) this.remove(t, undefined)
    else t.shutdown()
  }

  private scheduleDelivery (sender: InMemoryTransport, receiver: InMemoryTransport, frame: Uint8Array, at: number): void {
    this.clock.schedule(at, () => {
      if (!this.isLive(receiver) || sender.crashed || !this.canReach(sender.id, receiver.id)) {
        this.counters.dropped++
        return
      }
      this.counters.delivered++
      receiver.deliver(sender.id, frame)
    })
  }

  private linkOptions (from: PeerId, to: PeerId): ResolvedLinkOptions {
    const own = getLink(this.overrides, from, to)
    return own === undefined ? this.defaults : { ...this.defaults, ...own }
  }

  private isLive (t: InMemoryTransport): boolean {
    return this.live.get(t.id) === t
  }

  private attached (id: PeerId | string): InMemoryTransport {
    const t = this.live.get(peerId(id))
    if (t === undefined) throw new InvalidArgumentError(`no transport for ${id} is attached`)
    return t
  }

  /**
   * Detaches `t` and announces its departure. After a crash the others hear
   * at once; after a close, each hears after the FIFO frames `t` sent it.
   */
  private remove (t: InMemoryTransport, err: Error | undefined): void {
    this.live.delete(t.id)
    const now = this.clock.now()
    for (const other of this.live.values()) {
      const at = t.crashed ? now : Math.max(now, getLink(this.fifo, t.id, other.id) ?? now)
      this.clock.schedule(at, () => { if (this.isLive(other)) other.leave(t.id, t.incarnation) })
    }
    forgetPeer(this.fifo, t.id)
    t.shutdown(err)
  }
}
