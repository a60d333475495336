/**
 * `compact`'s disk work: stores the snapshot, then drops the segments it
 * makes obsolete.
 *
 * Crash order: the snapshot is durable (renamed into place, directory
 * fsynced) before any segment goes, and segments go oldest first. When the
 * log skips past its end, the new empty segment exists before the old ones
 * go. Recovery removes whatever a crash left of either (see `recover`).
 *
 * @module
 */
import { fsyncDir, io } from './fs-util.js'
import { lastIndexOf, type LogState } from './log-state.js'
import { createSegment, type Segment } from './segment.js'
import { writeSnapshotFile } from './snapshot-file.js'

/**
 * Makes `snapshot` cover every record up to `index` (at least the current
 * snapshot's index; past the last index, the log continues from
 * `index + 1`) and deletes the segments holding only covered records,
 * except the last one.
 */
export const compactTo = async (state: LogState, index: number, snapshot: Uint8Array): Promise<void> => {
  const { dir, options } = state
  await writeSnapshotFile(dir, index, snapshot, options.fsync, options.fs)
  let doomed: Segment[]
  if (index > lastIndexOf(state)) {
    const fresh = await createSegment(dir, index + 1, options.fsync, options.fs)
    await state.handle.close().catch(() => {})
    doomed = state.segments
    state.segments = [fresh.segment]
    state.handle = fresh.handle
  } else {
    let keep = 0
    while (keep + 1 < state.segments.length && state.segments[keep + 1].firstIndex <= index + 1) keep++
    doomed = state.segments.splice(0, keep)
  }
  state.snapshotIndex = index
  state.mutations++
  for (const s of doomed) await io('removing', s.path, async () => { await options.fs.rm(s.path) })
  if (options.fsync) await io('syncing', dir, async () => { await fsyncDir(dir, options.fs) })
}
