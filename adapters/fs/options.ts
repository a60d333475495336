/**
 * Options of {@link WriteAheadLog.open} and their defaults.
 *
 * @module
 */
import { InvalidArgumentError } from 'aegis-replication'
import { nodeFileSystem, type FileSystem } from './file-system.js'

/** Options of `WriteAheadLog.open`. */
export interface WriteAheadLogOptions {
  /**
   * Bytes per segment file before the log starts a new one. A segment
   * always takes at least one record, so one larger than this gets a
   * segment of its own.
   * @default 64 MiB
   */
  segmentBytes?: number
  /**
   * Fsync files (and the directory, after creating, renaming or removing
   * files) before an operation resolves. With `false` nothing is fsynced:
   * acknowledged records survive a crash of the process but not of the
   * machine.
   * @default true
   */
  fsync?: boolean
  /**
   * The largest record `append()` accepts, and the largest length recovery
   * believes; at most 2^32 - 1 (the length field is a u32).
   * @default 64 MiB
   */
  maxRecordBytes?: number
  /**
   * What `open` does with damage beyond a torn tail (a missing segment, a
   * bad record followed by good ones or in an earlier segment): `'refuse'`
   * throws `StorageError`; `'truncate'` cuts the log back to the records
   * before the damage, sets the rest aside in `*.damaged` files and reports
   * it in `recovery.damage`. Only for logs whose lost records can come back
   * from elsewhere (a room's, which its clients resend); never Raft's.
   * @default 'refuse'
   */
  onDamage?: 'refuse' | 'truncate'
  /**
   * The file system the log lives on; tests pass a simulated disk that
   * loses unsynced writes on a simulated power loss.
   * @default node:fs/promises
   */
  fs?: FileSystem
}

/** The options with every default applied. */
export type ResolvedWalOptions = Required<WriteAheadLogOptions>

/** Default of {@link WriteAheadLogOptions.segmentBytes}. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024

/** Default of {@link WriteAheadLogOptions.maxRecordBytes}. */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024

const MAX_U32 = 0xffff_ffff

/**
 * Applies defaults and checks values.
 *
 * @throws {InvalidArgumentError} for a value out of range.
 */
export const resolveOptions = (options: WriteAheadLogOptions = {}): ResolvedWalOptions => {
  const { segmentBytes = DEFAULT_SEGMENT_BYTES, fsync = true, maxRecordBytes = DEFAULT_MAX_RECORD_BYTES, onDamage = 'refuse', fs = nodeFileSystem } = options
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1) {
    throw new InvalidArgumentError(`segmentBytes must be a positive integer, got ${segmentBytes}`)
  }
  if (!Number.isSafeInteger(maxRecordBytes) || maxRecordBytes < 0 || maxRecordBytes > MAX_U32) {
    throw new InvalidArgumentError(`maxRecordBytes must be an integer from 0 to ${MAX_U32}, got ${maxRecordBytes}`)
  }
  if (typeof fsync !== 'boolean') throw new InvalidArgumentError(`fsync must be a boolean, got ${String(fsync)}`)
  if (onDamage !== 'refuse' && onDamage !== 'truncate') throw new InvalidArgumentError(`onDamage must be 'refuse' or 'truncate', got ${String(onDamage)}`)
  return { segmentBytes, fsync, maxRecordBytes, onDamage, fs }
}
