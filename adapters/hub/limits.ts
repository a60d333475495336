/**
 * The hub's limits: every resource a client can make the hub spend is
 * bounded, with defaults safe for a hub on the internet. `createHub({ limits })`,
 * the `aegis-hub` flags and the config file's `[hub]` keys all set these.
 *
 * @module
 */

/** Limits of one hub (see the README's "Limits" section). */
export interface HubLimits {
  /** Open client WebSocket connections; past it an upgrade is refused with HTTP 503. @default 10000 */
  maxConnections?: number
  /** Open connections from one IP address; past it an upgrade is refused with HTTP 429. @default 100 */
  maxConnectionsPerIp?: number
  /** Messages per second one connection may send on average. @default 500 */
  messagesPerSecond?: number
  /** Bytes per second one connection may send on average. @default 16 MiB */
  bytesPerSecond?: number
  /** Messages per second all connections from one IP may send together. @default 2000 */
  messagesPerSecondPerIp?: number
  /** Bytes per second all connections from one IP may send together. @default 64 MiB */
  bytesPerSecondPerIp?: number
  /** Rooms one connection may join. @default 100 */
  maxRoomsPerConnection?: number
  /** Rooms open on the hub at once; a join past it gets `Busy` (4503). @default 10000 */
  maxOpenRooms?: number
  /** Awareness client ids one connection may announce in one room. @default 16 */
  maxPresencePerConnection?: number
  /** Awareness states one room holds. @default 1000 */
  maxPresencePerRoom?: number
  /** Largest JSON presence state of one client, in bytes. @default 16 KiB */
  maxPresenceStateBytes?: number
  /** Bytes queued for a connection before it is closed as a slow consumer (4408). @default 64 MiB */
  maxQueuedBytes?: number
  /** Largest message after reassembly of its chunks. @default 64 MiB */
  maxMessageBytes?: number
  /** Bytes of partly received chunked messages one connection may hold. @default 64 MiB */
  maxReassemblyBytesPerConnection?: number
  /** Bytes of partly received chunked messages all connections may hold together. @default 256 MiB */
  maxReassemblyBytes?: number
  /** A chunked message not completed in this many ms is dropped and its sender closed. @default 30000 */
  partialMessageTimeoutMs?: number
  /** An HTTP request (the WebSocket upgrade included) must send its headers within this many ms. @default 10000 */
  headerTimeoutMs?: number
  /** The hub pings every WebSocket this often; one that has not answered the previous ping is closed. @default 30000 */
  pingIntervalMs?: number
}
