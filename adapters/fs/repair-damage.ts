/**
 * Cutting a damaged log back to its longest undamaged prefix, for logs
 * opened with `onDamage: 'truncate'` (a room's log, whose clients hold the
 * lost updates and send them again; never Raft's, which must not forget an
 * entry it acknowledged).
 *
 * Runs only after a normal recovery refused the log. Nothing is deleted:
 * whole segment files after the cut are renamed to `<name>.damaged`, and
 * the bytes cut off a segment are copied to `<name>.<offset>.damaged`, for
 * a post-mortem. What it cut is returned as {@link WalDamage}; the normal
 * recovery then runs again on what is left.
 *
 * @module
 */
import type { FileSystem } from './file-system.js'
import { join } from 'node:path'
import { BlockReader } from './block-reader.js'
import { addDamage, keepDamagedBytes, type WalDamage } from './damage.js'
import { fsyncDir, io, readFully } from './fs-util.js'
import { checkSegmentHeader, parseSegmentFileName, SEGMENT_HEADER_BYTES } from './segment-format.js'
import { scanSegment } from './segment-scan.js'
import { readSnapshotFile } from './snapshot-file.js'
import { whyNotTornTail } from './tail-check.js'

interface Cut {
  /** Index into the segment files of the first one to set aside whole. */
  from: number
  /** Cut this segment at this offset first (its bytes from there set aside). */
  within?: { file: number, offset: number }
  damage: WalDamage
}

/** Finds where the damage starts, reading only. */
const findCut = async (files: string[], firsts: number[], snapshotIndex: number, maxRecordBytes: number, fs: FileSystem): Promise<Cut | undefined> => {
  let next = snapshotIndex + 1
  let start = 0
  while (start + 1 < files.length && firsts[start + 1] <= next) start++ // covered by the snapshot
  if (files.length > 0 && firsts[start] > next) {
    return { from: start, damage: addDamage(undefined, { missingSegments: 1, detail: [`${files[start]} starts at index ${firsts[start]} but records from ${next} are missing`] }) }
  }
  for (let i = start; i < files.length; i++) {
    if (i > start && firsts[i] !== next) {
      const from = Math.max(next, snapshotIndex + 1)
      return { from: i, damage: addDamage(undefined, { missingSegments: 1, detail: [`records ${from} to ${firsts[i] - 1} are missing: ${files[i - 1]} ends before ${files[i]} begins`] }) }
    }
    const handle = await fs.open(files[i], 'r')
    try {
      const { size } = await handle.stat()
      const header = new Uint8Array(SEGMENT_HEADER_BYTES)
      const last = i === files.length - 1
      const why = size < SEGMENT_HEADER_BYTES && last ? undefined : checkSegmentHeader(header.subarray(0, await readFully(handle, header, 0)))
      if (why !== undefined) return { from: i, damage: addDamage(undefined, { corruptRecords: 1, detail: [`${files[i]}: ${why}`] }) }
      if (size < SEGMENT_HEADER_BYTES) return undefined
      const scan = await scanSegment(new BlockReader(handle, size), maxRecordBytes)
      next = firsts[i] + scan.offsets.length
      if (scan.bad === undefined) continue
      const { offset, reason } = scan.bad
      if (last && await whyNotTornTail(handle, size, offset, maxRecordBytes) === undefined) return undefined // torn: recovery's job
      return {
        from: i + 1,
        within: { file: i, offset },
        damage: addDamage(undefined, { corruptRecords: 1, detail: [`${files[i]}: bad record at offset ${offset} (${reason}); cut there`] })
      }
    } finally {
      await handle.close()
    }
  }
  return undefined
}

/**
 * Sets aside everything from the first damage on (see the module
 * documentation); `undefined` if it found nothing to cut (the refusal had
 * another cause, which recovery will report again).
 */
export const repairDamage = async (dir: string, maxRecordBytes: number, fsync: boolean, fs: FileSystem): Promise<WalDamage | undefined> => {
  const snapshotIndex = (await readSnapshotFile(dir, false, fs))?.header.index ?? 0
  const names = (await io('listing', dir, async () => await fs.readdir(dir)))
    .map((name) => ({ name, first: parseSegmentFileName(name) }))
    .filter((f): f is { name: string, first: number } => f.first !== undefined)
    .sort((a, b) => a.first - b.first)
  const files = names.map((f) => join(dir, f.name))
  const cut = await io('checking', dir, async () => await findCut(files, names.map((f) => f.first), snapshotIndex, maxRecordBytes, fs))
  if (cut === undefined) return undefined
  let dropped = 0
  if (cut.within !== undefined) {
    const { file, offset } = cut.within
    const path = files[file]
    await io('cutting', path, async () => {
      const handle = await fs.open(path, 'r+')
      try {
        dropped += await keepDamagedBytes(handle, path, offset, fsync, fs)
        await handle.truncate(offset)
        if (fsync) await handle.sync()
      } finally {
        await handle.close()
      }
    })
  }
  for (const path of files.slice(cut.from)) {
    await io('setting aside', path, async () => {
      dropped += (await fs.stat(path)).size
      await fs.rename(path, `${path}.damaged`)
    })
  }
  if (fsync) await io('syncing', dir, async () => { await fsyncDir(dir, fs) })
  return { ...cut.damage, bytesDropped: dropped }
}
