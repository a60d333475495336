/**
 * The worker script's side: {@link exposeDoc} hosts the rooms' docs and
 * answers pages through comlink.
 *
 * @module
 */
import * as Comlink from 'comlink'
import { DocHost } from './doc-host.js'
import type { ExposeDocOptions, RoomStatus } from './options.js'

/** What a page calls in the worker (through comlink). */
export interface WorkerDocService {
  /** Syncs `room` with the page over `port`; the page holds the Web Lock `pageLock` while it stays. */
  open (room: string, port: MessagePort, pageLock: string): Promise<void>
  /** The page with `pageLock` leaves `room`. */
  leave (room: string, pageLock: string): void
  /** Resolves once the worker's doc holds `version` and stored it. */
  flush (room: string, version: Uint8Array): Promise<void>
  /** The room's hub connection and pages. */
  status (room: string): RoomStatus
  /** A command for the hubs' Raft KV, sent over the room's hub connection. */
  kv (room: string, command: Uint8Array): Promise<Uint8Array>
}

interface WorkerScope {
  addEventListener (type: 'connect', listener: (event: { ports: readonly MessagePort[] }) => void): void
}

/**
 * Call once in a `SharedWorker` (or a dedicated module `Worker`) script:
 * hosts one `Doc` per room that pages open, with its
 * `IndexedDBPersistence` (database `aegis:<room>`) and, given `url`, its
 * `WebSocketProvider` (one socket for all rooms), and serves pages that
 * call `connectWorkerDoc`. Returns the {@link DocHost}.
 *
 * ```ts
 * // sync-worker.ts, loaded with connectWorkerDoc(new URL('./sync-worker.js', import.meta.url), room)
 * import { exposeDoc } from 'aegis-replication/worker'
 * exposeDoc({ url: 'wss://hub.example.com', token: room => sessionToken(room) })
 * ```
 */
export const exposeDoc = (options: ExposeDocOptions = {}): DocHost => {
  const host = new DocHost(options)
  const service: WorkerDocService = {
    open: (room, port, pageLock) => host.open(room, port, pageLock),
    leave: (room, pageLock) => host.leave(room, pageLock),
    flush: (room, version) => host.flush(room, version),
    status: room => host.status(room),
    kv: async (room, command) => await host.kv(room, command)
  }
  const scope = globalThis as unknown as WorkerScope & Comlink.Endpoint
  if ('onconnect' in globalThis) {
    // a SharedWorker: every page that connects gets its own port
    scope.addEventListener('connect', event => { for (const port of event.ports) Comlink.expose(service, port) })
  } else {
    Comlink.expose(service, scope)
  }
  return host
}
