/**
 * The components every core and driver takes instead of reaching for
 * globals: a {@link Clock}, a source of {@link Random} numbers and a
 * {@link Logger}. Tests inject the simulated network's virtual clock and a
 * seeded PRNG, so the same code runs in the simulator and in a browser.
 *
 * ```ts
 * import { systemClock, systemRandom, silentLogger } from 'aegis-replication'
 * const components = { clock: systemClock(), random: systemRandom(), logger: silentLogger }
 * ```
 *
 * @module
 */

/** An opaque handle returned by {@link Clock.setTimeout}; only good for {@link Clock.clearTimeout}. */
export type TimerHandle = { readonly __brand: 'TimerHandle' }

/** Time, as the cores see it: milliseconds and one-shot timers. */
export interface Clock {
  /** Milliseconds since an arbitrary, fixed origin. Never goes backwards. */
  now (): number
  /** Calls `fn` once, `ms` milliseconds from now (at the earliest). */
  setTimeout (fn: () => void, ms: number): TimerHandle
  /** Cancels a timer; a no-op if it already fired or was cleared. */
  clearTimeout (handle: TimerHandle): void
}

/** A source of uniformly distributed numbers. */
export interface Random {
  /** A number in `[0, 1)`. */
  next (): number
}

/** Structured logging; `fields` carry machine-readable context. */
export interface Logger {
  debug (msg: string, fields?: Record<string, unknown>): void
  info (msg: string, fields?: Record<string, unknown>): void
  warn (msg: string, fields?: Record<string, unknown>): void
  error (msg: string, fields?: Record<string, unknown>): void
}

/** What every core and driver is given. */
export interface Components {
  clock: Clock
  random: Random
  logger: Logger
}

const noop = (): void => {}

/** A {@link Logger} that drops everything. */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop })

// The core's tsconfig has no DOM or Node typings: the few host APIs the
// factories below need are typed here and looked up when first used.
interface HostGlobals {
  setTimeout?: (fn: () => void, ms: number) => unknown
  clearTimeout?: (handle: unknown) => void
  crypto?: { getRandomValues?: (array: Uint32Array) => Uint32Array }
  console?: Partial<Record<'debug' | 'info' | 'warn' | 'error', (...args: unknown[]) => void>>
}
const host = (): HostGlobals => globalThis as unknown as HostGlobals

/**
 * The host's clock: `Date.now()` and the global `setTimeout`. For adapters
 * and apps; cores receive a {@link Clock} and never call this themselves.
 */
export const systemClock = (): Clock => ({
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const set = host().setTimeout
    if (set === undefined) throw new Error('systemClock: this runtime has no global setTimeout')
    return set(fn, ms) as TimerHandle
  },
  clearTimeout: (handle) => { host().clearTimeout?.(handle) }
})

/**
 * Random numbers from `crypto.getRandomValues`, 32 bits per number, drawn in
 * batches. For adapters and apps; tests use a seeded `Prng` instead.
 */
export const systemRandom = (): Random => {
  const buffer = new Uint32Array(64)
  let index = buffer.length
  return {
    next: () => {
      if (index === buffer.length) {
        const getRandomValues = host().crypto?.getRandomValues
        if (getRandomValues === undefined) throw new Error('systemRandom: this runtime has no crypto.getRandomValues')
        getRandomValues.call(host().crypto, buffer)
        index = 0
      }
      return buffer[index++] / 0x1_0000_0000
    }
  }
}

/**
 * A {@link Logger} writing to the host's `console` (`fields`, when given,
 * as a second argument). Levels below `level` are dropped.
 */
export const consoleLogger = (level: 'debug' | 'info' | 'warn' | 'error' = 'info'): Logger => {
  const order = ['debug', 'info', 'warn', 'error'] as const
  const min = order.indexOf(level)
  const at = (l: typeof order[number]) => (msg: string, fields?: Record<string, unknown>): void => {
    if (order.indexOf(l) < min) return
    const write = host().console?.[l]
    if (write === undefined) return
    if (fields === undefined) write(msg)
    else write(msg, fields)
  }
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}
