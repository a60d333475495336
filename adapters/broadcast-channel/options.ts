/**
 * Options of the BroadcastChannel provider and the small structural type of
 * the channel it drives (the browser's, a worker's, or Node's global one).
 *
 * @module
 */
import type { Clock, Logger } from 'aegis-replication'
import type { Awareness } from 'aegis-replication/sync'

/** The part of the standard `BroadcastChannel` the provider uses. */
export interface BroadcastChannelLike {
  postMessage (message: unknown): void
  close (): void
  onmessage: ((event: { data: unknown }) => void) | null
}

/** A `BroadcastChannel` constructor (`globalThis.BroadcastChannel` by default). */
export type BroadcastChannelConstructor = new (name: string) => BroadcastChannelLike

/** Options of {@link BroadcastChannelProvider}. */
export interface BroadcastChannelProviderOptions {
  /**
   * The presence states to share over the channel. The provider removes the
   * local state on `destroy()`, and destroys the awareness only if it
   * created it.
   * @default a new Awareness
   */
  awareness?: Awareness
  /**
   * With no answer from another tab for this long after joining, the
   * provider counts as `synced` (it is most likely alone; should a busy tab
   * answer later, its state still arrives).
   * @default 100
   */
  aloneAfterMs?: number
  /**
   * Send the state vector again this often, so a frame lost to a frozen
   * tab is repaired.
   * @default 10_000
   */
  resyncEveryMs?: number
  /**
   * Join the channel at once; with `false`, nothing happens until `connect()`.
   * @default true
   */
  connect?: boolean
  /**
   * The `BroadcastChannel` constructor.
   * @default globalThis.BroadcastChannel
   */
  BroadcastChannel?: BroadcastChannelConstructor
  /**
   * Timers and time (the alone timer, anti-entropy, awareness timeouts).
   * @default systemClock()
   */
  clock?: Clock
  /** @default silentLogger */
  logger?: Logger
}

/** Default of {@link BroadcastChannelProviderOptions.aloneAfterMs}. */
export const DEFAULT_ALONE_AFTER_MS = 100

/** The channel name of a room: `aegis:<room>`. */
export const channelName = (room: string): string => `aegis:${room}`
