/**
 * {@link FileRaftStorage}: a Raft node's {@link RaftStorage} on the file
 * write-ahead log, for Node hubs.
 *
 * ```ts
 * import { FileRaftStorage } from 'aegis-replication/fs'
 * import { RaftNode, KvStateMachine } from 'aegis-replication/raft'
 * const storage = await FileRaftStorage.open('./data/raft-n1')
 * const node = new RaftNode({ nodeId: 'n1', peers: ['n2', 'n3'] }, storage, transport, new KvStateMachine())
 * await node.start() // restarts from what the directory holds
 * ```
 *
 * The directory holds two logs:
 * - `entries/`: one record per Raft entry, **WAL index == Raft index**, so
 *   `truncateSuffix(from)` is `truncateAfter(from - 1)` and `saveSnapshot`
 *   is `compact(snapshot.index, snapshot)` (the WAL's snapshot file holds the
 *   Raft snapshot with its term and configuration);
 * - `hard-state/`: one record per `saveHardState`; the last one wins.
 *
 * Why a second log rather than a small file replaced atomically (temp file,
 * fsync, rename, fsync the directory): the hard state changes with every
 * commit advance, so it is written about as often as entries are. An append
 * to a log costs one write and one fsync; a replaced file costs two fsyncs
 * and a rename. The log also brings what a hand-written file would need
 * anew: a checksum per record and torn-tail recovery. It stays small: every
 * {@link HARD_STATE_COMPACT_EVERY} saves it is compacted past its end, which
 * leaves one fresh segment.
 *
 * Crash consistency (each call is durable when it resolves; a crash may cut
 * the call in flight):
 * - a torn last entry is dropped by the log's recovery. Raft fsyncs entries
 *   before acknowledging them, so it was never acknowledged; losing it is
 *   the same as the append never having happened;
 * - a torn hard state falls back to the previous one, which is what every
 *   message sent so far depended on;
 * - the two logs are not written atomically together, so after a crash the
 *   stored `commit` may exceed the last stored entry (an append torn after
 *   the hard state of an earlier batch, or a driver that saves the hard state
 *   first). `load()` clamps `commit` to the last stored index (entry or
 *   snapshot): the commit index is only a hint that the leader repeats, and
 *   nothing above the stored log was applied durably;
 * - `saveSnapshot` whose term does not match the stored entry first cuts the
 *   log back to below `snapshot.index`, then stores the snapshot (which then
 *   lies past the end, so the log restarts after it); a crash in between
 *   leaves the old snapshot and a prefix of the old log, a valid state.
 *
 * @module
 */
import { join } from 'node:path'
import * as encoding from 'lib0/encoding'
import { DecodeError, InvalidArgumentError, StorageError } from 'aegis-replication'
import {
  decodeEntry, decodeHardState, encodeEntry, encodeHardState,
  type Entry, type HardState, type RaftPersistedState, type RaftStorage, type Snapshot,
  type SnapshotInfo, type SnapshotMeta, type SnapshotSink, type SnapshotStore
} from 'aegis-replication/raft'
import { FileSnapshotStore } from './raft-snapshot-store.js'
import { DirectoryLock } from './dir-lock.js'
import { nodeFileSystem, type FileSystem } from './file-system.js'
import { WriteAheadLog } from './write-ahead-log.js'
import type { WalRecovery } from './recover.js'

/** The leading byte of every record and snapshot this storage writes. */
export const RAFT_STORAGE_FORMAT_VERSION = 1

/** The hard-state log is compacted after this many saves. */
export const HARD_STATE_COMPACT_EVERY = 1024

/** Options of {@link FileRaftStorage.open}. */
export interface FileRaftStorageOptions {
  /**
   * Fsync before each call resolves. With `false`, what was stored survives
   * a crash of the process but not of the machine: only for tests.
   * @default true
   */
  fsync?: boolean
  /**
   * Bytes per segment file of the entry log.
   * @default 64 MiB
   */
  segmentBytes?: number
  /**
   * The file system to store on. Tests pass a simulated disk; on one, the
   * directory is not locked (the lock names live processes of this host).
   * @default node:fs/promises
   */
  fs?: FileSystem
}

const ENTRIES_DIR = 'entries'
const HARD_STATE_DIR = 'hard-state'
const HARD_STATE_SEGMENT_BYTES = 256 * 1024

const versioned = (body: Uint8Array): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, RAFT_STORAGE_FORMAT_VERSION)
  encoding.writeUint8Array(e, body)
  return encoding.toUint8Array(e)
}

