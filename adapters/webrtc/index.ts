/**
 * `aegis-replication/webrtc`: sync a `Doc` peer-to-peer among the pages of
 * a room over WebRTC data channels. Peers find each other through hubs
 * (signaling over the hub's own socket, shared with WebSocket providers);
 * peers already in the room offer to a newcomer (colliding offers: the
 * smaller peer id's stands, as in perfect negotiation with fixed roles);
 * each channel runs the symmetric
 * sync handshake (`PeerSync`) and carries awareness; large updates go as
 * chunks under the channel's message limit. Channels stay up, and keep
 * syncing, when the hub goes away; a dead channel is re-offered with
 * backoff. With a room password, signaling payloads are sealed with
 * AES-GCM (key from PBKDF2), so the hub relays bytes it cannot read and
 * peers with another password never connect. Past `maxPeers` channels a
 * peer syncs through the hub room as well. Loads the `webrtc-adapter` shim
 * lazily, in windows only.
 *
 * ```ts
 * import { Doc } from 'aegis-replication'
 * import { WebRTCProvider } from 'aegis-replication/webrtc'
 *
 * const doc = new Doc()
 * const provider = new WebRTCProvider('board-1', doc, {
 *   signaling: ['wss://hub.example.com'],
 *   iceServers: [{ urls: 'stun:stun.l.google.com:19302' }],
 *   password: 'correct horse battery staple'
 * })
 * provider.on('peers', ({ connected }) => console.log('peers', connected))
 * provider.awareness.setLocalStateField('user', { name: 'Ada' })
 * doc.map('tasks').set('t1', { title: 'Ship it' })
 * ```
 *
 * @module
 */
export { WebRTCProvider } from './provider.js'
export type { WebRTCProviderOptions, WebRTCProviderEvents, PeersChange } from './options.js'
