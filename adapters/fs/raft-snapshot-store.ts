/**
 * The snapshot half of {@link FileRaftStorage}: Raft snapshots live in
 * their own files, out of memory, and stream in and out in chunks.
 *
 * ```
 * <dir>/snapshots/<index>-<checksum hex>.snap   the data (snapshot-file format: header, data)
 * <dir>/snapshots/*.tmp                         being written or received
 * <dir>/entries/ snapshot record                version 2: meta, size, checksum (which file)
 * ```
 *
 * Saving (taken locally) or installing (received) a snapshot: its data file
 * is written (or received) under a temporary name, fsynced, renamed to its
 * final name and the directory fsynced; only then is the small version 2
 * record stored in the entry log's snapshot (the log's own atomic
 * compaction), which makes it the snapshot. Older data files are removed
 * afterwards, and on open any file the record does not name. A crash at any
 * point leaves the previous snapshot intact.
 *
 * A version 1 record (written before streaming) holds the data inline; it is
 * still read (its data is then kept in memory until the next snapshot).
 *
 * @module
 */
import { join } from 'node:path'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { StorageError } from 'aegis-replication'
import {
  decodeSnapshot, encodeSnapshot, SnapshotChecksumError,
  type Snapshot, type SnapshotInfo, type SnapshotMeta, type SnapshotSink
} from 'aegis-replication/raft'
import { crc32c } from './crc32c.js'
import type { FileSystem } from './file-system.js'
import { fsyncDir, io } from './fs-util.js'
import { SnapshotFileWriter, readSnapshotFileAt, readSnapshotFileRange } from './snapshot-file.js'

/** The directory of the snapshot data files, beside `entries/`. */
export const SNAPSHOTS_DIR = 'snapshots'

const RECORD_V1 = 1
const RECORD_V2 = 2
let tempSeq = 0

const fileName = (info: SnapshotInfo): string => `${info.index}-${info.checksum.toString(16).padStart(8, '0')}.snap`

/** Encodes the version 2 snapshot record: meta, size and checksum of the data file. */
export const encodeSnapshotRecord = (info: SnapshotInfo): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, RECORD_V2)
  encoding.writeVarUint8Array(e, encodeSnapshot({ index: info.index, term: info.term, conf: info.conf, data: new Uint8Array(0) }))
  encoding.writeVarUint(e, info.size)
  encoding.writeUint32(e, info.checksum)
  return encoding.toUint8Array(e)
}

