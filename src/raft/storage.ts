/**
 * The storage contract of a Raft node, and an in-memory implementation.
 *
 * A node writes through five calls, in the order its core hands work out,
 * and awaits each before sending anything that depends on it. The contract
 * maps onto a write-ahead log (`aegis-replication/fs`: `append` records,
 * `truncateAfter`, `compact` into a snapshot) and onto IndexedDB (an object
 * store keyed by index, a key for the hard state, one for the snapshot).
 *
 * @module
 */
import { MemorySnapshotStore, type SnapshotInfo, type SnapshotSink, type SnapshotStore } from './snapshot-store.js'
import type { Entry, HardState, Snapshot, SnapshotMeta } from './types.js'

/** Everything a node restarts from. */
export interface RaftPersistedState {
  /** `{ term: 0, vote: null, commit: 0 }` for a node that never ran. */
  hardState: HardState
  /** The latest snapshot, if any. */
  snapshot: Snapshot | undefined
  /** The entries after the snapshot, contiguous and in order. */
  entries: Entry[]
}

/**
 * Durable storage of a Raft node. Every promise resolves only once the
 * write is durable (fsync, a committed IndexedDB transaction); a write that
 * fails must reject (the node then stops). Calls never overlap: the node
 * awaits each one.
 */
export interface RaftStorage {
  /** Reads everything back (called once, by `start`). */
  load (): Promise<RaftPersistedState>
  /** Replaces the hard state. */
  saveHardState (hardState: HardState): Promise<void>
  /** Appends entries; the first follows the last stored entry (or the snapshot) directly. */
  append (entries: Entry[]): Promise<void>
  /** Deletes every entry with index `>= from` (a suffix a new leader overwrote). */
  truncateSuffix (from: number): Promise<void>
  /**
   * Saves a snapshot and drops the entries it covers: entries up to
   * `snapshot.index` go; later entries stay only if the stored entry at
   * `snapshot.index` has `snapshot.term` (otherwise the whole log goes).
   */
  saveSnapshot (snapshot: Snapshot): Promise<void>
}

/**
 * A {@link RaftStorage} in memory. The object outlives a `RaftNode`, so a
 * test can "crash" a node and restart another on the same storage; nothing
 * survives the process.
 */
export class MemoryRaftStorage implements RaftStorage, SnapshotStore {
  /** The stored hard state. */
  hardState: HardState = { term: 0, vote: null, commit: 0 }
  /** The stored snapshot. */
  snapshot: Snapshot | undefined
  /** The stored entries after the snapshot. */
  entries: Entry[] = []

  async load (): Promise<RaftPersistedState> {
    return { hardState: { ...this.hardState }, snapshot: this.snapshot, entries: [...this.entries] }
  }

  async saveHardState (hardState: HardState): Promise<void> {
    this.hardState = { ...hardState }
  }

  async append (entries: Entry[]): Promise<void> {
    if (entries.length === 0) return
    const expected = this.lastIndex() + 1
    if (entries[0].index !== expected) throw new RangeError(`append at ${entries[0].index}, but the next index is ${expected}`)
    for (const e of entries) this.entries.push(e)
  }

  async truncateSuffix (from: number): Promise<void> {
    const first = (this.snapshot?.index ?? 0) + 1
    this.entries.length = Math.max(0, Math.min(this.entries.length, from - first))
  }

  async saveSnapshot (snapshot: Snapshot): Promise<void> {
    const first = (this.snapshot?.index ?? 0) + 1
    const at = this.entries[snapshot.index - first]
    this.entries = at !== undefined && at.term === snapshot.term ? this.entries.slice(snapshot.index - first + 1) : []
    this.snapshot = snapshot
  }

  // ------------------------------------------------ SnapshotStore (see snapshot-store.ts)
  private readonly snaps = new MemorySnapshotStore(() => this.snapshot, async (s) => await this.saveSnapshot(s))
  snapshotInfo (): SnapshotInfo | undefined { return this.snaps.snapshotInfo() }
  async readSnapshotChunk (index: number, offset: number, length: number): Promise<Uint8Array | undefined> { return await this.snaps.readSnapshotChunk(index, offset, length) }
  async readSnapshotData (): Promise<Uint8Array | undefined> { return await this.snaps.readSnapshotData() }
  async receiveSnapshot (info: SnapshotInfo): Promise<SnapshotSink> { return await this.snaps.receiveSnapshot(info) }
  async installReceivedSnapshot (sink: SnapshotSink, meta: SnapshotMeta): Promise<void> { await this.snaps.installReceivedSnapshot(sink, meta) }

  /** Index of the last stored entry (or of the snapshot). */
  lastIndex (): number {
    return (this.snapshot?.index ?? 0) + this.entries.length
  }
}
