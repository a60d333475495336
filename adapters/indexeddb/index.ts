/**
 * `aegis-replication/indexeddb`: keeps a `Doc` in the browser's IndexedDB,
 * so it opens offline with everything it had. Changes are stored one
 * record each and merged into a snapshot every `compactAfter` records; tabs
 * of one origin may persist the same name at once.
 *
 * ```ts
 * import { Doc } from 'aegis-replication'
 * import { IndexedDBPersistence } from 'aegis-replication/indexeddb'
 * const doc = new Doc()
 * const persistence = new IndexedDBPersistence('board-42', doc)
 * persistence.on('error', err => console.warn(err.message)) // quota, another tab upgrading, ...
 * await persistence.whenSynced // the stored state is in the doc
 * doc.map('tasks').set('t1', { title: 'Works offline' }) // stored as it happens
 * ```
 *
 * @module
 */
export { IndexedDBPersistence } from './indexeddb-persistence.js'
export type { IndexedDBPersistenceEvents } from './indexeddb-persistence.js'
export { DEFAULT_COMPACT_AFTER } from './options.js'
export type { IndexedDBPersistenceOptions } from './options.js'
export { readReplicaId } from './read-replica-id.js'
export { IndexedDBRaftStorage, RAFT_DB_VERSION } from './raft-storage.js'
export type { IndexedDBRaftStorageOptions } from './raft-storage.js'
