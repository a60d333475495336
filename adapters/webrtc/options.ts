/**
 * Options and events of the WebRTC provider.
 *
 * @module
 */
import type { Clock, Logger, Random } from 'aegis-replication'
import type { Awareness } from 'aegis-replication/sync'
import type { ProviderStatus, WebSocketConstructor } from 'aegis-replication/websocket'

/** Options of {@link WebRTCProvider}. */
export interface WebRTCProviderOptions {
  /** Hub URLs (`ws://…`) to signal through; each is a socket shared with the app's other providers on it. */
  signaling: string[]
  /**
   * STUN/TURN servers. Without any, peers connect only where host
   * candidates reach (one machine, one LAN): pass a STUN server (and TURN
   * for strict NATs) for peers across the internet.
   * @default []
   */
  iceServers?: RTCIceServer[]
  /**
   * Room password: signaling payloads are sealed with a key derived from it
   * (PBKDF2 → AES-GCM), so the hub relays bytes it cannot read, and peers
   * with another password never connect.
   * @default none (payloads are plain)
   */
  password?: string
  /**
   * Most data channels this peer keeps. Past it (here or at a peer), this
   * peer also joins the room on the hub(s) for sync, so updates still reach
   * every peer; it stays joined until destroyed.
   * @default 20
   */
  maxPeers?: number
  /** Handed to the hub's `auth(token, room)`; read-only suffices for signaling. @default '' */
  token?: string
  /** @default globalThis.WebSocket (in Node, pass `ws`) */
  WebSocket?: WebSocketConstructor
  /**
   * @default globalThis.RTCPeerConnection (in Node, e.g. `node-datachannel/polyfill`'s)
   */
  RTCPeerConnection?: typeof RTCPeerConnection
  /**
   * The presence states to share; the provider removes the local state on
   * `destroy()` and destroys the awareness only if it created it.
   * @default a new Awareness
   */
  awareness?: Awareness
  /** This peer's id in the room (at most 64 bytes). @default 32 random hex digits */
  peerId?: string
  /**
   * Largest data channel message; larger sync messages go as chunks.
   * Capped by the connection's `sctp.maxMessageSize`.
   * @default 65536
   */
  maxFrameBytes?: number
  /** Give up on a connection attempt after this long (ms). @default 15000 */
  connectTimeoutMs?: number
  /** First reconnect delay bound (ms), doubled per failed attempt, full jitter. @default 250 */
  minBackoffMs?: number
  /** @default 30000 */
  maxBackoffMs?: number
  /** Stop re-offering to a peer whose link died after this many failed attempts (until it announces again). @default 8 */
  maxReconnectAttempts?: number
  /** Load the `webrtc-adapter` shim (in windows only). @default true */
  shim?: boolean
  /** @default systemClock() */
  clock?: Clock
  /** @default systemRandom() */
  random?: Random
  /** @default silentLogger */
  logger?: Logger
}

/** Who the provider is connected to, when that changed. */
export interface PeersChange {
  added: string[]
  removed: string[]
  /** Peer ids with an open data channel. */
  connected: string[]
}

/** Events of {@link WebRTCProvider}. */
export interface WebRTCProviderEvents {
  /** The signaling connection changed: `connected` while at least one hub is. */
  status: (status: ProviderStatus) => void
  /** A data channel opened or closed. */
  peers: (change: PeersChange) => void
  /** `true` once every open channel (and, when syncing through it, the hub) holds what this doc holds. */
  synced: (synced: boolean) => void
  /** Signaling moved to syncing through the hub (past `maxPeers`). */
  'hub-sync': () => void
}
