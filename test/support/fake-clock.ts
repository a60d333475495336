/** A manual clock for tests: timers run only when the test advances time. */
import type { Clock, TimerHandle } from 'aegis-replication'

export class FakeClock implements Clock {
  time = 0
  readonly timers: Array<{ at: number, ms: number, fn: () => void, cleared: boolean }> = []
  now (): number { return this.time }
  setTimeout (fn: () => void, ms: number): TimerHandle {
    const t = { at: this.time + ms, ms, fn, cleared: false }
    this.timers.push(t)
    return t as unknown as TimerHandle
  }

  clearTimeout (handle: TimerHandle): void { (handle as unknown as { cleared: boolean }).cleared = true }
  /** Moves time forward by `ms`, running every timer due on the way, in order. */
  advance (ms: number): void {
    const end = this.time + ms
    for (;;) {
      const due = this.timers.filter(t => !t.cleared && t.at <= end).sort((x, y) => x.at - y.at)[0]
      if (due === undefined) break
      this.time = due.at
      due.cleared = true
      due.fn()
    }
    this.time = end
    for (let i = this.timers.length - 1; i >= 0; i--) if (this.timers[i].cleared) this.timers.splice(i, 1)
  }
}
