/**
 * Opening a log directory: finds the snapshot and the segments, checks every
 * record that is still needed, cuts a torn tail off the last segment, and
 * removes segments a snapshot covers (left by a compaction that crashed).
 *
 * @module
 */
import type { FsFileHandle as FileHandle, FileSystem } from './file-system.js'
import { join } from 'node:path'
import { StorageError } from 'aegis-replication'
import { BlockReader } from './block-reader.js'
import { addDamage, keepDamagedBytes, looksUnwritten, type WalDamage } from './damage.js'
import { corruptionError, fsyncDir, io, readFully, writeFully } from './fs-util.js'
import { checkSegmentHeader, encodeSegmentHeader, parseSegmentFileName, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES } from './segment-format.js'
import { scanSegment } from './segment-scan.js'
import { createSegment, Segment } from './segment.js'
import { readSnapshotFile, removeSnapshotTemp } from './snapshot-file.js'
import { whyNotTornTail } from './tail-check.js'

/** What recovery did when a log was opened. */
export interface WalRecovery {
  /** Records readable after recovery (`lastIndex - firstIndex + 1`). */
  records: number
  /**
   * Bytes cut off the end of the last segment: a torn last record (a crash
   * mid-append), or a damaged one (then also counted in `damage`).
   */
  tornBytesDropped: number
  /** Segment files in use after recovery. */
  segments: number
  /**
   * Damage recovery found and repaired, losing records that may have been
   * acknowledged; `undefined` when there was none (a torn tail is not damage).
   */
  damage?: WalDamage
}

/** The state of a freshly opened log. */
export interface RecoveredLog {
  segments: Segment[]
  /** Open for writing on the last segment. */
  handle: FileHandle
  snapshotIndex: number
  recovery: WalRecovery
}

interface Found { firstIndex: number, path: string }

/** What {@link inspectSegment} found: the segment, and for a torn last one how to repair it. */
interface Inspected {
  segment: Segment
  /** Cut the file to this size (a torn tail), or rewrite it as a bare header (`'header'`). */
  repair?: number | 'header'
  /** Bytes the repair drops. */
  dropped: number
  /** Set when the dropped bytes hold a complete record whose checksum fails: damage, not a torn write. */
  damaged?: string
}

/** Checks one segment without changing it; only the last one may end torn. */
const inspectSegment = async (file: Found, handle: FileHandle, last: boolean, maxRecordBytes: number): Promise<Inspected> => {
  const { size } = await handle.stat()
  if (last && size < SEGMENT_HEADER_BYTES) { // crashed while creating it: no records yet
    return { segment: new Segment(file.firstIndex, file.path, [], SEGMENT_HEADER_BYTES), repair: 'header', dropped: size }
  }
  const header = new Uint8Array(SEGMENT_HEADER_BYTES)
  const why = checkSegmentHeader(header.subarray(0, await readFully(handle, header, 0)))
  if (why !== undefined) throw corruptionError(file.path, 0, why)
  const scan = await scanSegment(new BlockReader(handle, size), maxRecordBytes)
  const segment = new Segment(file.firstIndex, file.path, scan.offsets, scan.end)
  if (scan.bad === undefined) return { segment, dropped: 0 }
  const { offset, reason } = scan.bad
  if (!last) throw corruptionError(file.path, offset, reason)
  const notTorn = await whyNotTornTail(handle, size, offset, maxRecordBytes)
  if (notTorn !== undefined) throw corruptionError(file.path, offset, `${reason}; ${notTorn}`)
  const inspected: Inspected = { segment, repair: offset, dropped: size - offset }
  if (reason === 'checksum mismatch') { // a complete record, every byte present
    const reader = new BlockReader(handle, size)
    const end = offset + RECORD_HEADER_BYTES + await reader.uint32(offset)
    if (!await looksUnwritten(reader, offset, end)) {
      inspected.damaged = `${file.path}: the record at offset ${offset} is complete but its checksum fails; ${size - offset} bytes from there were cut off`
    }
  }
  return inspected
}

/** Cuts a torn tail off the last segment, or gives it back its header. */
const repairSegment = async (handle: FileHandle, repair: number | 'header', fsync: boolean): Promise<void> => {
  await handle.truncate(repair === 'header' ? 0 : repair)
  if (repair === 'header') await writeFully(handle, [encodeSegmentHeader()], 0)
  if (fsync) await handle.sync()
}

const listSegments = async (dir: string, fs: FileSystem): Promise<Found[]> => {
  const names = await io('listing', dir, async () => await fs.readdir(dir))
  const found: Found[] = []
  for (const name of names) {
    const firstIndex = parseSegmentFileName(name)
    if (firstIndex !== undefined) found.push({ firstIndex, path: join(dir, name) })
  }
  return found.sort((a, b) => a.firstIndex - b.firstIndex)
}

