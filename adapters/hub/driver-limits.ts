/**
 * The hub's limits split in two: those the Node driver enforces on sockets
 * (connections, header timeout, pings) with their defaults, and those it
 * hands to `SyncServer` unchanged (same names).
 *
 * @module
 */
import type { SyncServerOptions } from 'aegis-replication/sync'
import type { HubLimits } from './limits.js'

/** The socket-level limits, defaults applied. */
export interface DriverLimits {
  maxConnections: number
  maxConnectionsPerIp: number
  headerTimeoutMs: number
  pingIntervalMs: number
}

/** Defaults as documented on {@link HubLimits}. */
export const driverLimits = (l: HubLimits = {}): DriverLimits => ({
  maxConnections: l.maxConnections ?? 10_000,
  maxConnectionsPerIp: l.maxConnectionsPerIp ?? 100,
  headerTimeoutMs: l.headerTimeoutMs ?? 10_000,
  pingIntervalMs: l.pingIntervalMs ?? 30_000
})

type SyncLimits = Pick<SyncServerOptions,
'messagesPerSecond' | 'bytesPerSecond' | 'messagesPerSecondPerIp' | 'bytesPerSecondPerIp' | 'maxRoomsPerConnection' |
'maxOpenRooms' | 'maxPresencePerConnection' | 'maxPresencePerRoom' | 'maxPresenceStateBytes' | 'maxQueuedBytes' |
'maxMessageBytes' | 'maxReassemblyBytesPerConnection' | 'maxReassemblyBytes' | 'partialMessageTimeoutMs'>

/**
 * The limits `SyncServer` enforces (undefined ones keep its defaults, which
 * are the same as {@link HubLimits}'). `messagesPerSecond` falls back to
 * the older top-level `HubOptions.messagesPerSecond`.
 */
export const syncLimits = (l: HubLimits = {}, messagesPerSecond?: number): SyncLimits => ({
  messagesPerSecond: l.messagesPerSecond ?? messagesPerSecond,
  bytesPerSecond: l.bytesPerSecond,
  messagesPerSecondPerIp: l.messagesPerSecondPerIp,
  bytesPerSecondPerIp: l.bytesPerSecondPerIp,
  maxRoomsPerConnection: l.maxRoomsPerConnection,
  maxOpenRooms: l.maxOpenRooms,
  maxPresencePerConnection: l.maxPresencePerConnection,
  maxPresencePerRoom: l.maxPresencePerRoom,
  maxPresenceStateBytes: l.maxPresenceStateBytes,
  maxQueuedBytes: l.maxQueuedBytes,
  maxMessageBytes: l.maxMessageBytes,
  maxReassemblyBytesPerConnection: l.maxReassemblyBytesPerConnection,
  maxReassemblyBytes: l.maxReassemblyBytes,
  partialMessageTimeoutMs: l.partialMessageTimeoutMs
})
