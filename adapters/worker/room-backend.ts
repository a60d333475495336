/**
 * What runs for a room where the doc is hosted (a SharedWorker, or the
 * leader tab without one): its IndexedDB persistence and its WebSocket
 * provider.
 *
 * @module
 */
import { silentLogger, type Doc, type Logger } from 'aegis-replication'
import type { Awareness } from 'aegis-replication/sync'
import { IndexedDBPersistence } from 'aegis-replication/indexeddb'
import { WebSocketProvider } from 'aegis-replication/websocket'
import type { RoomBackendOptions, RoomStatus } from './options.js'

/** The default IndexedDB database name of a room. */
export const defaultPersistenceName = (room: string): string => `aegis:${room}`

/** One room's storage and hub connection. */
export class RoomBackend {
  readonly persistence: IndexedDBPersistence | undefined
  readonly provider: WebSocketProvider | undefined
  /** Resolves once the stored state is in the doc (or loading it failed, which is logged). */
  readonly ready: Promise<void>
  private readonly logger: Logger

  constructor (room: string, doc: Doc, awareness: Awareness, opts: RoomBackendOptions) {
    this.logger = opts.logger ?? silentLogger
    if (opts.persistence ?? true) {
      const persistence = new IndexedDBPersistence((opts.persistenceName ?? defaultPersistenceName)(room), doc, opts.indexedDBOptions)
      persistence.on('error', err => this.logger.warn('IndexedDB persistence error', { room, error: err.message }))
      this.persistence = persistence
    }
    if (opts.url !== undefined) {
      const source = opts.token
      const token = typeof source === 'function' ? () => source(room) : source
      this.provider = new WebSocketProvider(opts.url, room, doc, {
        logger: this.logger,
        ...opts.websocketOptions,
        token,
        awareness,
        persistence: this.persistence
      })
    }
    this.ready = this.persistence === undefined
      ? Promise.resolve()
      : this.persistence.whenSynced.then(() => {}, (err: unknown) => {
        this.logger.warn('could not load the room from IndexedDB; going on without it', { room, error: String(err) })
      })
  }

  /** The hub connection's state. */
  status (): Pick<RoomStatus, 'status' | 'synced' | 'pending'> {
    const p = this.provider
    return p === undefined ? { status: 'disconnected', synced: false, pending: 0 } : { status: p.status, synced: p.synced, pending: p.pending }
  }

  /** Leaves the hub and closes the database once what is queued is stored. */
  async destroy (): Promise<void> {
    this.provider?.destroy()
    await this.persistence?.destroy()
  }
}
