/**
 * Telling damage from a torn tail, and the report of it.
 *
 * A crash mid-append leaves the last record cut short (its declared length
 * runs past the end of the file) or, after a power loss on a file system
 * that extends a file before its data lands, zeros where the data should
 * be. Neither ever held an acknowledged record, so recovery cuts it off
 * quietly (`tornBytesDropped`). Everything else that loses records is
 * damage: a complete record (header whole, every byte there) whose checksum
 * fails without a zero-filled sector in it, or a segment file that is
 * missing. Recovery still repairs what it can, but reports it as
 * {@link WalDamage} so the owner can log at error level and raise an alarm.
 *
 * @module
 */
import type { FsFileHandle as FileHandle, FileSystem } from './file-system.js'
import type { BlockReader } from './block-reader.js'
import { readFully, writeFully } from './fs-util.js'

/** What recovery found that is not a torn tail: acknowledged records may be lost. */
export interface WalDamage {
  /** Segment files missing: none where the snapshot says records follow. */
  missingSegments: number
  /** Complete records whose checksum failed (cut off with everything after them). */
  corruptRecords: number
  /** Bytes dropped because of the damage (also counted in `tornBytesDropped` when cut off the tail). */
  bytesDropped: number
  /** One sentence per finding, naming the file (and offset). */
  detail: string[]
}

/** Sector size assumed for writes that did not land. */
const SECTOR_BYTES = 512

/** A zero run at least this long inside a sector counts as a sector that was never written. */
const MIN_ZERO_RUN = 16

const allZero = async (reader: BlockReader, from: number, to: number): Promise<boolean> => {
  for (let at = from; at < to;) {
    const n = Math.min(to - at, 1 << 16)
    const bytes = await reader.bytes(at, n)
    for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false
    at += n
  }
  return true
}

/**
 * Whether the complete record framed in `[start, end)` whose checksum
 * fails looks like data that never reached the disk: everything from
 * `start` to the end of the file is zero, or the part of the record in some
 * 512-byte sector (at least 16 bytes of it) is. Otherwise it is damage.
 */
export const looksUnwritten = async (reader: BlockReader, start: number, end: number): Promise<boolean> => {
  if (await allZero(reader, start, reader.size)) return true
  for (let sector = start - (start % SECTOR_BYTES); sector < end; sector += SECTOR_BYTES) {
    const from = Math.max(start, sector)
    const to = Math.min(end, sector + SECTOR_BYTES)
    if (to - from >= MIN_ZERO_RUN && await allZero(reader, from, to)) return true
  }
  return false
}

/** Adds `more` to `damage` (either may be undefined). */
export const addDamage = (damage: WalDamage | undefined, more: Partial<WalDamage> & { detail: string[] }): WalDamage => ({
  missingSegments: (damage?.missingSegments ?? 0) + (more.missingSegments ?? 0),
  corruptRecords: (damage?.corruptRecords ?? 0) + (more.corruptRecords ?? 0),
  bytesDropped: (damage?.bytesDropped ?? 0) + (more.bytesDropped ?? 0),
  detail: [...damage?.detail ?? [], ...more.detail]
})

/** Copies the bytes from `offset` on to `<segment>.<offset>.damaged` beside it, for a post-mortem; returns how many. */
export const keepDamagedBytes = async (handle: FileHandle, path: string, offset: number, fsync: boolean, fs: FileSystem): Promise<number> => {
  const { size } = await handle.stat()
  const bytes = new Uint8Array(size - offset)
  await readFully(handle, bytes, offset)
  const aside = await fs.open(`${path}.${offset}.damaged`, 'w')
  try {
    await writeFully(aside, [bytes], 0)
    if (fsync) await aside.sync()
  } finally {
    await aside.close()
  }
  return bytes.length
}
