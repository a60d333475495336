/**
 * `aegis-replication/worker`: run a `Doc` with its IndexedDB persistence
 * and WebSocket provider in a `SharedWorker` — one socket and one
 * IndexedDB writer for every tab of the origin — and use it from pages
 * through comlink. A page gets a local `Doc` kept in sync over a
 * `MessagePort` with a `PeerSync` session, so reads stay synchronous.
 *
 * The worker script:
 *
 * ```ts
 * // sync-worker.ts — bundle it as its own module
 * import { exposeDoc } from 'aegis-replication/worker'
 * exposeDoc({ url: 'wss://hub.example.com', token: 'secret' })
 * ```
 *
 * A page:
 *
 * ```ts
 * import { connectWorkerDoc } from 'aegis-replication/worker'
 * const shared = connectWorkerDoc(new URL('./sync-worker.js', import.meta.url), 'board-1', {
 *   // no SharedWorker (some mobile browsers): a leader tab runs the same
 *   fallback: { url: 'wss://hub.example.com', token: 'secret' },
 *   // optional: one tab (a Web Lock) runs WebRTC and bridges it to the worker
 *   webrtc: { signaling: ['wss://hub.example.com'], password: 'room secret' }
 * })
 * await shared.whenSynced // the stored state is here
 * shared.doc.map('tasks').set('t1', { title: 'Edited in one tab, seen in all' })
 * shared.awareness.setLocalStateField('user', { name: 'Ada' })
 * ```
 *
 * @module
 */
export { exposeDoc } from './expose-doc.js'
export type { WorkerDocService } from './expose-doc.js'
export { connectWorkerDoc, WorkerDoc } from './connect-worker-doc.js'
export type { WorkerDocEvents } from './connect-worker-doc.js'
export { DocHost, DEFAULT_IDLE_MS } from './doc-host.js'
export { PortSession } from './port-session.js'
export { RoomBackend, defaultPersistenceName } from './room-backend.js'
export { LeaderElection, holdLock, globalLocks } from './locks.js'
export type { LockManagerLike } from './locks.js'
export { WebRTCBridge, loadWebRTC } from './webrtc-bridge.js'
export type {
  ExposeDocOptions, ConnectWorkerDocOptions, RoomBackendOptions, WebRTCBridgeOptions, WebRTCModule,
  WorkerDocMode, RoomStatus, PortLike
} from './options.js'
