/**
 * Writing a batch of records at the end of the log, rotating to new segment
 * files as they fill. Nothing in memory changes here: the caller applies the
 * returned parts once every byte is durable, so readers never see a record
 * that could still be lost.
 *
 * Crash order: a full segment's part is written and fsynced before the next
 * segment file is created, so only the last segment can ever hold a torn
 * record; the directory is fsynced before the batch counts as durable.
 *
 * @module
 */
import type { FsFileHandle as FileHandle, FileSystem } from './file-system.js'
import { fsyncDir, io, writeFully } from './fs-util.js'
import { encodeRecordHeader, RECORD_HEADER_BYTES } from './segment-format.js'
import type { LogState } from './log-state.js'
import { createSegment, type Segment } from './segment.js'

/** Records written to one segment. */
export interface WrittenPart {
  segment: Segment
  /** Byte offsets of the new records. */
  offsets: number[]
  /** The segment's size after them. */
  size: number
}

/** What {@link writeBatch} wrote. */
export interface WrittenBatch {
  /** In order; the first is the segment that was last, the others are new. */
  parts: WrittenPart[]
  /** Open for writing on the (possibly new) last segment. */
  handle: FileHandle
}

/** Where and how {@link writeBatch} writes. */
export interface BatchTarget {
  dir: string
  /** The log's last segment and its open handle. */
  tail: Segment
  handle: FileHandle
  segmentBytes: number
  fsync: boolean
  fs: FileSystem
}

interface OpenPart extends WrittenPart { handle: FileHandle, start: number, buffers: Uint8Array[] }

const flush = async (part: OpenPart, fsync: boolean): Promise<void> => {
  await io('writing', part.segment.path, async () => {
    await writeFully(part.handle, part.buffers, part.start)
    if (fsync) await part.handle.datasync()
  })
}

/**
 * Appends `records` (at least one) after `target.tail`, starting a new
 * segment before a record that would take a non-empty segment past
 * `segmentBytes`. Handles of segments it leaves behind are closed; on
 * failure, handles it opened are closed too.
 */
export const writeBatch = async (target: BatchTarget, records: Uint8Array[]): Promise<WrittenBatch> => {
  const { dir, tail, segmentBytes, fsync, fs } = target
  let part: OpenPart = { segment: tail, handle: target.handle, start: tail.size, size: tail.size, offsets: [], buffers: [] }
  const parts: OpenPart[] = [part]
  let next = tail.nextIndex
  try {
    for (const data of records) {
      const bytes = RECORD_HEADER_BYTES + data.length
      const empty = part.segment.offsets.length + part.offsets.length === 0
      if (!empty && part.size + bytes > segmentBytes) {
        await flush(part, fsync)
        const fresh = await createSegment(dir, next, fsync, fs)
        if (part.handle !== target.handle) await part.handle.close()
        part = { segment: fresh.segment, handle: fresh.handle, start: fresh.segment.size, size: fresh.segment.size, offsets: [], buffers: [] }
        parts.push(part)
      }
      part.offsets.push(part.size)
      part.buffers.push(encodeRecordHeader(data), data)
      part.size += bytes
      next++
    }
    await flush(part, fsync)
    if (fsync && parts.length > 1) await io('syncing', dir, async () => { await fsyncDir(dir, fs) })
  } catch (err) {
    if (part.handle !== target.handle) await part.handle.close().catch(() => {})
    throw err
  }
  if (parts.length > 1) await target.handle.close().catch(() => {})
  return { parts: parts.map(({ segment, offsets, size }) => ({ segment, offsets, size })), handle: part.handle }
}

/** Writes `records` (at least one) after the log's last record, then makes them visible in `state`. */
export const appendRecords = async (state: LogState, records: Uint8Array[]): Promise<void> => {
  const { segmentBytes, fsync, fs } = state.options
  const tail = state.segments[state.segments.length - 1]
  const batch = await writeBatch({ dir: state.dir, tail, handle: state.handle, segmentBytes, fsync, fs }, records)
  for (const part of batch.parts) {
    for (const offset of part.offsets) part.segment.offsets.push(offset)
    part.segment.size = part.size
    if (part.segment !== tail) state.segments.push(part.segment)
  }
  state.handle = batch.handle
}