/** Decodes a versioned record; anything wrong becomes a `StorageError` naming `where`, with the `DecodeError` as its cause. */
const unversioned = <T>(where: string, bytes: Uint8Array, decode: (body: Uint8Array) => T): T => {
  try {
    if (bytes.length === 0) throw new DecodeError('empty record')
    if (bytes[0] !== RAFT_STORAGE_FORMAT_VERSION) throw new DecodeError(`unsupported raft storage format version ${bytes[0]}`)
    return decode(bytes.subarray(1))
  } catch (err) {
    throw new StorageError(`raft storage: corrupt ${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}

const checkIndex = (what: string, v: unknown, min: number): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new InvalidArgumentError(`${what} must be an integer >= ${min}, got ${String(v)}`)
  return v
}

const INITIAL_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 }

/** A {@link RaftStorage} in a directory; see the module documentation. One process at a time may open a directory. */
export class FileRaftStorage implements RaftStorage, SnapshotStore {
  /** The (absolute) directory of the entry log; the hard-state log is its sibling. */
  readonly dir: string
  /** Index and term of the stored snapshot (`{ 0, 0 }` when there is none). */
  private snap: { index: number, term: number }
  private hardSaves = 0

  private constructor (
    dir: string,
    private readonly entries: WriteAheadLog,
    private readonly hard: WriteAheadLog,
    private readonly snaps: FileSnapshotStore,
    private readonly lock: DirectoryLock | undefined
  ) {
    this.dir = dir
    this.snap = snaps.position
    this.hardSaves = hard.recovery.records
  }

  /**
   * Opens (creating it if needed) the storage in `dir` and recovers both
   * logs from a crash (a torn last record is dropped).
   *
   * @throws {StorageError} if the directory cannot be used, holds corrupt
   * data, or is already open in this process or another live one on this
   * host (then its `cause` is a `DirectoryLockedError` and its message
   * names the holder's pid): `dir` is locked with {@link DirectoryLock}
   * until `close()`.
   */
  static async open (dir: string, options: FileRaftStorageOptions = {}): Promise<FileRaftStorage> {
    if (typeof dir !== 'string' || dir === '') throw new InvalidArgumentError('dir must be a non-empty path')
    const fsync = options.fsync ?? true
    let lock: DirectoryLock | undefined
    try {
      if (options.fs === undefined) lock = await DirectoryLock.acquire(dir, { label: 'raft storage' })
    } catch (err) {
      throw new StorageError(`raft storage: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
    }
    let entries: WriteAheadLog | undefined
    let hard: WriteAheadLog | undefined
    try {
      const fs = options.fs !== undefined ? { fs: options.fs } : {}
      entries = await WriteAheadLog.open(join(dir, ENTRIES_DIR), { fsync, ...fs, ...(options.segmentBytes !== undefined ? { segmentBytes: options.segmentBytes } : {}) })
      hard = await WriteAheadLog.open(join(dir, HARD_STATE_DIR), { fsync, ...fs, segmentBytes: HARD_STATE_SEGMENT_BYTES })
      const stored = await entries.snapshot()
      const snaps = await FileSnapshotStore.open(dir, stored?.data, options.fs ?? nodeFileSystem, fsync, `snapshot in ${entries.dir}`)
      const s = snaps.snapshotInfo()
      if (stored !== undefined && s !== undefined && s.index !== stored.index) throw new StorageError(`raft storage: the snapshot in ${entries.dir} says index ${s.index} but covers ${stored.index}`)
      return new FileRaftStorage(entries.dir, entries, hard, snaps, lock)
    } catch (err) {
      await hard?.close().catch(() => {})
      await entries?.close().catch(() => {})
      await lock?.release().catch(() => {})
      throw err
    }
  }

  /** What recovery did to each log when the storage was opened (`tornBytesDropped` counts a torn last record). */
  get recovery (): { entries: Readonly<WalRecovery>, hardState: Readonly<WalRecovery> } {
    return { entries: this.entries.recovery, hardState: this.hard.recovery }
  }

  /**
   * Reads everything back. `commit` is clamped to the last stored index
   * (see the module documentation).
   *
   * @throws {StorageError} on corrupt records or I/O failure.
   */
  async load (): Promise<RaftPersistedState> {
    const snapshot: Snapshot | undefined = await this.snaps.load()
    const entries: Entry[] = []
    for await (const r of this.entries.read()) {
      const e = unversioned(`entry ${r.index} in ${this.dir}`, r.data, decodeEntry)
      if (e.index !== r.index) throw new StorageError(`raft storage: corrupt entry ${r.index} in ${this.dir}: it says index ${e.index}`)
      entries.push(e)
    }
    const hardState = { ...await this.lastHardState() }
    const last = entries.at(-1)?.index ?? snapshot?.index ?? 0
    if (hardState.commit > last) hardState.commit = last
    return { hardState, snapshot, entries }
  }

  /** Replaces the hard state (one record appended to the hard-state log). */
  async saveHardState (hardState: HardState): Promise<void> {
    const record = versioned(encodeHardState(hardState))
    const index = await this.hard.append([record])
    if (++this.hardSaves >= HARD_STATE_COMPACT_EVERY) {
      this.hardSaves = 0
      // past the end: the log restarts with one empty segment and the old ones go
      await this.hard.compact(index + 1, record)
    }
  }

  /**
   * Appends entries after the last stored one.
   *
   * @throws {InvalidArgumentError} if they do not follow it contiguously.
   */
  async append (entries: Entry[]): Promise<void> {
    if (!Array.isArray(entries)) throw new InvalidArgumentError('append() takes an array of entries')
    if (entries.length === 0) return
    let next = this.entries.lastIndex + 1
    const records: Uint8Array[] = []
    for (const e of entries) {
      if (e?.index !== next) throw new InvalidArgumentError(`append: entry at ${String(e?.index)}, but the next index is ${next}`)
      records.push(versioned(encodeEntry(e)))
      next++
    }
    const last = await this.entries.append(records)
    if (last !== next - 1) throw new StorageError(`raft storage: appended up to ${last}, expected ${next - 1} (was the log written concurrently?)`)
  }

  /** Deletes every entry with index `>= from` (those in the snapshot stay in it). */
  async truncateSuffix (from: number): Promise<void> {
    checkIndex('truncateSuffix(from)', from, 1)
    await this.entries.truncateAfter(Math.max(from - 1, this.snap.index))
  }

  /**
   * Saves `snapshot` and drops the entries it covers; later entries stay
   * only if the stored entry at `snapshot.index` has `snapshot.term`.
   *
   * @throws {InvalidArgumentError} for a snapshot older than the stored one.
   */
  async saveSnapshot (snapshot: Snapshot): Promise<void> {
    checkIndex('snapshot.index', snapshot?.index, 1)
    if (snapshot.index < this.snap.index) {
      throw new InvalidArgumentError(`saveSnapshot: a snapshot at ${snapshot.index} is older than the stored one at ${this.snap.index}`)
    }
    await this.storeSnapshot(snapshot, await this.snaps.write(snapshot))
  }

  /** Stores the record of a snapshot whose data file is in place; see saveSnapshot. */
  private async storeSnapshot (snapshot: SnapshotMeta, placed: { info: SnapshotInfo, record: Uint8Array }): Promise<void> {
    if (await this.termAt(snapshot.index) !== snapshot.term && this.entries.lastIndex >= snapshot.index) {
      // the log conflicts with the snapshot: keep nothing from snapshot.index on
      await this.entries.truncateAfter(Math.max(snapshot.index - 1, this.snap.index))
    }
    await this.entries.compact(snapshot.index, placed.record)
    this.snap = { index: snapshot.index, term: snapshot.term }
    await this.snaps.committed(placed.info)
  }

  // ------------------------------------------------ SnapshotStore (raft-snapshot-store.ts)

  /** The stored snapshot's metadata, size and checksum (its data stays on disk). */
  snapshotInfo (): SnapshotInfo | undefined { return this.snaps.snapshotInfo() }

  /** A byte range of the stored snapshot's data, read from disk; `undefined` once it is no longer the one at `index`. */
  async readSnapshotChunk (index: number, offset: number, length: number): Promise<Uint8Array | undefined> {
    return await this.snaps.readSnapshotChunk(index, offset, length)
  }

  /** The stored snapshot's whole data, checked. */
  async readSnapshotData (): Promise<Uint8Array | undefined> { return await this.snaps.readSnapshotData() }

  /** Starts receiving a snapshot into a temporary file. */
  async receiveSnapshot (info: SnapshotInfo): Promise<SnapshotSink> { return await this.snaps.receiveSnapshot(info) }

  /**
   * Makes a finished received snapshot the stored one, like {@link saveSnapshot}.
   *
   * @throws {InvalidArgumentError} for a snapshot older than the stored one.
   */
  async installReceivedSnapshot (sink: SnapshotSink, meta: SnapshotMeta): Promise<void> {
    checkIndex('snapshot.index', meta?.index, 1)
    if (meta.index < this.snap.index) {
      throw new InvalidArgumentError(`installReceivedSnapshot: a snapshot at ${meta.index} is older than the stored one at ${this.snap.index}`)
    }
    await this.storeSnapshot(meta, await this.snaps.placeReceived(sink, meta))
  }

  /** Waits for the calls made, then closes both logs; later calls reject with `StorageError`. */
  async close (): Promise<void> {
    try {
      await Promise.all([this.entries.close(), this.hard.close()])
    } finally {
      await this.lock?.release()
    }
  }

  /** The term of the stored entry (or snapshot) at `index`, or `undefined`. */
  private async termAt (index: number): Promise<number | undefined> {
    if (index === this.snap.index) return this.snap.term
    if (index < this.entries.firstIndex || index > this.entries.lastIndex) return undefined
    for await (const r of this.entries.read(index, index)) return unversioned(`entry ${index} in ${this.dir}`, r.data, decodeEntry).term
    return undefined
  }

  private async lastHardState (): Promise<HardState> {
    const h = this.hard
    const where = `hard state in ${h.dir}`
    if (h.lastIndex >= h.firstIndex) {
      for await (const r of h.read(h.lastIndex, h.lastIndex)) return unversioned(where, r.data, decodeHardState)
    }
    const s = await h.snapshot()
    return s === undefined ? INITIAL_HARD_STATE : unversioned(where, s.data, decodeHardState)
  }
}
