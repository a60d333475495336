/**
 * Per-peer views of a {@link VirtualClock} whose timers die with the peer,
 * so that a crashed node's election or heartbeat timers do not fire after
 * the crash.
 *
 * @module
 */
import type { Clock, TimerHandle } from '../components.js'
import type { ScheduledEvent } from './event-queue.js'
import type { PeerId } from './transport.js'
import type { VirtualClock } from './virtual-clock.js'

/** Hands out {@link Clock}s per peer and cancels a peer's timers when it crashes. */
export class PeerClocks {
  /** How many times each peer crashed: a clock from an earlier epoch is stale. */
  private readonly epochs = new Map<PeerId, number>()
  private readonly timers = new Map<PeerId, Set<ScheduledEvent>>()

  constructor (private readonly clock: VirtualClock) {}

  /** A clock for `id`'s current life; it sets no timers once `id` crashes. */
  clockFor (id: PeerId): Clock {
    const epoch = this.epochs.get(id) ?? 0
    return {
      now: () => this.clock.now(),
      setTimeout: (fn, ms) => {
        if ((this.epochs.get(id) ?? 0) !== epoch) return {} as TimerHandle
        let owned = this.timers.get(id)
        if (owned === undefined) this.timers.set(id, (owned = new Set()))
        const set = owned
        const handle = this.clock.setTimeout(() => { set.delete(event); fn() }, ms)
        const event = handle as unknown as ScheduledEvent
        set.add(event)
        return handle
      },
      clearTimeout: (handle) => {
        this.timers.get(id)?.delete(handle as unknown as ScheduledEvent)
        this.clock.clearTimeout(handle)
      }
    }
  }

  /** Cancels every pending timer of `id` and makes its clocks stale. */
  crash (id: PeerId): void {
    this.epochs.set(id, (this.epochs.get(id) ?? 0) + 1)
    const timers = this.timers.get(id)
    if (timers !== undefined) for (const timer of timers) this.clock.clearTimeout(timer as unknown as TimerHandle)
    this.timers.delete(id)
  }
}
