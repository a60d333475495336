/**
 * The `aegis-hub` flags for {@link HubLimits}: one per field, kebab-case
 * (`maxConnectionsPerIp` → `--max-connections-per-ip`,
 * `AEGIS_HUB_MAX_CONNECTIONS_PER_IP`, `[hub] max_connections_per_ip`).
 * Left unset, the hub's own default applies.
 *
 * @module
 */
import type { FlagSpec } from './cli-flag-spec.js'
import type { HubLimits } from './limits.js'

const LIMITS: ReadonlyArray<[field: keyof HubLimits, shown: string, help: string]> = [
  ['maxConnections', '10000', 'open client connections; past it an upgrade gets HTTP 503'],
  ['maxConnectionsPerIp', '100', 'open connections from one IP address; past it HTTP 429'],
  ['messagesPerSecond', '500', 'messages per second one connection may send on average'],
  ['bytesPerSecond', '16777216', 'bytes per second one connection may send on average'],
  ['messagesPerSecondPerIp', '2000', 'messages per second all connections from one IP may send together'],
  ['bytesPerSecondPerIp', '67108864', 'bytes per second all connections from one IP may send together'],
  ['maxRoomsPerConnection', '100', 'rooms one connection may join'],
  ['maxOpenRooms', '10000', 'rooms open on the hub at once; a join past it gets Busy (4503)'],
  ['maxPresencePerConnection', '16', 'awareness client ids one connection may announce in one room'],
  ['maxPresencePerRoom', '1000', 'awareness states one room holds'],
  ['maxPresenceStateBytes', '16384', 'largest JSON presence state of one client, in bytes'],
  ['maxQueuedBytes', '67108864', 'bytes queued for a connection before it is closed as a slow consumer (4408)'],
  ['maxMessageBytes', '67108864', 'largest message after reassembly of its chunks'],
  ['maxReassemblyBytesPerConnection', '67108864', 'bytes of partly received chunked messages one connection may hold'],
  ['maxReassemblyBytes', '268435456', 'bytes of partly received chunked messages all connections may hold together'],
  ['partialMessageTimeoutMs', '30000', 'a chunked message not completed in this many ms is dropped and its sender closed'],
  ['headerTimeoutMs', '10000', 'an HTTP request (the WebSocket upgrade included) must send its headers within this many ms'],
  ['pingIntervalMs', '30000', 'the hub pings every WebSocket this often; one that missed the previous ping is closed']
]

const kebab = (camel: string): string => camel.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)

/** The limit flags, in the order of {@link HubLimits}. */
export const HUB_LIMIT_FLAGS: readonly FlagSpec[] = LIMITS.map(([field, shown, help]) => ({
  name: kebab(field), kind: 'integer', group: 'Limits', arg: 'N', min: 1, config: field, shown, help
}))

/** The flag name of each limit field: `maxConnections` → `max-connections`. */
export const LIMIT_FIELDS: ReadonlyArray<[field: keyof HubLimits, flag: string]> = LIMITS.map(([field]) => [field, kebab(field)])
