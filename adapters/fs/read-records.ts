/**
 * Replaying records: a few records per positional read (up to
 * {@link READ_BATCH_BYTES}, or one record if it is larger), each checked
 * against its checksum again, so memory stays bounded however long the log.
 *
 * @module
 */
import type { FsFileHandle as FileHandle, FileSystem } from './file-system.js'
import { StorageError } from 'aegis-replication'
import { corruptionError, io, readFully } from './fs-util.js'
import { decodeRecordHeader, RECORD_HEADER_BYTES, recordChecksum } from './segment-format.js'
import type { Segment } from './segment.js'

/** Bytes read at once when records are small. */
export const READ_BATCH_BYTES = 1 << 20

/** One record of the log. */
export interface WalRecord {
  /** Its index: consecutive from 1, or from the snapshot's index + 1. */
  index: number
  /** The bytes appended. */
  data: Uint8Array
}

/** What {@link readRecords} needs to see of the log, asked afresh before each batch. */
export interface LogView {
  segments: () => readonly Segment[]
  firstIndex: () => number
  lastIndex: () => number
  /** Changes whenever records are removed (truncateAfter, compact). */
  mutations: () => number
  /** Throws if the log is closed or failed. */
  assertUsable: () => void
  /** The file system the log lives on. */
  fs: FileSystem
}

/** The segment holding `index`, which is in the log. */
const segmentOf = (segments: readonly Segment[], index: number): Segment => {
  let lo = 0
  let hi = segments.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    if (segments[mid].firstIndex <= index) lo = mid
    else hi = mid - 1
  }
  return segments[lo]
}

/** Records `from..to` (inclusive, `to` at most the last index when reading starts). */
export async function * readRecords (log: LogView, from: number, to: number): AsyncGenerator<WalRecord> {
  let handle: FileHandle | undefined
  let handleOf: Segment | undefined
  try {
    for (let index = from; index <= to;) {
      log.assertUsable()
      if (index < log.firstIndex() || index > log.lastIndex()) {
        throw new StorageError(`write-ahead log: record ${index} was removed (truncateAfter or compact) while being read`)
      }
      const segment = segmentOf(log.segments(), index)
      if (segment !== handleOf) {
        await handle?.close()
        handle = undefined
        handle = await io('opening', segment.path, async () => await log.fs.open(segment.path, 'r'))
        handleOf = segment
      }
      const last = Math.min(to, segment.nextIndex - 1)
      const [start] = segment.range(index)
      let end = segment.range(index)[1]
      let upTo = index
      while (upTo < last && segment.range(upTo + 1)[1] - start <= READ_BATCH_BYTES) end = segment.range(++upTo)[1]
      const mutations = log.mutations()
      const buf = new Uint8Array(end - start)
      const got = await io('reading', segment.path, async () => await readFully(handle as FileHandle, buf, start))
      const fail = (at: number, reason: string): StorageError => log.mutations() !== mutations
        ? new StorageError(`write-ahead log: ${segment.path} changed (truncateAfter or compact) while being read`)
        : corruptionError(segment.path, start + at, reason)
      for (let pos = 0; index <= upTo; index++) {
        if (got - pos < RECORD_HEADER_BYTES) throw fail(pos, 'the file ends inside a record header')
        const { length, checksum } = decodeRecordHeader(buf.subarray(pos))
        const dataEnd = pos + RECORD_HEADER_BYTES + length
        if (dataEnd > got) throw fail(pos, `declared length ${length} runs past the bytes read`)
        const data = upTo === index && pos === 0 ? buf.subarray(RECORD_HEADER_BYTES, dataEnd) : buf.slice(pos + RECORD_HEADER_BYTES, dataEnd)
        if (recordChecksum(buf.subarray(pos, pos + 4), data) !== checksum) throw fail(pos, 'checksum mismatch')
        pos = dataEnd
        log.assertUsable()
        yield { index, data }
      }
    }
  } finally {
    await handle?.close()
  }
}
