/**
 * Virtual time for simulations: a {@link Clock} whose timers fire only when
 * the test advances it with {@link VirtualClock.step}, {@link VirtualClock.runFor}
 * or {@link VirtualClock.runUntilIdle}. Events are ordered by `(time,
 * sequence number)`, so a run is exactly reproducible. The in-memory network
 * schedules its deliveries on one of these.
 *
 * ```ts
 * import { VirtualClock } from 'aegis-replication/transport'
 * const clock = new VirtualClock()
 * clock.setTimeout(() => console.log('at', clock.now()), 100)
 * clock.runFor(100) // logs "at 100"
 * ```
 *
 * @module
 */
import type { Clock, TimerHandle } from '../components.js'
import { InvalidArgumentError } from '../errors.js'
import { EventQueue, type ScheduledEvent } from './event-queue.js'

/** Steps {@link VirtualClock.runUntilIdle} takes before it gives up. */
export const DEFAULT_MAX_STEPS = 100_000

/** Steps {@link VirtualClock.runFor} may take before it suspects a timer loop. */
export const DEFAULT_MAX_STEPS_PER_RUN = 10_000_000

const checkMs = (ms: number, what: string, allowInfinity = false): number => {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0 || (!allowInfinity && !Number.isFinite(ms))) {
    throw new InvalidArgumentError(`${what} must be a non-negative number of milliseconds, got ${ms}`)
  }
  return ms
}

/**
 * Lets pending promise continuations run: awaits 64 microtask turns, which
 * covers promise chains up to that depth. Pass a macrotask-based `settle`
 * (in Node: `() => new Promise((resolve) => setImmediate(resolve))`) to drain
 * them completely.
 */
export const drainMicrotasks = async (): Promise<void> => {
  for (let i = 0; i < 64; i++) await undefined
}

/** Options of a {@link VirtualClock}. */
export interface VirtualClockOptions {
  /**
   * The initial time, in milliseconds.
   * @default 0
   */
  start?: number
  /**
   * Awaited before each event by the `*Async` run methods, so that promise
   * continuations (async storage, `await` in drivers) run between events.
   * @default drainMicrotasks
   */
  settle?: () => Promise<void>
}

/** A {@link Clock} on simulated time; see the module documentation. */
export class VirtualClock implements Clock {
  private readonly queue = new EventQueue()
  private readonly settle: () => Promise<void>
  private time: number

  constructor (options: VirtualClockOptions = {}) {
    this.time = checkMs(options.start ?? 0, 'start')
    this.settle = options.settle ?? drainMicrotasks
  }

  now (): number {
    return this.time
  }

  /** Scheduled events (timers, deliveries) that have not run or been cancelled. */
  get pending (): number {
    return this.queue.size
  }

  /** Runs `fn` after `ms` milliseconds of virtual time (negative or NaN counts as 0). */
  setTimeout (fn: () => void, ms: number): TimerHandle {
    const delay = typeof ms === 'number' && ms > 0 ? ms : 0
    return this.schedule(this.time + delay, fn) as unknown as TimerHandle
  }

  clearTimeout (handle: TimerHandle): void {
    const event = handle as unknown as ScheduledEvent | undefined
    if (event !== undefined && event !== null && typeof event === 'object') this.queue.cancel(event)
  }

  /**
   * Schedules `fn` at absolute virtual time `at` (clamped to now); events at
   * the same time run in the order they were scheduled.
   */
  schedule (at: number, fn: () => void): ScheduledEvent {
    if (typeof at !== 'number' || Number.isNaN(at)) throw new InvalidArgumentError(`schedule() needs a time, got ${at}`)
    return this.queue.push(Math.max(this.time, at), fn)
  }

  /** Time of the next event, or `undefined` when idle. */
  nextEventTime (): number | undefined {
    return this.queue.peek()?.time
  }

  /**
   * Runs the next event, advancing the clock to its time. Returns `false` if
   * there was nothing to run. An exception from the event propagates; the
   * clock stays consistent and can keep running.
   */
  step (): boolean {
    const event = this.queue.pop()
    if (event === undefined) return false
    if (event.time > this.time) this.time = event.time
    event.run()
    return true
  }

