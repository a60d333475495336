/**
 * The one place that decides how a board's doc is connected. The rest of
 * the app sees a {@link BoardConnection}: a `Doc`, presence, the link's
 * state, and the hub's Raft KV when the hub has one.
 *
 * - `'worker'` (where `SharedWorker` exists): `connectWorkerDoc` from
 *   `aegis-replication/worker` gives the page a local Doc synced with a
 *   SharedWorker (`sync-worker.ts`) that owns IndexedDB and the WebSocket
 *   for every tab of the origin: one socket, one writer, tabs in sync
 *   with no server. WebRTC (`aegis-replication/webrtc`, peers keep syncing
 *   directly when the hub goes away) runs in one tab elected with Web
 *   Locks and is bridged to the worker.
 * - `'page'` (no SharedWorker, e.g. Chrome on Android, or `?via=page`):
 *   the page keeps the doc in IndexedDB (`aegis-replication/indexeddb`)
 *   and syncs it over its own `WebSocketProvider`, plus a `WebRTCProvider`.
 * - The hubs' Raft KV reaches the app as `provider.kv` (see {@link kvOf});
 *   in `'worker'` mode the provider lives in the worker, which does not
 *   pass it through yet, so the page opens a socket of its own for it on
 *   first use (see {@link kvOnOwnSocket}).
 *
 * @module
 */
import { Doc } from 'aegis-replication'
import { IndexedDBPersistence, readReplicaId } from 'aegis-replication/indexeddb'
import type { Awareness } from 'aegis-replication/sync'
import { WebRTCProvider, type WebRTCProviderOptions } from 'aegis-replication/webrtc'
import { WebSocketProvider } from 'aegis-replication/websocket'
import { connectWorkerDoc, type WebRTCModule } from 'aegis-replication/worker'
import { databaseName, roomName } from './connect-names.js'

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
  /** How the page reaches the doc. */
  readonly via: Via
  /**
   * Peers this page syncs with directly over WebRTC; undefined where this
   * page runs no WebRTC (in `'worker'` mode, the tabs that do not lead).
   */
  readonly peers: number | undefined
  /** Why local storage is not used, if it is not. */
  readonly storageProblem: string | undefined
  /** The hub's linearizable KV, when the hub offers one. */
  readonly kv: KvClient | undefined
  /** Calls `f` when status, synced or pending change; returns the unsubscribe. */
  onChange (f: () => void): () => void
  destroy (): void
}

/** How the page reaches the board's doc (see the module docs). */
export type Via = 'worker' | 'page'

export interface ConnectOptions {
  /** The hub's WebSocket URL. */
  hubUrl: string
  /** `'auto'`: the worker where there is `SharedWorker`, else the page. @default 'auto' */
  via?: 'auto' | Via
  /** Sync peer to peer as well. @default true */
  webrtc?: boolean
  /** Reconnect delays (ms). @default 250 and 5000: a demo should come back quickly */
  minBackoffMs?: number
  maxBackoffMs?: number
}

export { roomName, databaseName }

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
 * The hub's KV over a provider's connection (`provider.kv`, issue 5:
 * "clients call it over their existing WebSocket"); undefined when the
 * package's provider has none.
 */
export const kvOf = (provider: object): KvClient | undefined => {
  const kv = (provider as { kv?: Partial<KvClient> }).kv
  return typeof kv?.cas === 'function' && typeof kv.get === 'function' ? kv as KvClient : undefined
}

/**
 * In `'worker'` mode the board's provider lives in the worker, which does
 * not pass `kv` through (yet): the page opens a socket of its own on first
 * use, joined to the room `board-names` (an empty doc: the names live in
 * the Raft KV, the room only carries the requests), and keeps it.
 */
const kvOnOwnSocket = (hubUrl: string, backoff: { minBackoffMs: number, maxBackoffMs: number }): KvClient | undefined => {
  let kv: KvClient | undefined
  const open = (): KvClient => {
    if (kv !== undefined) return kv
    const provider = new WebSocketProvider(hubUrl, 'board-names', new Doc(), backoff)
    const found = kvOf(provider)
    if (found === undefined) {
      provider.destroy()
      throw new Error('this version of the WebSocket provider has no kv')
    }
    return (kv = found)
  }
  if (!('kv' in WebSocketProvider.prototype)) return undefined
  return {
    get: async key => await open().get(key),
    cas: async (key, expected, next) => await open().cas(key, expected, next)
  }
}

/** Opens a board: local data first (if storage works), then the hub link. */
export const connectBoard = async (board: string, options: ConnectOptions): Promise<BoardConnection> => {
  const via = options.via ?? 'auto'
  const hasSharedWorker = typeof (globalThis as { SharedWorker?: unknown }).SharedWorker === 'function'
  return via === 'worker' || (via === 'auto' && hasSharedWorker)
    ? await throughWorker(board, options)
    : await inPage(board, options)
}

