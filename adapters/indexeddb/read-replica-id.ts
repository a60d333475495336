/**
 * `readReplicaId(name)`: the replica id stored with a persisted doc, to
 * create the next session's `Doc` with the same id (version vectors stay
 * short when a device keeps its id).
 *
 * @module
 */
import { META, openDatabase, type PersistenceDB, REPLICA_ID_KEY } from './database.js'
import { type IndexedDBPersistenceOptions, resolveOptions } from './options.js'
import { storageError } from './storage-error.js'

/**
 * The replica id of the doc that last stored into database `name`, or
 * `undefined` if none did. Opens the database, so creates it if it does
 * not exist yet.
 *
 * Reuse it only where one tab at a time uses the database (hold a Web Lock
 * named after it, for example): two live docs with one id corrupt each
 * other's changes. And let the persistence finish loading (`whenSynced`)
 * before editing a doc that reuses an id.
 *
 * @throws {StorageError} if the database could not be read
 */
export const readReplicaId = async (name: string, options: Pick<IndexedDBPersistenceOptions, 'indexedDB'> = {}): Promise<string | undefined> => {
  const { indexedDB } = resolveOptions(options)
  let db: PersistenceDB | undefined
  try {
    db = await openDatabase(indexedDB, name, { versionchange: () => db?.close() })
    return await db.get(META, REPLICA_ID_KEY)
  } catch (err) {
    throw storageError(name, 'reading the replica id', err)
  } finally {
    db?.close()
  }
}