  /**
   * Runs every event due within the next `ms` milliseconds (including those
   * they schedule), then sets the clock to `now + ms`. Returns the number of
   * events run.
   *
   * @throws {Error} after `maxSteps` events, which means a timer loop that
   *   never lets time pass.
   */
  runFor (ms: number, maxSteps = DEFAULT_MAX_STEPS_PER_RUN): number {
    checkMs(ms, 'runFor(ms)')
    const end = this.time + ms
    let steps = 0
    for (let next = this.nextEventTime(); next !== undefined && next <= end; next = this.nextEventTime()) {
      if (steps >= maxSteps) {
        throw new Error(`runFor(${ms}): still busy after ${maxSteps} events at t=${this.time} (a timer that keeps rescheduling itself without delay?)`)
      }
      this.step()
      steps++
    }
    this.advanceTo(end)
    return steps
  }

  /**
   * Runs events until none are left. Returns the number of events run.
   *
   * @throws {Error} if the queue is still not empty after `maxSteps`
   *   events (a periodic timer keeps it busy: use {@link runFor} instead).
   */
  runUntilIdle (maxSteps = DEFAULT_MAX_STEPS): number {
    let steps = 0
    while (this.pending > 0) {
      if (steps >= maxSteps) {
        throw new Error(`runUntilIdle(): not idle after ${maxSteps} events at t=${this.time}, ${this.pending} still pending (a periodic timer? use runFor or runUntil)`)
      }
      this.step()
      steps++
    }
    return steps
  }

  /**
   * Runs events until `done()` holds (checked before each event) or until
   * `maxTime` milliseconds of virtual time have passed. Returns whether
   * `done()` held. The clock stops at the event that made it hold, or at
   * `now + maxTime`.
   *
   * @throws {Error} after `maxSteps` events.
   */
  runUntil (done: () => boolean, maxTime: number, maxSteps = DEFAULT_MAX_STEPS_PER_RUN): boolean {
    const end = this.time + checkMs(maxTime, 'runUntil(maxTime)', true)
    let steps = 0
    while (!done()) {
      const next = this.nextEventTime()
      if (next === undefined || next > end) {
        this.advanceTo(end)
        return false
      }
      if (steps >= maxSteps) throw new Error(`runUntil(): still busy after ${maxSteps} events at t=${this.time}`)
      this.step()
      steps++
    }
    return true
  }

  /** {@link runFor}, awaiting `settle` before each event and at the end. */
  async runForAsync (ms: number, maxSteps = DEFAULT_MAX_STEPS_PER_RUN): Promise<number> {
    const end = this.time + checkMs(ms, 'runForAsync(ms)')
    let steps = 0
    for (;;) {
      await this.settle()
      const next = this.nextEventTime()
      if (next === undefined || next > end) break
      if (steps >= maxSteps) {
        throw new Error(`runForAsync(${ms}): still busy after ${maxSteps} events at t=${this.time} (a timer that keeps rescheduling itself without delay?)`)
      }
      this.step()
      steps++
    }
    this.advanceTo(end)
    return steps
  }

  /** {@link runUntilIdle}, awaiting `settle` before each event and at the end. */
  async runUntilIdleAsync (maxSteps = DEFAULT_MAX_STEPS): Promise<number> {
    let steps = 0
    for (;;) {
      await this.settle()
      if (this.pending === 0) return steps
      if (steps >= maxSteps) {
        throw new Error(`runUntilIdleAsync(): not idle after ${maxSteps} events at t=${this.time}, ${this.pending} still pending (a periodic timer? use runForAsync or runUntilAsync)`)
      }
      this.step()
      steps++
    }
  }

  /** {@link runUntil}, awaiting `settle` before each check of `done()`. */
  async runUntilAsync (done: () => boolean, maxTime: number, maxSteps = DEFAULT_MAX_STEPS_PER_RUN): Promise<boolean> {
    const end = this.time + checkMs(maxTime, 'runUntilAsync(maxTime)', true)
    let steps = 0
    for (;;) {
      await this.settle()
      if (done()) return true
      const next = this.nextEventTime()
      if (next === undefined || next > end) {
        this.advanceTo(end)
        return false
      }
      if (steps >= maxSteps) throw new Error(`runUntilAsync(): still busy after ${maxSteps} events at t=${this.time}`)
      this.step()
      steps++
    }
  }

  /** Moves time forward to `t` (if finite and later) without running anything. */
  private advanceTo (t: number): void {
    if (Number.isFinite(t) && t > this.time) this.time = t
  }
}
