/**
 * The options and the small structural types of the WebSocket provider: the
 * socket it drives is anything shaped like the standard `WebSocket` (the
 * browser's, a worker's, Node's global one, or the `ws` package's).
 *
 * @module
 */
import type { Clock, Logger, Random } from 'aegis-replication'
import type { Awareness, ErrorCode, TokenSource } from 'aegis-replication/sync'

/** A listener slot of {@link WebSocketLike}; bivariant, so DOM and `ws` sockets both fit. */
type Listener<E> = { bivarianceHack (event: E): void }['bivarianceHack']

/**
 * The part of the standard `WebSocket` the provider uses. The browser's
 * `WebSocket` and the `ws` package's both have it.
 */
export interface WebSocketLike {
  binaryType: string
  readonly readyState: number
  send (data: Uint8Array): void
  close (code?: number, reason?: string): void
  onopen: Listener<unknown> | null
  onmessage: Listener<{ data: unknown }> | null
  onclose: Listener<{ code: number, reason: string }> | null
  onerror: Listener<unknown> | null
}

/** A `WebSocket` constructor: `globalThis.WebSocket`, or `ws`'s default export in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike

/** The state of a provider's connection to the hub. */
export type ProviderStatus = 'connecting' | 'connected' | 'disconnected'

/**
 * Why the hub refused something in a room (`code` is an `ErrorCode`, e.g.
 * 4403 denied, 4401 token expired). When the token function itself failed,
 * `code` is 4401 and `cause` is what it threw.
 */
export interface RoomError {
  code: ErrorCode
  reason: string
  cause?: unknown
}

/** Options of {@link WebSocketProvider}. */
export interface WebSocketProviderOptions {
  /**
   * Sent with the room's `join` (and with KV requests); the hub's
   * `auth(token, room)` decides. A function `() => string |
   * Promise<string>` is called for the current token before every join —
   * on every (re)connect and every retry — and before every KV send.
   *
   * When the hub answers that the token expired (4401), a function token
   * is asked again after a backoff (full jitter, 1 s doubling up to 30 s);
   * a denied room (4403) is retried every 15–30 s. A fixed string token is
   * final on both: the room stays offline (status `'denied'`) until it is
   * connected again. A token function that throws or rejects emits
   * `error` (code 4401, with `cause`) and is retried with the same backoff.
   * @default ''
   */
  token?: TokenSource
  /**
   * The `WebSocket` constructor. Node 20 has none: pass `ws`'s
   * (`import WebSocket from 'ws'`).
   * @default globalThis.WebSocket
   */
  WebSocket?: WebSocketConstructor
  /**
   * Connect at once; with `false`, nothing happens until `connect()`.
   * @default true
   */
  connect?: boolean
  /**
   * The presence states to share in this room. The provider removes the
   * local state on `destroy()`, and destroys the awareness only if it
   * created it.
   * @default a new Awareness
   */
  awareness?: Awareness
  /**
   * Reconnect delays grow from `minBackoffMs` up to this, with full jitter.
   * Shared by every room on the URL: the first provider's value counts.
   * @default 30_000
   */
  maxBackoffMs?: number
  /**
   * The first reconnect delay's upper bound, doubled after each failed
   * attempt; reset once a socket opens, unless the hub then closes it with
   * a 44xx code (too large, rate limited, …). First provider's value counts.
   * @default 250
   */
  minBackoffMs?: number
  /**
   * Largest frame sent; larger messages go as chunks. Keep it at or under
   * the hub's limit. First provider's value counts.
   * @default DEFAULT_MAX_FRAME_BYTES (1 MiB)
   */
  maxFrameBytes?: number
  /**
   * Timers and time (reconnects, ticks, awareness timeouts).
   * @default systemClock()
   */
  clock?: Clock
  /**
   * Jitter of reconnect delays.
   * @default systemRandom()
   */
  random?: Random
  /** @default silentLogger */
  logger?: Logger
  /**
   * How often the sync client resends what seems lost. First provider's
   * value counts.
   * @default 1000
   */
  tickMs?: number
  /**
   * The doc's local storage (e.g. an `IndexedDBPersistence`). When given,
   * the provider tells the hub what is durable on this device (a `held`
   * state vector, after `flush()`), so the hub knows which clients hold a
   * durable copy.
   * @default none
   */
  persistence?: { flush (): Promise<unknown> }
  /**
   * With `persistence`: report what is held at most this often (ms).
   * @default 1000
   */
  heldEveryMs?: number
}