/**
 * Recovers the log in `dir` (which exists); see the module documentation.
 *
 * @throws {StorageError} on corruption anywhere but a torn tail, naming the
 * file and offset, and on I/O failure. `afterRepair`: segments were just set
 * aside (`repair-damage`), so none after the snapshot is already reported.
 */
export const recover = async (dir: string, maxRecordBytes: number, fsync: boolean, fs: FileSystem, afterRepair = false): Promise<RecoveredLog> => {
  await removeSnapshotTemp(dir, fs)
  const snapshotIndex = (await readSnapshotFile(dir, false, fs))?.header.index ?? 0
  const found = await listSegments(dir, fs)
  // Segments before the last one starting at or below snapshotIndex + 1 hold only covered records.
  let keepFrom = -1
  for (let i = 0; i < found.length && found[i].firstIndex <= snapshotIndex + 1; i++) keepFrom = i
  if (found.length > 0 && keepFrom < 0) {
    throw new StorageError(`write-ahead log: ${found[0].path} starts at index ${found[0].firstIndex}, but records from ${snapshotIndex + 1} are missing`)
  }
  keepFrom = Math.max(keepFrom, 0)
  const obsolete = found.slice(0, keepFrom)
  const segments: Segment[] = []
  let handle: FileHandle | undefined
  let tornBytesDropped = 0
  let repair: Inspected['repair']
  let damaged: string | undefined
  let damage: WalDamage | undefined
  if (found.length === 0 && snapshotIndex > 0 && !afterRepair) {
    // compaction always leaves a segment for the records after the snapshot
    damage = addDamage(damage, {
      missingSegments: 1,
      detail: [`${dir}: the snapshot covers up to index ${snapshotIndex} but no segment holds the records after it; any written after the snapshot are lost`]
    })
  }
  try {
    for (let i = keepFrom; i < found.length; i++) {
      const last = i === found.length - 1
      const file = found[i]
      const h = await io('opening', file.path, async () => await fs.open(file.path, last ? 'r+' : 'r'))
      if (last) handle = h
      try {
        const inspected = await io('recovering', file.path, async () => await inspectSegment(file, h, last, maxRecordBytes))
        const prev = segments.at(-1)
        if (prev !== undefined && prev.nextIndex !== inspected.segment.firstIndex) {
          throw new StorageError(`write-ahead log: ${prev.path} ends before index ${prev.nextIndex} but the next segment is ${inspected.segment.path}`)
        }
        segments.push(inspected.segment)
        tornBytesDropped += inspected.dropped
        repair = inspected.repair
        damaged = inspected.damaged
      } finally {
        if (!last) await h.close()
      }
    }
    // Everything is checked: only now are files changed.
    const tail = segments.at(-1)
    if (tail !== undefined && handle !== undefined) {
      const h = handle
      const fix = repair
      if (tail.nextIndex <= snapshotIndex) {
        // A compaction past the end of the log crashed before replacing the segments.
        await h.close()
        handle = undefined
        obsolete.push(...segments.splice(0))
      } else if (fix !== undefined) {
        if (damaged !== undefined && typeof fix === 'number') {
          await io('saving damaged bytes of', tail.path, async () => { await keepDamagedBytes(h, tail.path, fix, fsync, fs) })
          damage = addDamage(damage, { corruptRecords: 1, bytesDropped: tornBytesDropped, detail: [damaged] })
        }
        await io('repairing', tail.path, async () => { await repairSegment(h, fix, fsync) })
      }
    }
    let created = false
    if (handle === undefined) {
      const fresh = await createSegment(dir, snapshotIndex + 1, fsync, fs)
      segments.push(fresh.segment)
      handle = fresh.handle
      created = true
    }
    for (const f of obsolete) await io('removing', f.path, async () => { await fs.rm(f.path) })
    if (fsync && (created || obsolete.length > 0)) await io('syncing', dir, async () => { await fsyncDir(dir, fs) })
    const firstIndex = snapshotIndex > 0 ? snapshotIndex + 1 : segments[0].firstIndex
    const lastIndex = segments[segments.length - 1].nextIndex - 1
    return {
      segments,
      handle,
      snapshotIndex,
      recovery: { records: Math.max(0, lastIndex - firstIndex + 1), tornBytesDropped, segments: segments.length, ...(damage === undefined ? {} : { damage }) }
    }
  } catch (err) {
    await handle?.close()
    throw err
  }
}
