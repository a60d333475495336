/**
 * The options and the driver-facing types of {@link SyncServer}: what it
 * needs per connection, and the limits it enforces (each with its default
 * and the close code a connection gets for passing it).
 *
 * @module
 */
import type { Logger } from '../components.js'
import type { HubRoom } from './hub-room.js'
import type { KvHandler } from './kv-endpoint.js'

/**
 * What `auth` answers for a token and a room. `'expired'` denies like
 * `'deny'` but tells the client (close code {@link ErrorCode.TokenExpired})
 * that a fresh token may be let in, so it retries instead of giving up.
 */
export type AuthDecision = 'read' | 'write' | 'deny' | 'expired'

/** Options of {@link SyncServer}. */
export interface SyncServerOptions {
  /** Opens (loads) a room; called once per room while it has members. */
  openRoom: (name: string) => Promise<HubRoom>
  /** Called when a room's last member leaves; the driver may unload it. */
  roomIdle?: (room: HubRoom) => void
  /** Decides what a token may do in a room. @default every token may write */
  auth?: (token: string, room: string) => AuthDecision | Promise<AuthDecision>
  /** Largest frame sent or accepted. @default DEFAULT_MAX_FRAME_BYTES (1 MiB) */
  maxFrameBytes?: number
  /** Largest message after reassembly. @default DEFAULT_MAX_MESSAGE_BYTES (64 MiB) */
  maxMessageBytes?: number
  /** Messages per second a connection may send on average. @default 500 */
  messagesPerSecond?: number
  /** Bytes per second a connection may send on average. @default 16 MiB */
  bytesPerSecond?: number
  /** Seconds of burst above the averages. @default 4 */
  burstSeconds?: number
  /** Rooms one connection may join (sync and signaling); a join past it gets `Denied` (4403) for that room. @default 100 */
  maxRoomsPerConnection?: number
  /** Rooms open (or opening) on the hub at once; a join past it gets `Busy` (4503). @default 10000 */
  maxOpenRooms?: number
  /**
   * Messages per second all connections from one IP (`connect(id, io, { ip })`)
   * may send together, with `burstSeconds` of burst; a connection that sends
   * past it is closed (`RateLimited`, 4429). @default 2000
   */
  messagesPerSecondPerIp?: number
  /** Bytes per second all connections from one IP may send together (as above). @default 64 MiB */
  bytesPerSecondPerIp?: number
  /**
   * Awareness client ids one connection may announce in one room. Entries
   * past a presence limit are dropped (not applied, not relayed) and the
   * sender gets a room error `TooLarge` (4413); it stays connected. @default 16
   */
  maxPresencePerConnection?: number
  /** Awareness states one room holds (at most `MAX_AWARENESS_ENTRIES`). @default 1000 */
  maxPresencePerRoom?: number
  /** Largest JSON presence state of one client, in bytes as re-encoded (at most 64 KiB). @default 16 KiB */
  maxPresenceStateBytes?: number
  /**
   * Bytes queued for a connection (its socket's `bufferedAmount`) before it
   * is closed as a slow consumer (`SlowConsumer`, 4408). @default 64 MiB
   */
  maxQueuedBytes?: number
  /**
   * Bytes of partly received chunked messages one connection may hold
   * (payload received plus 64 bytes a chunk); a chunk past it closes the
   * connection (`TooLarge`, 4413). @default 64 MiB
   */
  maxReassemblyBytesPerConnection?: number
  /**
   * Bytes of partly received chunked messages all connections may hold
   * together; a chunk past it closes its sender (`Busy`, 4503). @default 256 MiB
   */
  maxReassemblyBytes?: number
  /**
   * A chunked message not completed within this many ms (from its first
   * chunk) is dropped and its sender closed (`BadMessage`, 4400). Checked
   * when the sender sends anything and by {@link SyncServer.sweep}.
   * @default 30000
   */
  partialMessageTimeoutMs?: number
  /**
   * How long a WebRTC signaling peer id stays reserved for the token of the
   * connection that held it, after that connection left the room.
   * @default 60000
   */
  peerIdGraceMs?: number
  /** Milliseconds. @default Date.now */
  now?: () => number
  /** @default silentLogger */
  logger?: Logger
  /**
   * Serves `kv-request`s (the hub's Raft KV). Without it they are answered
   * `Failed` with a reason. `auth` is asked about the room `KV_AUTH_ROOM`.
   */
  kv?: KvHandler
}

/** What the driver gives the server for each connection. */
export interface ConnectionIO {
  /** Sends a frame; after the socket closed it must drop it quietly (as `ws` does). */
  send (frame: Uint8Array): void
  /** Close the socket with a WebSocket close code (4xxx) and a reason. */
  close (code: number, reason: string): void
  /** Bytes sent but not yet written to the network (a `ws` socket has it); watched for slow consumers. */
  readonly bufferedAmount?: number
}

/** Per-connection facts the driver knows, for {@link SyncServer.connect}. */
export interface ConnectOptions {
  /** The client's IP address: connections from one IP share the per-IP rate limits. */
  ip?: string
}

/** Hub-wide counts for metrics ({@link SyncServer.stats}). */
export interface SyncServerStats {
  /** Open connections. */
  connections: number
  /** Rooms open or opening. */
  openRooms: number
  /** IPs with an open connection (per-IP buckets held). */
  ips: number
  /** Bytes of partly received chunked messages held hub-wide. */
  reassemblyBytes: number
  /** Connections the server closed, by close code (e.g. `{ 4429: 3 }`), since it started. */
  closedByCode: Record<number, number>
}

/** Counters for metrics. */
export interface ConnectionStats {
  framesIn: number
  bytesIn: number
  framesOut: number
  bytesOut: number
}

