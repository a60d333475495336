/**
 * `truncateAfter`'s disk work: removes the records after an index.
 *
 * Crash order: whole segments go first, newest first, so what is left is
 * always a contiguous log; the directory is fsynced before the segment that
 * keeps the new last record is cut, so no crash can leave a gap.
 *
 * @module
 */
import { fsyncDir, io } from './fs-util.js'
import type { LogState } from './log-state.js'

/**
 * Removes every record after `index` (which is at least the snapshot's
 * index and below the last index). Readers stop seeing them first.
 */
export const removeAfter = async (state: LogState, index: number): Promise<void> => {
  const { segments, dir, options } = state
  let keep = segments.length - 1
  while (segments[keep].firstIndex > index + 1) keep--
  const kept = segments[keep]
  const doomed = segments.splice(keep + 1)
  const size = kept.range(index + 1)[0]
  kept.offsets.length = index + 1 - kept.firstIndex
  kept.size = size
  state.mutations++
  if (doomed.length > 0) {
    await state.handle.close()
    for (const s of doomed.reverse()) await io('removing', s.path, async () => { await options.fs.rm(s.path) })
    if (options.fsync) await io('syncing', dir, async () => { await fsyncDir(dir, options.fs) })
    state.handle = await io('opening', kept.path, async () => await options.fs.open(kept.path, 'r+'))
  }
  await io('truncating', kept.path, async () => {
    await state.handle.truncate(size)
    if (options.fsync) await state.handle.sync()
  })
}
