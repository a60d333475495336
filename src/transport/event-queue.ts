/**
 * A binary min-heap of scheduled events ordered by `(time, seq)`. The
 * sequence number breaks ties in insertion order, so two runs that schedule
 * the same events pop them in the same order.
 *
 * @module
 */

/** One scheduled event. `cancelled` events stay in the heap until popped. */
export interface ScheduledEvent {
  readonly time: number
  readonly seq: number
  readonly run: () => void
  cancelled: boolean
  /** The queue the event belongs to; cancelling through another queue is a no-op. */
  readonly owner: EventQueue
}

const before = (x: ScheduledEvent, y: ScheduledEvent): boolean =>
  x.time < y.time || (x.time === y.time && x.seq < y.seq)

/** The scheduler behind a {@link VirtualClock}: a min-heap by `(time, seq)`. */
export class EventQueue {
  private readonly heap: ScheduledEvent[] = []
  private nextSeq = 0
  private live = 0

  /** Scheduled events that are not cancelled. */
  get size (): number {
    return this.live
  }

  push (time: number, run: () => void): ScheduledEvent {
    const event: ScheduledEvent = { time, seq: this.nextSeq++, run, cancelled: false, owner: this }
    const h = this.heap
    let i = h.length
    h.push(event)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(event, h[parent])) break
      h[i] = h[parent]
      i = parent
    }
    h[i] = event
    this.live++
    return event
  }

  cancel (event: ScheduledEvent): void {
    if (event.cancelled || event.owner !== this) return
    event.cancelled = true
    this.live--
  }

  /** The earliest live event, without removing it. */
  peek (): ScheduledEvent | undefined {
    this.dropCancelled()
    return this.heap[0]
  }

  /** Removes and returns the earliest live event. */
  pop (): ScheduledEvent | undefined {
    this.dropCancelled()
    const event = this.removeTop()
    if (event !== undefined) {
      // Marked so that a late cancel() of a fired event does not miscount.
      event.cancelled = true
      this.live--
    }
    return event
  }

  private dropCancelled (): void {
    while (this.heap.length > 0 && this.heap[0].cancelled) this.removeTop()
  }

  private removeTop (): ScheduledEvent | undefined {
    const h = this.heap
    const top = h[0]
    const last = h.pop()
    if (top === undefined || last === undefined || h.length === 0) return top
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= h.length) break
      const r = l + 1
      const child = r < h.length && before(h[r], h[l]) ? r : l
      if (!before(h[child], last)) break
      h[i] = h[child]
      i = child
    }
    h[i] = last
    return top
  }
}
