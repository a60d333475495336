/**
 * The mutable state of an open log, shared by the steps that change it
 * (`write-batch`, `remove-after`, `compact-to`).
 *
 * @module
 */
import type { FsFileHandle as FileHandle } from './file-system.js'
import type { ResolvedWalOptions } from './options.js'
import type { Segment } from './segment.js'

/** See the module documentation. */
export interface LogState {
  readonly dir: string
  readonly options: ResolvedWalOptions
  /** In index order; never empty. The last one takes appends. */
  segments: Segment[]
  /** Open for writing on the last segment. */
  handle: FileHandle
  /** The last index the snapshot covers; 0 without one. */
  snapshotIndex: number
  /** Incremented whenever records are removed, so readers notice. */
  mutations: number
}

/** The index of the last record. */
export const lastIndexOf = (state: LogState): number => state.segments[state.segments.length - 1].nextIndex - 1

/** The index of the first readable record. */
export const firstIndexOf = (state: LogState): number =>
  state.snapshotIndex > 0 ? state.snapshotIndex + 1 : state.segments[0].firstIndex
