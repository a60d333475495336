/**
 * The on-disk format of write-ahead-log segments.
 *
 * A segment file is named by the index of its first record, zero-padded to
 * 20 digits (`00000000000000000001.wal`), and holds a header followed by
 * records:
 *
 * ```
 * header:  "AEGW" (4 bytes) | format version (u8)
 * record:  length (u32 LE) | crc32c(length bytes ‖ data) (u32 LE) | data
 * ```
 *
 * @module
 */
import { crc32c } from './crc32c.js'

/** The version byte written after the magic; bumped on incompatible changes. */
export const SEGMENT_FORMAT_VERSION = 1

/** "AEGW": the first bytes of every segment file. */
export const SEGMENT_MAGIC = /* @__PURE__ */ Uint8Array.of(0x41, 0x45, 0x47, 0x57)

/** Bytes before the first record of a segment. */
export const SEGMENT_HEADER_BYTES = SEGMENT_MAGIC.length + 1

/** Bytes of framing before each record's data. */
export const RECORD_HEADER_BYTES = 8

const SEGMENT_NAME = /^(\d{20})\.wal$/

/** The file name of the segment whose first record is `firstIndex`. */
export const segmentFileName = (firstIndex: number): string =>
  String(firstIndex).padStart(20, '0') + '.wal'

/** The first index a segment file name stands for, or `undefined` if it is not one. */
export const parseSegmentFileName = (name: string): number | undefined => {
  const m = SEGMENT_NAME.exec(name)
  if (m === null) return undefined
  const index = Number(m[1])
  return Number.isSafeInteger(index) && index >= 1 ? index : undefined
}

/** The header every segment file starts with. */
export const encodeSegmentHeader = (): Uint8Array => {
  const header = new Uint8Array(SEGMENT_HEADER_BYTES)
  header.set(SEGMENT_MAGIC)
  header[SEGMENT_MAGIC.length] = SEGMENT_FORMAT_VERSION
  return header
}

/**
 * Why `header` is not a segment header this code reads, or `undefined` if it is.
 */
export const checkSegmentHeader = (header: Uint8Array): string | undefined => {
  if (header.length < SEGMENT_HEADER_BYTES) return 'the segment header is incomplete'
  for (let i = 0; i < SEGMENT_MAGIC.length; i++) {
    if (header[i] !== SEGMENT_MAGIC[i]) return 'not a write-ahead-log segment (bad magic)'
  }
  const version = header[SEGMENT_MAGIC.length]
  return version === SEGMENT_FORMAT_VERSION ? undefined : `unsupported segment format version ${version}`
}

/** The checksum stored in a record header: crc32c over the length bytes, then the data. */
export const recordChecksum = (lengthBytes: Uint8Array, data: Uint8Array): number =>
  crc32c(data, crc32c(lengthBytes))

/** The 8 framing bytes that precede `data` in a segment. */
export const encodeRecordHeader = (data: Uint8Array): Uint8Array => {
  const header = new Uint8Array(RECORD_HEADER_BYTES)
  const view = new DataView(header.buffer)
  view.setUint32(0, data.length, true)
  view.setUint32(4, recordChecksum(header.subarray(0, 4), data), true)
  return header
}

/** Reads a record header: the declared data length and checksum. */
export const decodeRecordHeader = (bytes: Uint8Array): { length: number, checksum: number } => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, RECORD_HEADER_BYTES)
  return { length: view.getUint32(0, true), checksum: view.getUint32(4, true) }
}
