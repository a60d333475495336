/**
 * The chunked snapshot side of a `RaftStorage`: a storage that keeps
 * its latest snapshot out of memory (on disk) implements
 * {@link SnapshotStore}, and the driver then streams snapshots to and from
 * it in chunks instead of holding them whole. `MemoryRaftStorage`
 * implements it over a `Uint8Array` (see {@link MemorySnapshotStore}).
 *
 * Unlike the other storage calls, the reads (`snapshotInfo`,
 * `readSnapshotChunk`) and a sink's writes may run while another storage
 * call is in flight: they touch only the snapshot files, never the log.
 * `installReceivedSnapshot` is an ordinary, serialized call.
 *
 * @module
 */
import { crc32c } from './crc32c.js'
import { SnapshotChecksumError } from './errors.js'
import type { Snapshot, SnapshotMeta } from './types.js'

/** A stored (or incoming) snapshot without its data: metadata, size and CRC-32C of the data. */
export interface SnapshotInfo extends SnapshotMeta {
  /** Bytes of snapshot data. */
  size: number
  /** CRC-32C of the data. */
  checksum: number
}

/**
 * Receives one snapshot's data in order; nothing it writes is visible as
 * the stored snapshot until {@link SnapshotStore.installReceivedSnapshot}.
 */
export interface SnapshotSink {
  /** The snapshot being received. */
  readonly info: SnapshotInfo
  /** Appends the next bytes. */
  write (data: Uint8Array): Promise<void>
  /**
   * Checks that `info.size` bytes with `info.checksum` arrived and makes
   * them durable (fsync) — still staged, not installed.
   * @throws {SnapshotChecksumError} when size or checksum differ (the sink is then aborted).
   */
  finish (): Promise<void>
  /** Drops what was received (removes the temporary file). */
  abort (): Promise<void>
}

/** A storage that streams snapshots; see the module documentation. */
export interface SnapshotStore {
  /** The stored snapshot's metadata, size and checksum, or `undefined` when there is none. */
  snapshotInfo (): SnapshotInfo | undefined
  /**
   * Bytes `[offset, offset + length)` of the stored snapshot's data (fewer
   * at its end), or `undefined` when the stored snapshot is no longer the one
   * at `index` (a newer one replaced it).
   */
  readSnapshotChunk (index: number, offset: number, length: number): Promise<Uint8Array | undefined>
  /** The stored snapshot's whole data (for `StateMachine.restore`), checked against its checksum. */
  readSnapshotData (): Promise<Uint8Array | undefined>
  /** Starts receiving a snapshot (into a temporary file for a file storage). */
  receiveSnapshot (info: SnapshotInfo): Promise<SnapshotSink>
  /**
   * Makes a finished sink's snapshot the stored one, like `saveSnapshot`
   * (entries it covers go; later ones stay only if the entry at its index
   * has its term). `meta` is the metadata the core accepted (equal to the
   * sink's). Atomic: a crash leaves the old snapshot or the new one.
   */
  installReceivedSnapshot (sink: SnapshotSink, meta: SnapshotMeta): Promise<void>
}

/** Whether `storage` streams snapshots. */
export const isSnapshotStore = <S extends object>(storage: S): storage is S & SnapshotStore => {
  const s = storage as Partial<SnapshotStore>
  return typeof s.snapshotInfo === 'function' && typeof s.readSnapshotChunk === 'function' &&
    typeof s.receiveSnapshot === 'function' && typeof s.installReceivedSnapshot === 'function' && typeof s.readSnapshotData === 'function'
}

/** A sink that collects chunks in memory (for {@link MemorySnapshotStore}). */
export class MemorySnapshotSink implements SnapshotSink {
  private readonly chunks: Uint8Array[] = []
  private received = 0
  private crc = 0
  /** The assembled data once finished. */
  data: Uint8Array | undefined

  constructor (readonly info: SnapshotInfo) {}

  async write (data: Uint8Array): Promise<void> {
    this.chunks.push(data)
    this.received += data.length
    this.crc = crc32c(data, this.crc)
  }

  async finish (): Promise<void> {
    if (this.received !== this.info.size || this.crc !== this.info.checksum) {
      await this.abort()
      throw new SnapshotChecksumError(`received ${this.received} bytes with checksum ${this.crc}, expected ${this.info.size} with ${this.info.checksum}`)
    }
    const data = new Uint8Array(this.received)
    let o = 0
    for (const c of this.chunks) { data.set(c, o); o += c.length }
    this.chunks.length = 0
    this.data = data
  }

  async abort (): Promise<void> {
    this.chunks.length = 0
    this.data = undefined
  }
}

/**
 * The {@link SnapshotStore} half of `MemoryRaftStorage`: over the stored
 * snapshot's `Uint8Array` (a memory storage holds its data in memory by
 * definition; what it spares is the per-follower copies).
 */
export class MemorySnapshotStore {
  private info: SnapshotInfo | undefined
  private of: Snapshot | undefined

  constructor (private readonly get: () => Snapshot | undefined, private readonly save: (s: Snapshot) => Promise<void>) {}

  snapshotInfo (): SnapshotInfo | undefined {
    const s = this.get()
    if (s === undefined) return undefined
    if (this.of !== s || this.info === undefined) {
      this.of = s
      this.info = { index: s.index, term: s.term, conf: s.conf, size: s.data.length, checksum: crc32c(s.data) }
    }
    return this.info
  }

  async readSnapshotChunk (index: number, offset: number, length: number): Promise<Uint8Array | undefined> {
    const s = this.get()
    if (s === undefined || s.index !== index) return undefined
    return s.data.subarray(offset, Math.min(s.data.length, offset + length))
  }

  async readSnapshotData (): Promise<Uint8Array | undefined> {
    return this.get()?.data
  }

  async receiveSnapshot (info: SnapshotInfo): Promise<SnapshotSink> {
    return new MemorySnapshotSink(info)
  }

  async installReceivedSnapshot (sink: SnapshotSink, meta: SnapshotMeta): Promise<void> {
    const data = (sink as MemorySnapshotSink).data
    if (!(sink instanceof MemorySnapshotSink) || data === undefined) throw new Error('installReceivedSnapshot: the sink is not a finished memory sink')
    await this.save({ index: meta.index, term: meta.term, conf: meta.conf, data })
  }
}
