/**
 * The one place that decides how a board's doc is connected. The rest of
 * the app sees a {@link BoardConnection}: a `Doc`, presence, the link's
 * state, and the hub's Raft KV when the hub has one.
 *
 * Today: the doc lives in the page, kept in IndexedDB
 * (`aegis-replication/indexeddb`) and synced with the hub over WebSocket
 * (`aegis-replication/websocket`); presence travels with the provider.
 *
 * Planned, each behind this seam only (the adapters are being written):
 * - `aegis-replication/worker`: `connectWorkerDoc(url, room)` returns a
 *   local Doc synced with a SharedWorker that owns IndexedDB and the
 *   WebSocket, so all tabs of the origin share one socket and one writer.
 *   It replaces both the persistence and the provider below.
 * - `aegis-replication/webrtc`: `new WebRTCProvider(room, doc, { signaling:
 *   [hubUrl], maxPeers })` beside the hub link, so peers keep syncing
 *   directly when the hub goes away (in the Web-Locks-elected tab when the
 *   worker runs the doc).
 * - `aegis-replication/broadcast-channel`: cross-tab sync with no server,
 *   where the worker is not used.
 * - the hub's Raft KV as `provider.kv` (see {@link kvOf}).
 *
 * @module
 */
import { Doc } from 'aegis-replication'
import { IndexedDBPersistence, readReplicaId } from 'aegis-replication/indexeddb'
import type { Awareness } from 'aegis-replication/sync'
import { WebSocketProvider } from 'aegis-replication/websocket'

/** The state of the link to the hub. */
export type LinkStatus = 'connecting' | 'connected' | 'disconnected'

/**
 * The part of the hub's Raft KV the app uses (values are bytes; `null`
 * means absent). The shape of `RaftKv` in `aegis-replication/raft`.
 */
export interface KvClient {
  get (key: string): Promise<Uint8Array | null>
  cas (key: string, expected: Uint8Array | null, next: Uint8Array | null): Promise<boolean>
}

/** A board's doc and how it is connected. */
export interface BoardConnection {
  readonly doc: Doc
  /** Presence of everyone on the board. */
  readonly awareness: Awareness
  readonly status: LinkStatus
  /** Whether the doc holds what the hub holds. */
  readonly synced: boolean
  /** Local changes the hub has not stored yet. */
  readonly pending: number
  /** What carries the doc, for the footer (e.g. `['IndexedDB', 'WebSocket']`). */
  readonly transports: string[]
  /** Why local storage is not used, if it is not. */
  readonly storageProblem: string | undefined
  /** The hub's linearizable KV, when the hub offers one. */
  readonly kv: KvClient | undefined
  /** Calls `f` when status, synced or pending change; returns the unsubscribe. */
  onChange (f: () => void): () => void
  destroy (): void
}

export interface ConnectOptions {
  /** The hub's WebSocket URL. */
  hubUrl: string
  /** Reconnect delays (ms). @default 250 and 5000: a demo should come back quickly */
  minBackoffMs?: number
  maxBackoffMs?: number
}

/** The hub room of a board. */
export const roomName = (board: string): string => `board:${board}`
/** The IndexedDB database of a board. */
export const databaseName = (board: string): string => `aegis-demo:${board}`

/**
 * Holds a Web Lock named `name` for as long as the page lives, if no
 * other tab holds it: only then may this tab reuse the stored replica id
 * (two live docs with one id would corrupt each other's changes).
 */
const holdLock = async (name: string): Promise<boolean> => {
  const locks = (navigator as { locks?: LockManager }).locks
  if (locks === undefined) return false
  return await new Promise<boolean>(resolve => {
    locks.request(name, { ifAvailable: true }, async lock => {
      resolve(lock !== null)
      if (lock !== null) await new Promise(() => {}) // held until the page goes
    }).catch(() => resolve(false))
  })
}

/**
 * The hub's KV, once the WebSocket provider exposes it as `provider.kv`
 * (issue 5: "clients call it over their existing WebSocket,
 * `provider.kv.cas(key, expected, next)`"). Until then: undefined, and the
 * app says the action is unavailable.
 */
export const kvOf = (provider: object): KvClient | undefined => {
  const kv = (provider as { kv?: Partial<KvClient> }).kv
  return typeof kv?.cas === 'function' && typeof kv.get === 'function' ? kv as KvClient : undefined
}

/** Opens a board: local data first (if storage works), then the hub link. */
export const connectBoard = async (board: string, options: ConnectOptions): Promise<BoardConnection> => {
  const dbName = databaseName(board)
  let storageProblem: string | undefined
  let replicaId: string | undefined
  try {
    if (await holdLock(dbName)) replicaId = await readReplicaId(dbName)
  } catch (err) {
    storageProblem = `IndexedDB is not available: ${(err as Error).message}`
  }
  const doc = new Doc(replicaId === undefined ? {} : { replicaId })
  let persistence: IndexedDBPersistence | undefined
  if (storageProblem === undefined) {
    persistence = new IndexedDBPersistence(dbName, doc)
    persistence.on('error', err => { console.warn('[aegis-demo] local storage:', err.message) })
  }
  const provider = new WebSocketProvider(options.hubUrl, roomName(board), doc, {
    minBackoffMs: options.minBackoffMs ?? 250,
    maxBackoffMs: options.maxBackoffMs ?? 5000,
    persistence,
    connect: false
  })
  // the hub and IndexedDB race, as they should; the page renders what
  // IndexedDB had before the hub answers (or with no hub at all)
  provider.connect()
  if (persistence !== undefined) {
    try {
      await persistence.whenSynced
    } catch (err) {
      storageProblem = `could not load the local copy: ${(err as Error).message}`
    }
  }
  const transports = persistence !== undefined && storageProblem === undefined ? ['IndexedDB', 'WebSocket'] : ['WebSocket']

  return {
    doc,
    awareness: provider.awareness,
    get status () { return provider.status },
    get synced () { return provider.synced },
    get pending () { return provider.pending },
    transports,
    storageProblem,
    get kv () { return kvOf(provider) },
    onChange (f) {
      provider.on('status', f)
      provider.on('synced', f)
      provider.on('pending', f)
      return () => {
        provider.off('status', f)
        provider.off('synced', f)
        provider.off('pending', f)
      }
    },
    destroy () {
      provider.destroy()
      void persistence?.destroy()
      doc.destroy()
    }
  }
}
