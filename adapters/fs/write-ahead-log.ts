/**
 * The file write-ahead log: checksummed records in segment files, group
 * commit, torn-tail recovery, truncation and snapshot compaction.
 *
 * @module
 */
import { dirname, resolve } from 'node:path'
import { InvalidArgumentError, StorageError } from 'aegis-replication'
import { AppendGroup } from './append-group.js'
import { compactTo } from './compact-to.js'
import type { FileSystem } from './file-system.js'
import { fsyncDir, io } from './fs-util.js'
import { firstIndexOf, lastIndexOf, type LogState } from './log-state.js'
import { addDamage } from './damage.js'
import { resolveOptions, type ResolvedWalOptions, type WriteAheadLogOptions } from './options.js'
import { readRecords, type LogView, type WalRecord } from './read-records.js'
import { recover, type RecoveredLog, type WalRecovery } from './recover.js'
import { repairDamage } from './repair-damage.js'
import { removeAfter } from './remove-after.js'
import { readSnapshotFile } from './snapshot-file.js'
import { appendRecords } from './write-batch.js'

/** Recovers the log in `path`; with `onDamage: 'truncate'`, cuts damage that recovery refuses and tries again. */
const recoverOrRepair = async (path: string, options: ResolvedWalOptions): Promise<RecoveredLog> => {
  try {
    return await recover(path, options.maxRecordBytes, options.fsync, options.fs)
  } catch (err) {
    if (options.onDamage !== 'truncate' || !(err instanceof StorageError)) throw err
    const repaired = await repairDamage(path, options.maxRecordBytes, options.fsync, options.fs)
    if (repaired === undefined) throw err
    const log = await recover(path, options.maxRecordBytes, options.fsync, options.fs, true)
    const { damage } = log.recovery
    log.recovery.damage = damage === undefined ? repaired : addDamage(repaired, damage)
    return log
  }
}

/** Directories open in this process, per file system: a second writer would corrupt the log. */
const openDirsOn = new WeakMap<FileSystem, Set<string>>()
const openDirsIn = (fs: FileSystem): Set<string> => {
  let dirs = openDirsOn.get(fs)
  if (dirs === undefined) openDirsOn.set(fs, dirs = new Set())
  return dirs
}

