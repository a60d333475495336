/**
 * The snapshot file: the bytes a log was compacted into and the index they
 * cover. Written to a temporary file, fsynced, renamed over the old one and
 * the directory fsynced, so a crash leaves either the old snapshot or the
 * new one.
 *
 * ```
 * "AEGS" | version (u8) | index (u64 LE) | length (u64 LE) | crc32c(index ‖ length ‖ data) (u32 LE) | data
 * ```
 *
 * @module
 */
import type { FileSystem } from './file-system.js'
import { join } from 'node:path'
import { crc32c } from './crc32c.js'
import { corruptionError, fsyncDir, io, readFully, writeFully } from './fs-util.js'

/** The snapshot's file name inside the log directory. */
export const SNAPSHOT_FILE = 'snapshot.snap'

/** Where a snapshot is written before it is renamed into place. */
export const SNAPSHOT_TEMP_FILE = 'snapshot.snap.tmp'

const MAGIC = [0x41, 0x45, 0x47, 0x53] // "AEGS"
const VERSION = 1
const HEADER_BYTES = 25

/** What the snapshot header says. */
export interface SnapshotHeader {
  /** The last index the snapshot covers. */
  index: number
  /** The bytes of snapshot data. */
  length: number
  /** The stored checksum. */
  checksum: number
}

/** The header without its checksum; `headerSeed` of it starts the checksum the data continues. */
const rawHeader = (index: number, length: number): Uint8Array => {
  const header = new Uint8Array(HEADER_BYTES)
  const view = new DataView(header.buffer)
  header.set(MAGIC)
  header[4] = VERSION
  view.setBigUint64(5, BigInt(index), true)
  view.setBigUint64(13, BigInt(length), true)
  return header
}
const headerSeed = (header: Uint8Array): number => crc32c(header.subarray(5, 21))
const sealHeader = (header: Uint8Array, checksum: number): Uint8Array => {
  new DataView(header.buffer).setUint32(21, checksum, true)
  return header
}

const encodeHeader = (index: number, data: Uint8Array): Uint8Array => {
  const header = rawHeader(index, data.length)
  return sealHeader(header, crc32c(data, headerSeed(header)))
}

const decodeHeader = (path: string, header: Uint8Array, fileSize: number): SnapshotHeader => {
  if (header.length < HEADER_BYTES) throw corruptionError(path, header.length, 'the snapshot header is incomplete')
  if (MAGIC.some((b, i) => header[i] !== b)) throw corruptionError(path, 0, 'not a write-ahead-log snapshot (bad magic)')
  if (header[4] !== VERSION) throw corruptionError(path, 4, `unsupported snapshot format version ${header[4]}`)
  const view = new DataView(header.buffer, header.byteOffset, HEADER_BYTES)
  const index = Number(view.getBigUint64(5, true))
  const length = Number(view.getBigUint64(13, true))
  if (!Number.isSafeInteger(index) || index < 1) throw corruptionError(path, 5, `bad snapshot index ${index}`)
  if (length !== fileSize - HEADER_BYTES) {
    throw corruptionError(path, 13, `the header declares ${length} bytes of data but the file holds ${fileSize - HEADER_BYTES}`)
  }
  return { index, length, checksum: view.getUint32(21, true) }
}

/**
 * Reads the snapshot file in `dir`: its header only, or with `withData` also
 * its data, checked against the checksum. `undefined` if there is none.
 */
export const readSnapshotFile = async (dir: string, withData: boolean, fs: FileSystem): Promise<{ header: SnapshotHeader, data?: Uint8Array } | undefined> =>
  await readSnapshotFileAt(join(dir, SNAPSHOT_FILE), withData, fs)

