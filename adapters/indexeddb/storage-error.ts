/**
 * Turns what IndexedDB throws (a `DOMException`, or a transaction's abort)
 * into a `StorageError` whose message says what happened and what to do;
 * the native error is the `cause`.
 *
 * @module
 */
import { StorageError } from 'aegis-replication'

/** The `name` of an error (`DOMException`s have one), or `''`. */
export const errorName = (err: unknown): string => {
  const name = (err as { name?: unknown } | null | undefined)?.name
  return typeof name === 'string' ? name : ''
}

const messageOf = (err: unknown): string => {
  const message = (err as { message?: unknown } | null | undefined)?.message
  return typeof message === 'string' && message !== '' ? message : String(err)
}

/**
 * A `StorageError` for a failure of `action` (e.g. `'saving an update'`) on
 * database `db`.
 */
export const storageError = (db: string, action: string, cause: unknown): StorageError => {
  const where = `IndexedDB "${db}"`
  switch (errorName(cause)) {
    case 'QuotaExceededError':
      return new StorageError(`${where}: storage quota exceeded while ${action}; free space or call clearData() (the doc keeps working, and its whole state is written again with the next change)`, { cause })
    case 'VersionError':
      return new StorageError(`${where}: ${action} failed: the database has a newer version than this code knows (another tab runs a newer app); reload the page`, { cause })
    case 'InvalidStateError':
      return new StorageError(`${where}: ${action} failed: the database connection is closed; changes are no longer stored`, { cause })
    case 'AbortError':
      return new StorageError(`${where}: the transaction was aborted while ${action}: ${messageOf(cause)}`, { cause })
    case 'UnknownError':
      return new StorageError(`${where}: the browser failed while ${action} (disk error, or storage disabled in this mode): ${messageOf(cause)}`, { cause })
    default:
      return new StorageError(`${where}: ${action} failed: ${messageOf(cause)}`, { cause })
  }
}
