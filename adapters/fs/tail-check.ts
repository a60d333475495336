/**
 * Telling a torn tail from corruption.
 *
 * A crash while appending leaves the end of the last segment as a prefix of
 * the bytes being written: a cut header, a record cut short, or (on file
 * systems that extend a file before its data lands) zeros. None of that
 * holds a whole, checksummed record. So bad bytes at the end of the last
 * segment are a torn tail exactly when no valid record starts anywhere after
 * them; if one does, acknowledged data sits behind the damage and recovery
 * must stop rather than drop it.
 *
 * Every offset after the bad record is a candidate whose declared length
 * fits. Checking each by rereading its bytes would be quadratic, so: short
 * candidates are checked on the spot; for the others, one sequential pass
 * takes CRC-32C prefix checksums at each candidate's data start and end,
 * and {@link crc32cRange} turns two prefixes into the candidate's checksum.
 * Linear reads, O(log n) per candidate.
 *
 * @module
 */
import type { FsFileHandle as FileHandle } from './file-system.js'
import { BLOCK_BYTES, BlockReader } from './block-reader.js'
import { crc32c } from './crc32c.js'
import { crc32cCombine, crc32cRange } from './crc32c-combine.js'
import { readFully } from './fs-util.js'
import { RECORD_HEADER_BYTES } from './segment-format.js'

/** Candidates with at most this many data bytes are checked on the spot. */
const INLINE_BYTES = 16

/**
 * Longer candidates a tail may hold before recovery gives up and refuses
 * (random bytes hold about `n² / 2³³`; crafted ones can hold more).
 */
export const MAX_TAIL_CANDIDATES = 1 << 20

const u32 = (b: Uint8Array, i: number): number => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0

/** The index of `value` in the sorted `array`, which holds it. */
const indexOf = (array: Float64Array, value: number): number => {
  let lo = 0
  let hi = array.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (array[mid] < value) lo = mid + 1
    else hi = mid
  }
  return lo
}

const followedAt = (offset: number): string => `a valid record follows at offset ${offset}, so this is not a torn tail`

/**
 * `undefined` if the bytes from `bad` (the first invalid record) to `size`
 * are a torn tail; otherwise why they must be treated as corruption.
 */
export const whyNotTornTail = async (handle: FileHandle, size: number, bad: number, maxRecordBytes: number): Promise<string | undefined> => {
  const from = bad + 1
  if (size - from < RECORD_HEADER_BYTES) return undefined
  const starts: number[] = []
  const lengths: number[] = []
  const checksums: number[] = []
  const buf = new Uint8Array(Math.min(BLOCK_BYTES + RECORD_HEADER_BYTES + INLINE_BYTES, size - from))
  for (let start = from; start + RECORD_HEADER_BYTES <= size; start += BLOCK_BYTES) {
    await readFully(handle, buf.subarray(0, Math.min(buf.length, size - start)), start)
    const end = Math.min(start + BLOCK_BYTES, size - RECORD_HEADER_BYTES + 1)
    for (let q = start; q < end; q++) {
      const i = q - start
      const length = u32(buf, i)
      if (length > maxRecordBytes || length > size - q - RECORD_HEADER_BYTES) continue
      const checksum = u32(buf, i + 4)
      if (length <= INLINE_BYTES) {
        const data = buf.subarray(i + RECORD_HEADER_BYTES, i + RECORD_HEADER_BYTES + length)
        if (crc32c(data, crc32c(buf.subarray(i, i + 4))) === checksum) return followedAt(q)
      } else if (starts.length === MAX_TAIL_CANDIDATES) {
        return `cannot tell a torn tail from corruption: over ${MAX_TAIL_CANDIDATES} possible records follow`
      } else {
        starts.push(q)
        lengths.push(length)
        checksums.push(checksum)
      }
    }
  }
  if (starts.length === 0) return undefined
  // Prefix checksums of [from, p) at every candidate's data start and end.
  const ends = new Float64Array(starts.length * 2)
  starts.forEach((q, j) => { ends[2 * j] = q + RECORD_HEADER_BYTES; ends[2 * j + 1] = q + RECORD_HEADER_BYTES + lengths[j] })
  const positions = ends.sort().filter((p, k, a) => k === 0 || a[k - 1] !== p)
  const prefix = new Uint32Array(positions.length)
  const reader = new BlockReader(handle, size)
  for (let k = 0, crc = 0, at = from; k < positions.length; at = positions[k++]) {
    crc = await reader.crc32c(at, positions[k] - at, crc)
    prefix[k] = crc
  }
  const lengthBytes = new Uint8Array(4)
  const view = new DataView(lengthBytes.buffer)
  for (let j = 0; j < starts.length; j++) {
    const a = starts[j] + RECORD_HEADER_BYTES
    const data = crc32cRange(prefix[indexOf(positions, a)], prefix[indexOf(positions, a + lengths[j])], lengths[j])
    view.setUint32(0, lengths[j], true)
    if (crc32cCombine(crc32c(lengthBytes), data, lengths[j]) === checksums[j]) return followedAt(starts[j])
  }
  return undefined
}