const checkIndex = (name: string, value: unknown, min: number): number => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got ${String(value)}`)
  }
  return value
}

/** Makes the directories from `created` down to `path`, just made, durable: fsyncs each one's parent. */
const syncNewDirs = async (created: string, path: string, fs: FileSystem): Promise<void> => {
  for (let dir = path; ; dir = dirname(dir)) {
    await io('syncing', dirname(dir), async () => { await fsyncDir(dirname(dir), fs) })
    if (dir === created || dirname(dir) === dir) return
  }
}

/**
 * An append-only log of byte records in a directory, for one writer
 * process. Every method that changes it resolves once the change is
 * durable. It fails closed: after an I/O error every call rejects with a
 * `StorageError` until the log is reopened, which recovers from disk.
 *
 * Calls are applied in the order they are made. Appends that arrive while a
 * write is in flight are group-committed: one write and one fsync for all of
 * them. Records passed to `append` must not be modified until it settles.
 */
export class WriteAheadLog {
  /** What recovery did when the log was opened. */
  readonly recovery: Readonly<WalRecovery>
  /** The (absolute) directory holding the log. */
  readonly dir: string
  private readonly state: LogState
  private chain: Promise<unknown> = Promise.resolve()
  private group: AppendGroup | undefined
  private failure: StorageError | undefined
  private closing: Promise<void> | undefined
  private readonly view: LogView

  private constructor (state: LogState, recovery: WalRecovery) {
    this.state = state
    this.dir = state.dir
    this.view = {
      segments: () => this.state.segments,
      firstIndex: () => this.firstIndex,
      lastIndex: () => this.lastIndex,
      mutations: () => this.state.mutations,
      assertUsable: () => { this.assertUsable() },
      fs: state.options.fs
    }
    this.recovery = Object.freeze(recovery)
  }

  /**
   * Opens (creating it if needed) the log in `dir` and recovers it: a torn
   * last record is cut off (counted in `recovery.tornBytesDropped`); damage
   * it can repair (a complete last record whose checksum fails, no segment
   * after the snapshot, and with `onDamage: 'truncate'` more) is reported
   * in `recovery.damage`.
   *
   * @throws {StorageError} if the directory holds corrupt data anywhere but
   * a torn tail (naming the file and offset) and `onDamage` is `'refuse'`,
   * is already open in this process, or cannot be read or written.
   * @throws {InvalidArgumentError} for bad options.
   */
  static async open (dir: string, options?: WriteAheadLogOptions): Promise<WriteAheadLog> {
    const resolved = resolveOptions(options)
    if (typeof dir !== 'string' || dir === '') throw new InvalidArgumentError('dir must be a non-empty path')
    const path = resolve(dir)
    const openDirs = openDirsIn(resolved.fs)
    if (openDirs.has(path)) throw new StorageError(`write-ahead log: ${path} is already open in this process`)
    openDirs.add(path)
    try {
      const created = await io('creating', path, async () => await resolved.fs.mkdir(path, { recursive: true }))
      if (created !== undefined && resolved.fsync) await syncNewDirs(created, path, resolved.fs)
      const { segments, handle, snapshotIndex, recovery } = await recoverOrRepair(path, resolved)
      return new WriteAheadLog({ dir: path, options: resolved, segments, handle, snapshotIndex, mutations: 0 }, recovery)
    } catch (err) {
      openDirs.delete(path)
      throw err
    }
  }

  /** The index of the first readable record: 1, or the snapshot's index + 1. */
  get firstIndex (): number {
    return firstIndexOf(this.state)
  }

  /** The index of the last durable record; `firstIndex - 1` when there is none. */
  get lastIndex (): number {
    return lastIndexOf(this.state)
  }

  /**
   * Appends `records`; resolves with the index of the last one once all are
   * durable (with no records: with `lastIndex` once earlier calls are).
   *
   * @throws {InvalidArgumentError} if a record is not a `Uint8Array` or is
   * larger than `maxRecordBytes`.
   */
  async append (records: Uint8Array[]): Promise<number> {
    this.assertUsable()
    if (!Array.isArray(records)) throw new InvalidArgumentError('append() takes an array of Uint8Array records')
    const { maxRecordBytes } = this.state.options
    for (const r of records) {
      if (!(r instanceof Uint8Array)) throw new InvalidArgumentError('append() takes an array of Uint8Array records')
      if (r.length > maxRecordBytes) throw new InvalidArgumentError(`a record of ${r.length} bytes is larger than maxRecordBytes (${maxRecordBytes})`)
    }
    let group = this.group
    if (group === undefined) {
      const g = group = this.group = new AppendGroup()
      this.enqueue(async () => {
        if (this.group === g) this.group = undefined // later appends form the next group
        const all = g.records()
        const first = this.lastIndex + 1
        if (all.length > 0) await this.mutate(async () => { await appendRecords(this.state, all) })
        g.settle(first)
      }).catch((err: unknown) => { g.fail(err) })
    }
    return await group.add(records.slice())
  }

  /**
   * Records `from..to` (inclusive, default `firstIndex..lastIndex`), in
   * order; `to` is capped at `lastIndex` as of the first `next()`. Holds
   * about a megabyte (or one record) in memory at a time. A concurrent
   * `truncateAfter` or `compact` that removes a record not yet read makes it
   * throw `StorageError`.
   *
   * @throws {InvalidArgumentError} if `from` is below `firstIndex` (compacted).
   */
  async * read (from?: number, to?: number): AsyncGenerator<WalRecord> {
    this.assertUsable()
    const start = checkIndex('from', from ?? this.firstIndex, 1)
    const end = Math.min(to === undefined ? this.lastIndex : checkIndex('to', to, 0), this.lastIndex)
    if (start < this.firstIndex) {
      throw new InvalidArgumentError(`records before ${this.firstIndex} were compacted into the snapshot; cannot read from ${start}`)
    }
    yield * readRecords(this.view, start, end)
  }

  /**
   * Removes every record after `index` (Raft's conflicting suffix); durable
   * when it resolves. A no-op if `index >= lastIndex`.
   *
   * @throws {InvalidArgumentError} if `index` is below the snapshot's index.
   */
  async truncateAfter (index: number): Promise<void> {
    this.assertUsable()
    checkIndex('index', index, 0)
    this.group = undefined // later appends must follow the truncation
    await this.enqueue(async () => {
      if (index >= this.lastIndex) return
      if (index < this.firstIndex - 1) {
        throw new InvalidArgumentError(`cannot truncate after ${index}: records up to ${this.firstIndex - 1} are compacted into the snapshot`)
      }
      await this.mutate(async () => { await removeAfter(this.state, index) })
    })
  }

  /**
   * Stores `snapshot` as covering every record up to `index` (which may be
   * past `lastIndex`: then the log continues from `index + 1`), then deletes
   * the segments that hold only records up to `index` (the last segment is
   * kept unless the log skips past it). Durable when it resolves.
   *
   * @throws {InvalidArgumentError} if `index` is below the current snapshot's.
   */
  async compact (index: number, snapshot: Uint8Array): Promise<void> {
    this.assertUsable()
    checkIndex('index', index, 1)
    if (!(snapshot instanceof Uint8Array)) throw new InvalidArgumentError('compact() takes the snapshot as a Uint8Array')
    this.group = undefined
    await this.enqueue(async () => {
      if (index < this.state.snapshotIndex) {
        throw new InvalidArgumentError(`already compacted up to ${this.state.snapshotIndex}; cannot compact to ${index}`)
      }
      await this.mutate(async () => { await compactTo(this.state, index, snapshot) })
    })
  }

  /**
   * The latest snapshot and the last index it covers, or `undefined`.
   *
   * @throws {StorageError} if the snapshot file is corrupt (its checksum fails).
   */
  async snapshot (): Promise<{ index: number, data: Uint8Array } | undefined> {
    this.assertUsable()
    const found = await readSnapshotFile(this.dir, true, this.state.options.fs)
    return found === undefined ? undefined : { index: found.header.index, data: found.data ?? new Uint8Array(0) }
  }

  /** Waits for the calls already made, then closes the files. Later calls reject with `StorageError`. */
  async close (): Promise<void> {
    this.closing ??= (async () => {
      await this.chain
      try {
        await io('closing', this.dir, async () => { await this.state.handle.close() })
      } finally {
        openDirsIn(this.state.options.fs).delete(this.dir)
      }
    })()
    await this.closing
  }

  /** Throws the `StorageError` every call gets once the log is closed or failed. */
  private assertUsable (): void {
    if (this.closing !== undefined) throw new StorageError(`write-ahead log: ${this.dir} is closed`)
    if (this.failure !== undefined) {
      throw new StorageError(`write-ahead log: ${this.dir} failed earlier (${this.failure.message}); reopen it to recover`, { cause: this.failure })
    }
  }

  /** Runs `op` after every earlier call, unless the log failed meanwhile. */
  private async enqueue<T> (op: () => Promise<T>): Promise<T> {
    const run = this.chain.then(async () => {
      if (this.failure !== undefined) this.assertUsable()
      return await op()
    })
    this.chain = run.catch(() => {})
    return await run
  }

  /** Runs a step that changes the files; if it fails, their state is unknown, so the log fails closed. */
  private async mutate (step: () => Promise<void>): Promise<void> {
    try {
      await step()
    } catch (err) {
      this.failure = err instanceof StorageError ? err : new StorageError(`write-ahead log: ${this.dir}: ${String(err)}`, { cause: err })
      throw this.failure
    }
  }
}
