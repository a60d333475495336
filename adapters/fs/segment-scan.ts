/**
 * Reading and checking the records of one segment file, front to back.
 *
 * @module
 */
import { crc32c } from './crc32c.js'
import type { BlockReader } from './block-reader.js'
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES } from './segment-format.js'

/**
 * The framed size of the record at `pos` if it is whole and its checksum
 * matches, otherwise why not. Reads at most one block at a time: a declared
 * length is never allocated, and one past `maxRecordBytes` or the end of the
 * file is rejected before anything is read.
 */
export const checkRecordAt = async (reader: BlockReader, pos: number, maxRecordBytes: number): Promise<number | string> => {
  const room = reader.size - pos
  if (room < RECORD_HEADER_BYTES) return `only ${room} bytes left, a record header needs ${RECORD_HEADER_BYTES}`
  const length = await reader.uint32(pos)
  if (length > maxRecordBytes) return `declared length ${length} is larger than maxRecordBytes (${maxRecordBytes})`
  if (length > room - RECORD_HEADER_BYTES) return `declared length ${length} runs past the end of the file`
  const stored = await reader.uint32(pos + 4)
  const actual = await reader.crc32c(pos + RECORD_HEADER_BYTES, length, crc32c(await reader.bytes(pos, 4)))
  return actual === stored ? RECORD_HEADER_BYTES + length : 'checksum mismatch'
}

/** What {@link scanSegment} found. */
export interface SegmentScan {
  /** The byte offset of each valid record, in order. */
  offsets: number[]
  /** The byte just past the last valid record. */
  end: number
  /** The first record that is not valid, if any. */
  bad?: { offset: number, reason: string }
}

/**
 * Checks every record of a segment whose header has already been checked,
 * stopping at the first one that is not valid.
 */
export const scanSegment = async (reader: BlockReader, maxRecordBytes: number): Promise<SegmentScan> => {
  const offsets: number[] = []
  let pos = SEGMENT_HEADER_BYTES
  while (pos < reader.size) {
    const result = await checkRecordAt(reader, pos, maxRecordBytes)
    if (typeof result === 'string') return { offsets, end: pos, bad: { offset: pos, reason: result } }
    offsets.push(pos)
    pos += result
  }
  return { offsets, end: pos }
}
