/**
 * The IndexedDB schema of {@link IndexedDBPersistence} and the idb calls
 * that open and delete a database through an injectable `IDBFactory`.
 *
 * One database per document name, version {@link DB_VERSION}:
 * - `updates` (auto-increment keys): one Doc update per record — a merged
 *   snapshot after compaction, then the incremental updates after it;
 * - `meta` (string keys): `replicaId`, the id of the replica that last
 *   stored into this database.
 *
 * idb's `openDB`/`deleteDB` always use the global `indexedDB`; these do what
 * they do (idb's `wrap` on the request) with the factory passed in.
 *
 * @module
 */
import { wrap, type DBSchema, type IDBPDatabase } from 'idb'

/** Schema version of the database; bumped (with an upgrade step) when the layout changes. */
export const DB_VERSION = 1
/** The store of Doc updates. */
export const UPDATES = 'updates'
/** The store of metadata. */
export const META = 'meta'
/** Key in {@link META} of the stored replica id. */
export const REPLICA_ID_KEY = 'replicaId'

/** The typed layout, for idb. */
export interface PersistenceSchema extends DBSchema {
  updates: { key: number, value: Uint8Array }
  meta: { key: string, value: string }
}

/** An open database. */
export type PersistenceDB = IDBPDatabase<PersistenceSchema>

/** What {@link openDatabase} reports while the connection lives. */
export interface OpenCallbacks {
  /** The open waits for other connections to an older version to close. */
  blocked?: (currentVersion: number, requestedVersion: number | null) => void
  /** Another connection wants a newer version (`null`: wants to delete the database). */
  versionchange?: (newVersion: number | null) => void
  /** The browser closed the connection (storage cleared, disk error). */
  terminated?: () => void
}

/** The global IndexedDB factory, if this runtime has one. */
export const globalIndexedDB = (): IDBFactory | undefined =>
  (globalThis as { indexedDB?: IDBFactory }).indexedDB

/** Opens (and creates or upgrades) database `name` with `factory`. */
export const openDatabase = (factory: IDBFactory, name: string, callbacks: OpenCallbacks = {}): Promise<PersistenceDB> => {
  const request = factory.open(name, DB_VERSION)
  request.addEventListener('upgradeneeded', () => {
    const db = request.result
    if (!db.objectStoreNames.contains(UPDATES)) db.createObjectStore(UPDATES, { autoIncrement: true })
    if (!db.objectStoreNames.contains(META)) db.createObjectStore(META)
  })
  request.addEventListener('blocked', e => callbacks.blocked?.(e.oldVersion, e.newVersion))
  // wired in 'success' itself, before any other event can reach the connection
  request.addEventListener('success', () => {
    const db = request.result
    db.addEventListener('versionchange', e => callbacks.versionchange?.(e.newVersion))
    db.addEventListener('close', () => callbacks.terminated?.())
  })
  return wrap(request) as Promise<PersistenceDB>
}

/** Deletes database `name`; `blocked` is called while other connections keep it open. */
export const deleteDatabase = async (factory: IDBFactory, name: string, blocked?: () => void): Promise<void> => {
  const request = factory.deleteDatabase(name)
  if (blocked !== undefined) request.addEventListener('blocked', () => blocked())
  await wrap(request)
}
