/**
 * Options and small structural types of the worker adapter: what the
 * worker script passes to `exposeDoc`, what a page passes to
 * `connectWorkerDoc`, and the optional WebRTC bridge.
 *
 * @module
 */
import type { Doc, Logger } from 'aegis-replication'
import type { Awareness } from 'aegis-replication/sync'
import type { IndexedDBPersistenceOptions } from 'aegis-replication/indexeddb'
import type { ProviderStatus, WebSocketProviderOptions } from 'aegis-replication/websocket'

/** A listener slot of {@link PortLike}; bivariant, so DOM and Node ports both fit. */
type Listener<E> = { bivarianceHack (event: E): void }['bivarianceHack']

/** One end of a message link: a `MessagePort`, a `Worker`, a worker's `self`. */
export interface PortLike {
  postMessage (message: unknown): void
  onmessage: Listener<{ data: unknown }> | null
  close? (): void
}

/**
 * What a (Shared)Worker does with each room, and what a leader tab does
 * in the fallback without SharedWorker.
 */
export interface RoomBackendOptions {
  /**
   * The hub to sync every room with (one `WebSocketProvider` per room, one
   * socket for all rooms). Without it the rooms stay on this device.
   * @default none
   */
  url?: string
  /**
   * Sent with each room's `join` (the hub's `auth(token, room)` decides).
   * A function of the room is asked for the current token before every
   * join (each reconnect, each retry after the hub said the token
   * expired), and may return a promise: see `WebSocketProvider`'s `token`.
   * It runs where these options are given — inside the worker for
   * `exposeDoc`, in the page for `connectWorkerDoc`'s `fallback` — and
   * never crosses `postMessage`.
   * @default ''
   */
  token?: string | ((room: string) => string | Promise<string>)
  /**
   * Persist each room in IndexedDB, in the database `persistenceName(room)`.
   * @default true
   */
  persistence?: boolean
  /**
   * The IndexedDB database name of a room.
   * @default room => `aegis:${room}`
   */
  persistenceName?: (room: string) => string
  /** Passed to each `IndexedDBPersistence`. @default {} */
  indexedDBOptions?: IndexedDBPersistenceOptions
  /**
   * Passed to each `WebSocketProvider` (`token`, `awareness` and
   * `persistence` are set by the adapter).
   * @default {}
   */
  websocketOptions?: Omit<WebSocketProviderOptions, 'token' | 'awareness' | 'persistence'>
  /** @default silentLogger */
  logger?: Logger
}

/** Options of {@link exposeDoc}. */
export interface ExposeDocOptions extends RoomBackendOptions {
  /**
   * Once the last page of a room has gone, keep the room's doc, storage
   * and socket this long (a reload comes back to a warm room), then close them.
   * @default 5_000
   */
  idleMs?: number
}

/** What the WebRTC adapter's module must provide (`aegis-replication/webrtc`). */
export interface WebRTCModule {
  WebRTCProvider: new (room: string, doc: Doc, opts: { signaling: string[], password?: string } & Record<string, unknown>) => { destroy (): void }
}

/**
 * The WebRTC bridge: one tab per room, elected with Web Locks, runs a
 * `WebRTCProvider` on its local doc (which the worker keeps in sync with
 * every other tab). When that tab closes, another one takes over.
 */
export interface WebRTCBridgeOptions {
  /** Hub URLs for signaling. */
  signaling: string[]
  /** The room password (signaling is encrypted with it). @default none */
  password?: string
  /** Further `WebRTCProvider` options (`iceServers`, `maxPeers`, …). @default {} */
  providerOptions?: Record<string, unknown>
  /**
   * Loads the WebRTC adapter; tests pass a stand-in.
   * @default () => import('aegis-replication/webrtc')
   */
  load?: () => Promise<WebRTCModule>
}

/** How a page reaches the shared doc. */
export type WorkerDocMode = 'shared-worker' | 'worker' | 'leader-tab'

/** Options of {@link connectWorkerDoc}. */
export interface ConnectWorkerDocOptions {
  /**
   * The local doc to keep in sync with the worker's.
   * @default a new Doc
   */
  doc?: Doc
  /**
   * The presence states of this page (relayed through the worker to the
   * other tabs and the hub).
   * @default a new Awareness
   */
  awareness?: Awareness
  /**
   * `'auto'`: a `SharedWorker` where there is one, else `'leader-tab'`.
   * `'worker'`: a dedicated module `Worker` of this page (one socket and
   * IndexedDB writer per tab, the page's main thread stays free).
   * `'leader-tab'`: no worker; the tab holding the Web Lock
   * `aegis-leader:<room>` runs `fallback` (IndexedDB + WebSocket), and all
   * tabs share the doc with `BroadcastChannelProvider`.
   * @default 'auto'
   */
  mode?: 'auto' | WorkerDocMode
  /**
   * The worker's name (`new SharedWorker(url, { name })`): pages that pass
   * the same URL and name share one worker.
   * @default 'aegis'
   */
  name?: string
  /**
   * What the leader tab runs in `'leader-tab'` mode: the same options the
   * worker script passes to `exposeDoc`. Without it a leader-tab page
   * only syncs with the other tabs.
   * @default {}
   */
  fallback?: RoomBackendOptions
  /** Run WebRTC for the room in one elected tab. @default none */
  webrtc?: WebRTCBridgeOptions
  /** @default silentLogger */
  logger?: Logger
}

/** What the worker reports about a room. */
export interface RoomStatus {
  /** The WebSocket provider's status; `'disconnected'` without a hub URL. */
  status: ProviderStatus
  /** Whether the worker's doc holds what the hub's copy holds. */
  synced: boolean
  /** Local updates the hub has not acknowledged. */
  pending: number
  /** Pages connected to this room. */
  pages: number
  /** The worker's doc, as JSON (for tests and debugging). */
  json: Record<string, unknown>
}
