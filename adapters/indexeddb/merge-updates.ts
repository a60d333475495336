/**
 * Merges stored Doc updates into one by applying them to a scratch `Doc`:
 * the merged update holds exactly what the records hold, whoever wrote them
 * (this replica, another tab), not what some live doc happens to hold.
 *
 * @module
 */
import { Doc } from 'aegis-replication'

/** The result of {@link mergeUpdates}. */
export interface MergedUpdates {
  /** One update equivalent to all decodable records; `null` when there were none. */
  update: Uint8Array | null
  /** Records that failed to decode (index into the input, and the error). */
  bad: Array<{ index: number, error: unknown }>
}

/**
 * Merges `records` (any order; duplicates are fine). A single record is
 * returned as is, without decoding it: whoever applies it sees a bad one.
 */
export const mergeUpdates = (records: readonly Uint8Array[]): MergedUpdates => {
  const bad: MergedUpdates['bad'] = []
  if (records.length <= 1) return { update: records[0] ?? null, bad }
  const scratch = new Doc()
  let good = 0
  for (let i = 0; i < records.length; i++) {
    try {
      scratch.applyUpdate(records[i])
      good++
    } catch (error) {
      bad.push({ index: i, error })
    }
  }
  const update = good === 0 ? null : scratch.encodeStateAsUpdate()
  scratch.destroy()
  return { update, bad }
}
