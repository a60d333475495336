/**
 * A segment file as the log sees it in memory: where it is, which index its
 * first record has, and the byte offset of each record.
 *
 * @module
 */
import type { FsFileHandle as FileHandle, FileSystem } from './file-system.js'
import { join } from 'node:path'
import { io, writeFully } from './fs-util.js'
import { encodeSegmentHeader, segmentFileName, SEGMENT_HEADER_BYTES } from './segment-format.js'

/** One segment file; see the module documentation. */
export class Segment {
  /**
   * @param firstIndex - the index of the segment's first record (its file name)
   * @param path - the file's path
   * @param offsets - the byte offset of each record, in order
   * @param size - the bytes in use: header plus whole records
   */
  constructor (readonly firstIndex: number, readonly path: string, readonly offsets: number[], public size: number) {}

  /** The index the next record appended here would get. */
  get nextIndex (): number {
    return this.firstIndex + this.offsets.length
  }

  /** The byte range `[start, end)` of record `index`, which this segment holds. */
  range (index: number): [number, number] {
    const i = index - this.firstIndex
    return [this.offsets[i], i + 1 < this.offsets.length ? this.offsets[i + 1] : this.size]
  }
}

/**
 * Creates the empty segment file for `firstIndex` in `dir` (failing if it
 * exists) and returns it with a handle open for writing. The caller fsyncs
 * the directory.
 */
export const createSegment = async (dir: string, firstIndex: number, fsync: boolean, fs: FileSystem): Promise<{ segment: Segment, handle: FileHandle }> => {
  const path = join(dir, segmentFileName(firstIndex))
  return await io('creating', path, async () => {
    const handle = await fs.open(path, 'wx+')
    try {
      await writeFully(handle, [encodeSegmentHeader()], 0)
      if (fsync) await handle.sync()
    } catch (err) {
      await handle.close()
      throw err
    }
    return { segment: new Segment(firstIndex, path, [], SEGMENT_HEADER_BYTES), handle }
  })
}