/** Decodes a snapshot record (version 2, or version 1 with inline data). @throws {StorageError} when corrupt. */
export const decodeSnapshotRecord = (where: string, bytes: Uint8Array): { info: SnapshotInfo, inline?: Uint8Array } => {
  try {
    if (bytes.length === 0) throw new Error('empty record')
    if (bytes[0] === RECORD_V1) {
      const s = decodeSnapshot(bytes.subarray(1))
      return { info: { index: s.index, term: s.term, conf: s.conf, size: s.data.length, checksum: crc32c(s.data) }, inline: s.data }
    }
    if (bytes[0] !== RECORD_V2) throw new Error(`unsupported raft storage format version ${bytes[0]}`)
    const d = decoding.createDecoder(bytes.subarray(1))
    const s = decodeSnapshot(decoding.readVarUint8Array(d))
    const size = decoding.readVarUint(d)
    const checksum = decoding.readUint32(d)
    if (decoding.hasContent(d)) throw new Error('trailing bytes')
    return { info: { index: s.index, term: s.term, conf: s.conf, size, checksum } }
  } catch (err) {
    throw new StorageError(`raft storage: corrupt ${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}

/** A sink receiving into a temporary file in the snapshots directory. */
class FileSnapshotSink implements SnapshotSink {
  private plain = 0
  finished = false
  constructor (readonly info: SnapshotInfo, readonly writer: SnapshotFileWriter, private readonly fsync: boolean) {}

  async write (data: Uint8Array): Promise<void> {
    await this.writer.write(data)
    this.plain = crc32c(data, this.plain)
  }

  async finish (): Promise<void> {
    if (this.writer.size !== this.info.size || this.plain !== this.info.checksum) {
      await this.abort()
      throw new SnapshotChecksumError(`received ${this.writer.size} bytes with checksum ${this.plain}, expected ${this.info.size} with ${this.info.checksum}`)
    }
    await this.writer.finish(this.fsync)
    this.finished = true
  }

  async abort (): Promise<void> {
    this.finished = false
    await this.writer.abort()
  }
}

/** See the module documentation. */
export class FileSnapshotStore {
  private info: SnapshotInfo | undefined
  private inline: Uint8Array | undefined

  private constructor (readonly dir: string, private readonly fs: FileSystem, private readonly fsync: boolean) {}

  /** Opens the snapshots directory of the storage in `root`, given the entry log's snapshot record; removes files it does not name. */
  static async open (root: string, record: Uint8Array | undefined, fs: FileSystem, fsync: boolean, where: string): Promise<FileSnapshotStore> {
    const store = new FileSnapshotStore(join(root, SNAPSHOTS_DIR), fs, fsync)
    if (record !== undefined) {
      const r = decodeSnapshotRecord(where, record)
      store.info = r.info
      store.inline = r.inline
    }
    await io('creating', store.dir, async () => {
      await fs.mkdir(store.dir, { recursive: true })
      if (fsync) await fsyncDir(root, fs) // the new directory's entry
    })
    await store.removeOthers(true)
    return store
  }

  /** The stored snapshot without its data. */
  snapshotInfo (): SnapshotInfo | undefined {
    return this.info
  }

  /** The stored snapshot's index and term (`{ 0, 0 }` when none). */
  get position (): { index: number, term: number } {
    return { index: this.info?.index ?? 0, term: this.info?.term ?? 0 }
  }

  async readSnapshotChunk (index: number, offset: number, length: number): Promise<Uint8Array | undefined> {
    const info = this.info
    if (info === undefined || info.index !== index) return undefined
    if (this.inline !== undefined) return this.inline.subarray(offset, Math.min(this.inline.length, offset + length))
    const data = await readSnapshotFileRange(join(this.dir, fileName(info)), offset, length, this.fs)
    // replaced meanwhile: the old file may be gone
    return this.info === info ? data : undefined
  }

  async readSnapshotData (): Promise<Uint8Array | undefined> {
    const info = this.info
    if (info === undefined) return undefined
    if (this.inline !== undefined) return this.inline
    const path = join(this.dir, fileName(info))
    const r = await readSnapshotFileAt(path, true, this.fs)
    if (r?.data === undefined) throw new StorageError(`raft storage: the snapshot data file ${path} is missing`)
    if (r.header.index !== info.index || r.data.length !== info.size || crc32c(r.data) !== info.checksum) {
      throw new StorageError(`raft storage: the snapshot data file ${path} does not match its record`)
    }
    return r.data
  }

  /** The whole stored snapshot (for `load`). */
  async load (): Promise<Snapshot | undefined> {
    const info = this.info
    if (info === undefined) return undefined
    const data = await this.readSnapshotData()
    return { index: info.index, term: info.term, conf: info.conf, data: data ?? new Uint8Array(0) }
  }

  async receiveSnapshot (info: SnapshotInfo): Promise<SnapshotSink> {
    const writer = await SnapshotFileWriter.create(join(this.dir, `receive-${++tempSeq}.tmp`), Math.max(1, info.index), info.size, this.fs)
    return new FileSnapshotSink(info, writer, this.fsync)
  }

  /** Writes a locally taken snapshot's data file durably; returns the record that makes it the snapshot. */
  async write (snapshot: Snapshot): Promise<{ info: SnapshotInfo, record: Uint8Array }> {
    const info: SnapshotInfo = { index: snapshot.index, term: snapshot.term, conf: snapshot.conf, size: snapshot.data.length, checksum: crc32c(snapshot.data) }
    const writer = await SnapshotFileWriter.create(join(this.dir, `save-${++tempSeq}.tmp`), info.index, info.size, this.fs)
    try {
      await writer.write(snapshot.data)
      await writer.finish(this.fsync)
    } catch (err) {
      await writer.abort().catch(() => {})
      throw err
    }
    await this.place(writer.path, info)
    return { info, record: encodeSnapshotRecord(info) }
  }

  /** Renames a finished sink's file into place; returns the record that makes it the snapshot. */
  async placeReceived (sink: SnapshotSink, meta: SnapshotMeta): Promise<{ info: SnapshotInfo, record: Uint8Array }> {
    if (!(sink instanceof FileSnapshotSink) || !sink.finished) throw new StorageError('raft storage: installReceivedSnapshot takes a finished sink of this storage')
    if (sink.info.index !== meta.index || sink.info.term !== meta.term) throw new StorageError(`raft storage: the received snapshot is at ${sink.info.index}, not ${meta.index}`)
    const info: SnapshotInfo = { ...sink.info, conf: meta.conf }
    await this.place(sink.writer.path, info)
    return { info, record: encodeSnapshotRecord(info) }
  }

  /** The record naming `info` was stored: it is the snapshot now; older files go. */
  async committed (info: SnapshotInfo): Promise<void> {
    this.info = info
    this.inline = undefined
    await this.removeOthers(false)
  }

  private async place (temp: string, info: SnapshotInfo): Promise<void> {
    await io('renaming', temp, async () => {
      await this.fs.rename(temp, join(this.dir, fileName(info)))
      if (this.fsync) await fsyncDir(this.dir, this.fs)
    })
  }

  /** Removes the data files of replaced snapshots, and with `temporary` (at open) what a crash left being written. */
  private async removeOthers (temporary: boolean): Promise<void> {
    const keep = this.info === undefined || this.inline !== undefined ? undefined : fileName(this.info)
    const names = await io('listing', this.dir, async () => await this.fs.readdir(this.dir))
    for (const name of names) {
      if (name === keep || (!temporary && name.endsWith('.tmp'))) continue
      await io('removing', name, async () => { await this.fs.rm(join(this.dir, name), { force: true }) })
    }
  }
}