/** How often the page asks the worker for the hub link's state (ms). */
const STATUS_EVERY_MS = 400
/** How long to wait for the worker's copy before rendering what there is (ms). */
const WORKER_WAIT_MS = 3000

const throughWorker = async (board: string, options: ConnectOptions): Promise<BoardConnection> => {
  const backoff = { minBackoffMs: options.minBackoffMs ?? 250, maxBackoffMs: options.maxBackoffMs ?? 5000 }
  const kv = kvOnOwnSocket(options.hubUrl, backoff)
  const worker = new URL(`sync-worker.js?hub=${encodeURIComponent(options.hubUrl)}`, document.baseURI)
  const listeners = new Set<() => void>()
  const notify = (): void => { for (const f of listeners) f() }
  // the bridge runs the WebRTC provider while this tab leads; this subclass
  // only lets the page see the provider's direct peers
  let rtcPeers: number | undefined
  class ObservedWebRTCProvider extends WebRTCProvider {
    constructor (room: string, doc: Doc, opts: WebRTCProviderOptions) {
      super(room, doc, opts)
      rtcPeers = 0
      this.on('peers', ({ connected }) => { rtcPeers = connected.length; notify() })
    }

    override destroy (): void {
      rtcPeers = undefined
      notify()
      super.destroy()
    }
  }
  const shared = connectWorkerDoc(worker, roomName(board), {
    mode: 'shared-worker',
    name: 'aegis-demo',
    webrtc: options.webrtc === false
      ? undefined
      : {
          signaling: [options.hubUrl],
          providerOptions: { maxPeers: 8, ...backoff },
          load: async () => ({ WebRTCProvider: ObservedWebRTCProvider as WebRTCModule['WebRTCProvider'] })
        }
  })
  // what the worker holds (IndexedDB's copy included) arrives first; a slow worker does not hold up the page
  await Promise.race([shared.whenSynced, new Promise(resolve => setTimeout(resolve, WORKER_WAIT_MS))])
  let link = { status: 'connecting' as LinkStatus, synced: false, pending: 0 }
  const poll = (): void => {
    shared.status().then(s => {
      const next = { status: s.status, synced: s.synced && shared.synced, pending: s.pending }
      if (next.status === link.status && next.synced === link.synced && next.pending === link.pending) return
      link = next
      notify()
    }, () => {})
  }
  poll()
  const timer = setInterval(poll, STATUS_EVERY_MS)
  const leader = notify
  shared.on('leader', leader)
  return {
    doc: shared.doc,
    awareness: shared.awareness,
    get status () { return link.status },
    get synced () { return link.synced },
    get pending () { return link.pending },
    get transports () {
      return ['SharedWorker (IndexedDB + WebSocket)', ...options.webrtc === false ? [] : [shared.isWebRTCLeader ? 'WebRTC (this tab)' : 'WebRTC (another tab)']]
    },
    via: 'worker',
    get peers () { return rtcPeers },
    storageProblem: undefined,
    kv,
    onChange (f) {
      listeners.add(f)
      return () => listeners.delete(f)
    },
    destroy () {
      clearInterval(timer)
      shared.off('leader', leader)
      shared.destroy()
    }
  }
}

const inPage = async (board: string, options: ConnectOptions): Promise<BoardConnection> => {
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
  // peers keep syncing directly when the hub goes away; presence rides along
  const rtc = options.webrtc === false
    ? undefined
    : new WebRTCProvider(roomName(board), doc, { signaling: [options.hubUrl], awareness: provider.awareness, maxPeers: 8, minBackoffMs: options.minBackoffMs ?? 250, maxBackoffMs: options.maxBackoffMs ?? 5000 })
  if (persistence !== undefined) {
    try {
      await persistence.whenSynced
    } catch (err) {
      storageProblem = `could not load the local copy: ${(err as Error).message}`
    }
  }
  let rtcPeers = 0
  const peerListeners = new Set<() => void>()
  rtc?.on('peers', ({ connected }) => {
    rtcPeers = connected.length
    for (const f of peerListeners) f()
  })
  const transports = [...persistence !== undefined && storageProblem === undefined ? ['IndexedDB'] : [], 'WebSocket', ...rtc === undefined ? [] : ['WebRTC']]

  return {
    doc,
    awareness: provider.awareness,
    get status () { return provider.status },
    get synced () { return provider.synced },
    get pending () { return provider.pending },
    transports,
    via: 'page',
    get peers () { return rtcPeers },
    storageProblem,
    kv: kvOf(provider),
    onChange (f) {
      provider.on('status', f)
      provider.on('synced', f)
      provider.on('pending', f)
      peerListeners.add(f)
      return () => {
        peerListeners.delete(f)
        provider.off('status', f)
        provider.off('synced', f)
        provider.off('pending', f)
      }
    },
    destroy () {
      rtc?.destroy()
      provider.destroy()
      void persistence?.destroy()
      doc.destroy()
    }
  }
}
