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
 * - `trace()` (the last `traceLimit` events) and `formatTrace()` show what
 *   happened to every frame: print them when a simulation fails. Two
 *   networks with the same seed and the same script trace identically.
 *
 * @module
 */
import type { Clock } from '../components.js'
import { InvalidArgumentError, TransportClosedError } from '../errors.js'
import { Prng } from '../testing/prng.js'
import {
  DEFAULT_LINK_OPTIONS, DEFAULT_MAX_FRAME_SIZE, DEFAULT_TRACE_LIMIT, resolveLinkOptions,
  type InMemoryNetworkOptions, type LinkOptions, type ResolvedLinkOptions
} from './in-memory-network-options.js'
import { InMemoryTransport, type LinkLayer } from './in-memory-transport.js'
import { Cuts, LinkTable } from './link-table.js'
import { PeerClocks } from './peer-clocks.js'
import { TraceBuffer, fnv1a32, formatTraceEvent, type DropReason, type TraceEvent } from './network-trace.js'
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

/**
 * A seeded simulated network on a virtual clock; see the module
 * documentation for an example and its semantics.
 */
export class InMemoryNetwork implements LinkLayer {
  /** The virtual clock: inject it (or {@link clockFor}) as the `clock` component of every peer. */
  readonly clock: VirtualClock
  /** Largest frame `send` accepts, in bytes. */
  readonly maxFrameSize: number
  private readonly prng: Prng
  private defaults: ResolvedLinkOptions
  private readonly overrides = new LinkTable<LinkOptions>()
  private readonly cuts = new Cuts()
  /** In-order delivery time of the last FIFO frame on each link. */
  private readonly fifo = new LinkTable<number>()
  private readonly live = new Map<PeerId, InMemoryTransport>()
  private incarnations = 0
  private readonly peerClocks: PeerClocks
  private readonly counters: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 }
  private readonly traceBuffer: TraceBuffer
  private readonly onTrace: ((event: TraceEvent) => void) | undefined
  private readonly tracing: boolean
  private frames = 0

  constructor (options: InMemoryNetworkOptions = {}) {
    this.prng = new Prng(options.seed ?? 0)
    this.defaults = resolveLinkOptions(DEFAULT_LINK_OPTIONS, options)
    const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE
    if (!(maxFrameSize >= 0)) throw new InvalidArgumentError(`maxFrameSize must be >= 0, got ${maxFrameSize}`)
    this.maxFrameSize = maxFrameSize
    this.clock = new VirtualClock(options.settle === undefined ? {} : { settle: options.settle })
    this.peerClocks = new PeerClocks(this.clock)
    const traceLimit = options.traceLimit ?? DEFAULT_TRACE_LIMIT
    if (!(traceLimit >= 0) || (Number.isFinite(traceLimit) && !Number.isInteger(traceLimit))) {
      throw new InvalidArgumentError(`traceLimit must be an integer >= 0 or Infinity, got ${traceLimit}`)
    }
    if (options.onTrace !== undefined && typeof options.onTrace !== 'function') throw new InvalidArgumentError('onTrace must be a function')
    this.traceBuffer = new TraceBuffer(traceLimit)
    this.onTrace = options.onTrace
    this.tracing = traceLimit > 0 || this.onTrace !== undefined
  }

  /**
   * The last `traceLimit` events (see {@link TraceEvent}), oldest first. Two
   * networks with the same seed driven by the same script have equal traces.
   */
  trace (): TraceEvent[] {
    return this.traceBuffer.toArray()
  }

  /** The last `last` kept trace events (all by default), one line each: print it when a test fails. */
  formatTrace (last = Infinity): string {
    const events = this.traceBuffer.toArray()
    return events.slice(Math.max(0, events.length - last)).map(formatTraceEvent).join('\n')
  }

  /** A snapshot of the frame counters. */
  get stats (): NetworkStats {
    return { ...this.counters }
  }

  /** The attached transport with this id, if any (not closed, not crashed). */
  getTransport (id: PeerId | string): Transport | undefined {
    return this.live.get(peerId(id))
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
    this.record({ type: 'attach', time: now, peer: pid, incarnation: t.incarnation })
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
    this.record({ type: 'crash', time: this.clock.now(), peer: t.id })
    this.peerClocks.crash(t.id)
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
    return this.peerClocks.clockFor(peerId(id))
  }

  /**
   * Splits the network: peers talk only within their group. Peers named in
   * no group form one more group together, so `partition([a])` isolates `a`.
   * Replaces any earlier partition; `partition()` removes it.
   */
  partition (...groups: ReadonlyArray<ReadonlyArray<PeerId | string>>): void {
    const ids = groups.map((g) => g.map((id) => peerId(id)))
    this.cuts.partition(ids)
    this.record({ type: 'partition', time: this.clock.now(), groups: ids })
  }

  /** Drops every frame from `from` to `to` (one way) until {@link unblock} or {@link heal}. */
  block (from: PeerId | string, to: PeerId | string): void {
    this.cuts.block(peerId(from), peerId(to))
    this.record({ type: 'block', time: this.clock.now(), from: peerId(from), to: peerId(to) })
  }

  /** Lets frames from `from` to `to` through again (a partition may still cut them). */
  unblock (from: PeerId | string, to: PeerId | string): void {
    this.cuts.unblock(peerId(from), peerId(to))
    this.record({ type: 'unblock', time: this.clock.now(), from: peerId(from), to: peerId(to) })
  }

  /** Removes the partition and every block. Link options stay. */
  heal (): void {
    this.cuts.heal()
    this.record({ type: 'heal', time: this.clock.now() })
  }

  /** Whether a frame from `from` to `to` would cross the current cuts. */
  canReach (from: PeerId | string, to: PeerId | string): boolean {
    return this.cuts.canReach(peerId(from), peerId(to))
  }

  /**
   * Changes the defaults of every link (per-link options still win where they
   * set a field).
   *
   * @throws {InvalidArgumentError} on a bad latency range or probability.
   */
  setOptions (options: LinkOptions): void {
    this.defaults = resolveLinkOptions(this.defaults, options)
  }

  /**
   * Gives the directed link `from → to` its own options (for a delay spike,
   * a lossy hop), replacing earlier ones for that link; what they leave out
   * follows the network's defaults. `setLinkOptions(a, b, {})` resets it.
   *
   * @throws {InvalidArgumentError} on a bad latency range or probability.
   */
  setLinkOptions (from: PeerId | string, to: PeerId | string, options: LinkOptions): void {
    resolveLinkOptions(this.defaults, options) // validates
    const own: LinkOptions = {}
    if (options.latency !== undefined) own.latency = { min: options.latency.min, max: options.latency.max }
    if (options.loss !== undefined) own.loss = options.loss
    if (options.duplicate !== undefined) own.duplicate = options.duplicate
    if (options.reorder !== undefined) own.reorder = options.reorder
    if (Object.keys(own).length === 0) this.overrides.delete(peerId(from), peerId(to))
    else this.overrides.set(peerId(from), peerId(to), own)
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

  /**
   * Runs every event due up to the absolute virtual time `time`, then sets
   * the clock to it (a no-op if `time` is not later than now).
   */
  runTo (time: number, maxSteps?: number): number {
    if (typeof time !== 'number' || Number.isNaN(time)) throw new InvalidArgumentError(`runTo() needs a time, got ${time}`)
    return this.clock.runFor(Math.max(0, time - this.clock.now()), maxSteps)
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
    const id = ++this.frames
    const now = this.clock.now()
    const from = sender.id
    if (this.tracing) this.record({ type: 'send', time: now, frame: id, from, to, size: frame.byteLength, digest: fnv1a32(frame) })
    const receiver = this.live.get(to)
    if (receiver === undefined) return this.drop(id, from, to, 'no-peer')
    if (!this.canReach(from, to)) return this.drop(id, from, to, 'partition')
    const link = this.linkOptions(from, to)
    if (link.loss > 0 && this.prng.bool(link.loss)) return this.drop(id, from, to, 'loss')
    const { min, max } = link.latency
    let at = now + min + this.prng.next() * (max - min)
    const reordered = link.reorder > 0 && this.prng.bool(link.reorder)
    if (reordered) {
      at += 1 + this.prng.next() * (2 * Math.max(max, 1) - 1)
    } else {
      const last = this.fifo.get(from, to)
      if (last !== undefined && at < last) at = last
      this.fifo.set(from, to, at)
    }
    this.record({ type: 'schedule', time: now, frame: id, from, to, at, reordered })
    this.scheduleDelivery(id, sender, receiver, frame.slice(), at)
    if (link.duplicate > 0 && this.prng.bool(link.duplicate)) {
      this.counters.duplicated++
      const copyAt = at + this.prng.next() * Math.max(max, 1)
      this.record({ type: 'duplicate', time: now, frame: id, from, to, at: copyAt })
      this.scheduleDelivery(id, sender, receiver, frame.slice(), copyAt)
    }
  }

  /** @internal Called by a transport's `close`. */
  detach (t: InMemoryTransport): void {
    if (this.isLive(t)) {
      this.record({ type: 'close', time: this.clock.now(), peer: t.id })
      this.remove(t, undefined)
    } else {
      t.shutdown()
    }
  }

  private scheduleDelivery (id: number, sender: InMemoryTransport, receiver: InMemoryTransport, frame: Uint8Array, at: number): void {
    this.clock.schedule(at, () => {
      const reason: DropReason | undefined = !this.isLive(receiver)
        ? 'receiver-gone'
        : sender.crashed ? 'sender-crashed' : !this.canReach(sender.id, receiver.id) ? 'partition' : undefined
      if (reason !== undefined) return this.drop(id, sender.id, receiver.id, reason)
      this.counters.delivered++
      if (this.tracing) {
        this.record({ type: 'deliver', time: this.clock.now(), frame: id, from: sender.id, to: receiver.id, size: frame.byteLength, digest: fnv1a32(frame) })
      }
      receiver.deliver(sender.id, frame)
    })
  }

  private drop (frame: number, from: PeerId, to: PeerId, reason: DropReason): void {
    this.counters.dropped++
    this.record({ type: 'drop', time: this.clock.now(), frame, from, to, reason })
  }

  private record (event: TraceEvent): void {
    if (!this.tracing) return
    this.traceBuffer.push(event)
    this.onTrace?.(event)
  }

  private linkOptions (from: PeerId, to: PeerId): ResolvedLinkOptions {
    const own = this.overrides.get(from, to)
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
      const at = t.crashed ? now : Math.max(now, this.fifo.get(t.id, other.id) ?? now)
      this.clock.schedule(at, () => { if (this.isLive(other)) other.leave(t.id, t.incarnation) })
    }
    this.fifo.forget(t.id)
    t.shutdown(err)
  }
}
