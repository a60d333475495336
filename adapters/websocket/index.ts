/**
 * `aegis-replication/websocket`: sync a `Doc` with a room on a hub
 * over WebSocket, in browsers, workers and Node. Reconnects with
 * exponential backoff and full jitter; edits made offline go out on
 * reconnect; `pending` counts what the hub has not yet made durable; rooms
 * to one URL share one socket; presence travels as awareness updates.
 *
 * ```ts
 * import { Doc } from 'aegis-replication'
 * import { WebSocketProvider } from 'aegis-replication/websocket'
 * import WebSocket from 'ws' // Node 20 only; browsers use their own
 *
 * const doc = new Doc()
 * const provider = new WebSocketProvider('ws://127.0.0.1:4444', 'board-1', doc, { WebSocket, token: 'secret' })
 * provider.on('status', status => console.log(status)) // connecting, connected, disconnected
 * provider.awareness.setLocalStateField('user', { name: 'Ada' })
 * await provider.whenSynced
 * doc.map('tasks').set('t1', { title: 'Ship it' })
 * provider.on('pending', n => { if (n === 0) console.log('saved on the hub') })
 *
 * // tokens that expire: a function, asked before every join (each reconnect,
 * // and each retry after the hub answered 4401 "token expired"); getJwt is the app's
 * const live = new WebSocketProvider('ws://127.0.0.1:4444', 'board-2', new Doc(), { WebSocket, token: async () => await getJwt() })
 * ```
 *
 * @module
 */
export { WebSocketProvider } from './provider.js'
export type { WebSocketProviderEvents } from './provider.js'
export type { WebSocketProviderOptions, WebSocketLike, WebSocketConstructor, ProviderStatus, RoomError } from './options.js'
export type { TokenSource } from 'aegis-replication/sync'
/**
 * @internal The shared hub socket, for other providers that speak the sync
 * protocol to a hub (the WebRTC provider signals over it). Not a stable API.
 */
export { joinConnection, HubConnection } from './connection.js'
export type { ConnectionMember, ConnectionSettings } from './connection.js'
/** @internal */
export { backoffDelay } from './backoff.js'
