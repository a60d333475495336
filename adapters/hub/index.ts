/**
 * `aegis-replication/hub` (Node): `createHub` — the WebSocket relay with
 * durable rooms, auth, limits, `/healthz` and `/metrics` — and the CLI
 * `aegis-hub`.
 *
 * ```ts
 * import { createHub } from 'aegis-replication/hub'
 * const hub = await createHub({ port: 4444, dataDir: './.aegis-data', auth: (token, room) => token === 'secret' ? 'write' : 'read' })
 * // … clients connect with WebSocketProvider(hub.url, room, doc, { token })
 * await hub.close()
 * ```
 *
 * @module
 */
export { createHub } from './create-hub.js'
export type { Hub, HubOptions, HubMetrics } from './create-hub.js'
export type { HubLimits } from './limits.js'
export { RoomStorage, roomDir } from './room-storage.js'
export type { RoomStorageOptions } from './room-storage.js'
export { runHubCli } from './cli.js'
export { jsonLineLogger } from './log.js'
export { HubConfigError } from './protected-mode.js'
export { createJwtAuth } from './jwt-auth.js'
export type { JwtAuth, JwtAuthOptions } from './jwt-auth.js'
