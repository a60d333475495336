/**
 * Durable storage of one room on the hub: a write-ahead log of updates
 * (each fsynced before the client is acknowledged) that is compacted into a
 * snapshot of the room's state once it grows.
 *
 * @module
 */
import { join } from 'node:path'
import { Doc, xxh64Hex } from 'aegis-replication'
import type { RoomStore } from 'aegis-replication/sync'
import { WriteAheadLog } from 'aegis-replication/fs'

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

/** A room's write-ahead log and the doc rebuilt from it. */
export class RoomStorage implements RoomStore {
  private sinceSnapshot = 0
  private compacting: Promise<void> | undefined

  private constructor (
    readonly doc: Doc,
    private readonly wal: WriteAheadLog,
    private readonly compactAfter: number,
    sinceSnapshot: number
  ) {
    this.sinceSnapshot = sinceSnapshot
  }

  /** Opens (recovering a torn tail) and replays the room's log into a fresh doc. */
  static async open (dir: string, replicaId: string, options: RoomStorageOptions = {}): Promise<RoomStorage> {
    const wal = await WriteAheadLog.open(dir, { fsync: options.fsync ?? true })
    const doc = new Doc({ replicaId })
    const snap = await wal.snapshot()
    if (snap !== undefined) doc.applyUpdate(snap.data)
    let n = 0
    for await (const { data } of wal.read()) { doc.applyUpdate(data); n++ }
    return new RoomStorage(doc, wal, options.compactAfter ?? 1000, n)
  }

  /** Updates recovered past a torn tail on open, for the logs. */
  get recovery (): WriteAheadLog['recovery'] { return this.wal.recovery }

  /** Durable once resolved. */
  async append (update: Uint8Array): Promise<void> {
    await this.wal.append([update])
    if (++this.sinceSnapshot >= this.compactAfter && this.compacting === undefined) {
      this.compacting = this.compact().finally(() => { this.compacting = undefined })
    }
  }

  /** Writes the doc's state as the snapshot covering the whole log so far. */
  async compact (): Promise<void> {
    const index = this.wal.lastIndex
    if (index < 1) return
    // the doc holds at least everything up to `index` (updates are applied before they are appended)
    await this.wal.compact(index, this.doc.encodeStateAsUpdate())
    this.sinceSnapshot = 0
  }

  async close (): Promise<void> {
    await this.compacting
    await this.wal.close()
  }
}
