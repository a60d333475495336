/**
 * Durable storage of one room on the hub: a write-ahead log of updates
 * (each fsynced before the client is acknowledged) that is compacted into a
 * snapshot of the room's state once it grows.
 *
 * @module
 */
import { stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Doc, StorageError, xxh64Hex } from 'aegis-replication'
import type { RoomStore } from 'aegis-replication/sync'
import { WriteAheadLog, type WalDamage } from 'aegis-replication/fs'

/** The directory of a room: readable prefix + hash, safe for any room name. */
export const roomDir = (dataDir: string, room: string): string => {
  const safe = room.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 40)
  return join(dataDir, 'rooms', `${safe}-${xxh64Hex(room)}`)
}

/** Options of {@link RoomStorage}. */
export interface RoomStorageOptions {
  /** Compact once this many updates follow the snapshot. @default 1000 */
  compactAfter?: number
  /** fsync before acknowledging (only tests turn it off). @default true */
  fsync?: boolean
}

/** Room directories open in this process (a log not created yet has no WAL to guard it). */
const openRooms = new Set<string>()

const exists = async (dir: string): Promise<boolean> => {
  try {
    await stat(dir)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw new StorageError(`room storage: cannot read ${dir}: ${String(err)}`, { cause: err })
  }
}

/** What recovery found for a room that has nothing on disk yet. */
const NOTHING_RECOVERED: WriteAheadLog['recovery'] = Object.freeze({ records: 0, tornBytesDropped: 0, segments: 0 })

/**
 * A room's write-ahead log and the doc rebuilt from it. The room's
 * directory is created on its first write: opening a room that was never
 * written creates nothing on disk.
 */
export class RoomStorage implements RoomStore {
  private sinceSnapshot = 0
  private compacting: Promise<void> | undefined
  private opening: Promise<WriteAheadLog> | undefined
  private closed = false
  private waiting = 0

  private constructor (
    readonly doc: Doc,
    private readonly dir: string,
    private wal: WriteAheadLog | undefined,
    private readonly options: RoomStorageOptions,
    sinceSnapshot: number
  ) {
    this.sinceSnapshot = sinceSnapshot
  }

  /**
   * Opens (recovering a torn tail) and replays the room's log into a fresh
   * doc; a room with no directory yet opens empty. On any failure nothing is
   * left open, so the room can be opened again once the cause is fixed.
   *
   * @throws {StorageError} if the log cannot be read (corrupt beyond what
   * recovery repairs, or an I/O error) or `dir` is already open in this process.
   */
  static async open (dir: string, replicaId: string, options: RoomStorageOptions = {}): Promise<RoomStorage> {
    const path = resolve(dir)
    if (openRooms.has(path)) throw new StorageError(`room storage: ${path} is already open in this process`)
    openRooms.add(path)
    let wal: WriteAheadLog | undefined
    try {
      const doc = new Doc({ replicaId })
      if (!await exists(path)) return new RoomStorage(doc, path, undefined, options, 0)
      wal = await WriteAheadLog.open(path, { fsync: options.fsync ?? true, onDamage: 'truncate' })
      const snap = await wal.snapshot()
      if (snap !== undefined) doc.applyUpdate(snap.data)
      let n = 0
      for await (const { data } of wal.read()) { doc.applyUpdate(data); n++ }
      return new RoomStorage(doc, path, wal, options, n)
    } catch (err) {
      await wal?.close().catch(() => {})
      openRooms.delete(path)
      throw err
    }
  }

  /** Updates recovered past a torn tail on open, for the logs. */
  get recovery (): WriteAheadLog['recovery'] { return this.wal?.recovery ?? NOTHING_RECOVERED }

  /**
   * Damage recovery found and cut away when the room was opened (records
   * or segments lost that may have been acknowledged; the log is opened with
   * `onDamage: 'truncate'`, so the room serves what is left and clients
   * that hold the lost updates send them again when they sync);
   * `undefined` when there was none. The hub logs it at error level, counts
   * it and reports the room in `/healthz`.
   */
  get damage (): WalDamage | undefined { return this.wal?.recovery.damage }

  /** Durable once resolved. */
  async append (update: Uint8Array): Promise<void> {
    let wal = this.wal
    if (wal === undefined || this.waiting > 0) { // keep the order of appends made while the log was created
      this.waiting++
      try { wal = await this.create() } finally { this.waiting-- }
    }
    await wal.append([update])
    if (++this.sinceSnapshot >= (this.options.compactAfter ?? 1000) && this.compacting === undefined) {
      this.compacting = this.compact().finally(() => { this.compacting = undefined })
    }
  }

  /** Writes the doc's state as the snapshot covering the whole log so far. */
  async compact (): Promise<void> {
    const wal = this.wal
    if (wal === undefined) return
    const index = wal.lastIndex
    if (index < 1) return
    // the doc holds at least everything up to `index` (updates are applied before they are appended)
    await wal.compact(index, this.doc.encodeStateAsUpdate())
    this.sinceSnapshot = 0
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.compacting
    const wal = this.wal ?? await this.opening?.catch(() => undefined)
    try {
      await wal?.close()
    } finally {
      openRooms.delete(this.dir)
    }
  }

  /** Creates the room's log on its first write; appends made meanwhile wait for it, in order. */
  private async create (): Promise<WriteAheadLog> {
    if (this.closed) throw new StorageError(`room storage: ${this.dir} is closed`)
    this.opening ??= WriteAheadLog.open(this.dir, { fsync: this.options.fsync ?? true, onDamage: 'truncate' }).then((wal) => {
      this.wal = wal
      return wal
    }, (err: unknown) => {
      this.opening = undefined // the next write tries again
      throw err
    })
    return await this.opening
  }
}
