/**
 * Options of the {@link InMemoryNetwork}: the faults it injects on every
 * link, and their defaults and validation.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import type { TraceEvent } from './network-trace.js'

/** A range of one-way delays, in milliseconds of virtual time. */
export interface LatencyRange {
  /** Shortest delay. */
  min: number
  /** Longest delay. */
  max: number
}

/** The faults of one directed link (or, as defaults, of every link). */
export interface LinkOptions {
  /**
   * One-way delay, drawn uniformly from `[min, max]` for each frame.
   * @default { min: 1, max: 10 }
   */
  latency?: LatencyRange
  /**
   * Probability that a frame is lost.
   * @default 0
   */
  loss?: number
  /**
   * Probability that a frame is delivered twice (the copy arrives a little
   * later than the original).
   * @default 0
   */
  duplicate?: number
  /**
   * Probability that a frame is held back by an extra random delay (up to
   * twice `latency.max`, at least 1 ms) so that later frames overtake it.
   * At 0, frames on a link arrive in the order they were sent (FIFO, as on
   * a WebSocket), even with jittered latency.
   * @default 0
   */
  reorder?: number
}

/** Options of an {@link InMemoryNetwork}; `latency`, `loss`, `duplicate` and `reorder` apply to every link. */
export interface InMemoryNetworkOptions extends LinkOptions {
  /**
   * Seed of every random decision the network makes (delays, losses,
   * duplicates): the same seed and the same calls give the same run.
   * @default 0
   */
  seed?: number
  /**
   * Largest frame `send` accepts, in bytes; larger frames throw.
   * @default 16 * 1024 * 1024
   */
  maxFrameSize?: number
  /**
   * Awaited between events by the `*Async` run methods so promise
   * continuations run (see `VirtualClock`).
   * @default drainMicrotasks
   */
  settle?: () => Promise<void>
  /**
   * How many of the most recent {@link TraceEvent}s `trace()` keeps
   * (`Infinity` keeps all, 0 none).
   * @default 1000
   */
  traceLimit?: number
  /**
   * Called with every trace event as it happens (even when `traceLimit` is
   * 0), e.g. to stream a failing run to a log.
   * @default none
   */
  onTrace?: (event: TraceEvent) => void
}

/** {@link LinkOptions} with every field set. */
export type ResolvedLinkOptions = Required<LinkOptions>

/** What a link does when no option says otherwise. */
export const DEFAULT_LINK_OPTIONS: ResolvedLinkOptions = Object.freeze({
  latency: Object.freeze({ min: 1, max: 10 }),
  loss: 0,
  duplicate: 0,
  reorder: 0
})

/** Default of {@link InMemoryNetworkOptions.maxFrameSize}: 16 MiB. */
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024

/** Default of {@link InMemoryNetworkOptions.traceLimit}. */
export const DEFAULT_TRACE_LIMIT = 1000

const checkProbability = (p: number, what: string): number => {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new InvalidArgumentError(`${what} must be a probability in [0, 1], got ${p}`)
  return p
}

/**
 * Validates `options` and fills what they leave out from `base`.
 *
 * @throws {InvalidArgumentError} on a bad latency range or probability.
 */
export const resolveLinkOptions = (base: ResolvedLinkOptions, options: LinkOptions): ResolvedLinkOptions => {
  const latency = options.latency ?? base.latency
  if (typeof latency !== 'object' || latency === null || !(latency.min >= 0) || !(latency.max >= latency.min) || !Number.isFinite(latency.max)) {
    throw new InvalidArgumentError(`latency must be { min, max } with 0 <= min <= max < Infinity, got ${JSON.stringify(latency)}`)
  }
  return {
    latency: { min: latency.min, max: latency.max },
    loss: checkProbability(options.loss ?? base.loss, 'loss'),
    duplicate: checkProbability(options.duplicate ?? base.duplicate, 'duplicate'),
    reorder: checkProbability(options.reorder ?? base.reorder, 'reorder')
  }
}
