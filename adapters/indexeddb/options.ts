/**
 * Options of {@link IndexedDBPersistence} and their defaults.
 *
 * @module
 */
import { InvalidArgumentError, StorageError } from 'aegis-replication'
import { globalIndexedDB } from './database.js'

/** Options of `new IndexedDBPersistence(name, doc, options)`. */
export interface IndexedDBPersistenceOptions {
  /**
   * How many stored updates trigger a compaction: once the store holds more
   * records than this, they are merged into one snapshot record.
   * @default 500
   */
  compactAfter?: number
  /**
   * The IndexedDB factory to use (tests inject a wrapped one). It must hand
   * out the browser's own IndexedDB objects: idb wraps them by class.
   * @default globalThis.indexedDB
   */
  indexedDB?: IDBFactory
}

/** Default of {@link IndexedDBPersistenceOptions.compactAfter}. */
export const DEFAULT_COMPACT_AFTER = 500

/** The options with every default applied. */
export type ResolvedPersistenceOptions = Required<IndexedDBPersistenceOptions>

/**
 * Applies defaults and checks values.
 *
 * @throws {InvalidArgumentError} for a `compactAfter` that is not a positive integer.
 * @throws {StorageError} when there is no IndexedDB here and none was passed.
 */
export const resolveOptions = (options: IndexedDBPersistenceOptions = {}): ResolvedPersistenceOptions => {
  const { compactAfter = DEFAULT_COMPACT_AFTER } = options
  if (!Number.isSafeInteger(compactAfter) || compactAfter < 1) {
    throw new InvalidArgumentError(`compactAfter must be a positive integer, got ${String(compactAfter)}`)
  }
  const indexedDB = options.indexedDB ?? globalIndexedDB()
  if (indexedDB === undefined) {
    throw new StorageError('IndexedDB is not available in this runtime: pass options.indexedDB')
  }
  return { compactAfter, indexedDB }
}
