/**
 * `aegis-replication/fs` (Node): the file write-ahead log that the hub's
 * room storage and Raft's storage share — CRC-32C-checksummed records in
 * segment files, group-committed fsync, torn-tail recovery, truncation of a
 * suffix, and compaction into a snapshot.
 *
 * ```ts
 * import { WriteAheadLog } from 'aegis-replication/fs'
 * const bytes = (s: string) => new TextEncoder().encode(s)
 * const wal = await WriteAheadLog.open('./data/room-1')
 * const last = await wal.append([bytes('a'), bytes('b')]) // durable now
 * for await (const { index, data } of wal.read()) console.log(index, data)
 * await wal.compact(last, bytes('state after b')) // covers 1..last; old segments go
 * console.log(await wal.snapshot()) // { index: last, data: … }
 * await wal.close()
 * ```
 *
 * One process at a time may have a directory open.
 *
 * @module
 */
export { WriteAheadLog } from './write-ahead-log.js'
export { DEFAULT_MAX_RECORD_BYTES, DEFAULT_SEGMENT_BYTES } from './options.js'
export type { WriteAheadLogOptions } from './options.js'
export type { WalRecord } from './read-records.js'
export type { WalRecovery } from './recover.js'
export type { WalDamage } from './damage.js'
export { FileRaftStorage, HARD_STATE_COMPACT_EVERY, RAFT_STORAGE_FORMAT_VERSION } from './raft-storage.js'
export type { FileRaftStorageOptions } from './raft-storage.js'
export { DirectoryLock, DirectoryLockedError } from './dir-lock.js'
export { nodeFileSystem } from './file-system.js'
export type { FileSystem, FsFileHandle } from './file-system.js'
export type { DirectoryLockOptions } from './dir-lock.js'