/** {@link readSnapshotFile} of the file at `path`. */
export const readSnapshotFileAt = async (path: string, withData: boolean, fs: FileSystem): Promise<{ header: SnapshotHeader, data?: Uint8Array } | undefined> => {
  return await io('reading', path, async () => {
    let handle
    try {
      handle = await fs.open(path, 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    try {
      const { size } = await handle.stat()
      const raw = new Uint8Array(Math.min(HEADER_BYTES, size))
      const header = decodeHeader(path, raw.subarray(0, await readFully(handle, raw, 0)), size)
      if (!withData) return { header }
      const data = new Uint8Array(header.length) // equals the bytes left in the file
      if (await readFully(handle, data, HEADER_BYTES) !== data.length) throw corruptionError(path, HEADER_BYTES, 'the file shrank while being read')
      if (crc32c(data, crc32c(raw.subarray(5, 21))) !== header.checksum) throw corruptionError(path, 21, 'snapshot checksum mismatch')
      return { header, data }
    } finally {
      await handle.close()
    }
  })
}

/** Durably replaces the snapshot in `dir` with `data`, covering indices up to `index`. */
export const writeSnapshotFile = async (dir: string, index: number, data: Uint8Array, fsync: boolean, fs: FileSystem): Promise<void> => {
  const temp = join(dir, SNAPSHOT_TEMP_FILE)
  await io('writing', temp, async () => {
    const handle = await fs.open(temp, 'w')
    try {
      await writeFully(handle, [encodeHeader(index, data), data], 0)
      if (fsync) await handle.sync()
    } finally {
      await handle.close()
    }
  })
  await io('renaming', temp, async () => {
    await fs.rename(temp, join(dir, SNAPSHOT_FILE))
    if (fsync) await fsyncDir(dir, fs)
  })
}

/** Removes a temporary snapshot file a crash left behind, if any. */
export const removeSnapshotTemp = async (dir: string, fs: FileSystem): Promise<void> => {
  const temp = join(dir, SNAPSHOT_TEMP_FILE)
  await io('removing', temp, async () => { await fs.rm(temp, { force: true }) })
}

/**
 * Bytes `[offset, offset + length)` of the data of the snapshot file at
 * `path` (fewer at its end; not checked against the file's checksum: the
 * reader checks chunks end to end), or `undefined` if the file is gone.
 */
export const readSnapshotFileRange = async (path: string, offset: number, length: number, fs: FileSystem): Promise<Uint8Array | undefined> => {
  return await io('reading', path, async () => {
    let handle
    try {
      handle = await fs.open(path, 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    try {
      const { size } = await handle.stat()
      const n = Math.max(0, Math.min(length, size - HEADER_BYTES - offset))
      const data = new Uint8Array(n)
      if (await readFully(handle, data, HEADER_BYTES + offset) !== n) throw corruptionError(path, HEADER_BYTES + offset, 'the file shrank while being read')
      return data
    } finally {
      await handle.close()
    }
  })
}

/**
 * Writes a snapshot file from chunks, in order, at `path` (a temporary
 * name: the caller renames it into place once {@link finish} resolved).
 * The header, whose checksum covers all the data, is written last.
 */
export class SnapshotFileWriter {
  private written = 0
  private crc: number
  private readonly header: Uint8Array

  private constructor (readonly path: string, private readonly length: number, private readonly handle: Awaited<ReturnType<FileSystem['open']>>, private readonly fs: FileSystem, index: number) {
    this.header = rawHeader(index, length)
    this.crc = headerSeed(this.header)
  }

  /** Creates (or truncates) the file at `path` for a snapshot of `length` bytes at `index`. */
  static async create (path: string, index: number, length: number, fs: FileSystem): Promise<SnapshotFileWriter> {
    const handle = await io('creating', path, async () => await fs.open(path, 'w'))
    return new SnapshotFileWriter(path, length, handle, fs, index)
  }

  /** Bytes written so far. */
  get size (): number { return this.written }

  /** Appends `data`. */
  async write (data: Uint8Array): Promise<void> {
    if (this.written + data.length > this.length) throw new RangeError(`snapshot file ${this.path}: ${this.written + data.length} bytes exceed the declared ${this.length}`)
    await io('writing', this.path, async () => { await writeFully(this.handle, [data], HEADER_BYTES + this.written) })
    this.written += data.length
    this.crc = crc32c(data, this.crc)
  }

  /** Writes the header, fsyncs (unless `fsync` is false) and closes the file. */
  async finish (fsync: boolean): Promise<void> {
    if (this.written !== this.length) throw new RangeError(`snapshot file ${this.path}: ${this.written} of ${this.length} bytes written`)
    await io('writing', this.path, async () => {
      try {
        await writeFully(this.handle, [sealHeader(this.header, this.crc)], 0)
        if (fsync) await this.handle.sync()
      } finally {
        await this.handle.close()
      }
    })
  }

  /** Closes and removes the file. */
  async abort (): Promise<void> {
    await this.handle.close().catch(() => {})
    await io('removing', this.path, async () => { await this.fs.rm(this.path, { force: true }) })
  }
}
