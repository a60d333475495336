/**
 * The core's in-memory copy of the log: the entries after the last
 * snapshot, the commit index, and the bookkeeping that tells the driver
 * what to write (entries not yet handed out, a suffix to truncate) and what
 * to apply.
 *
 * @module
 */
import { decodeConfChange } from './codec.js'
import { EntryType, cloneConf, type ConfState, type Entry, type Snapshot } from './types.js'

const assert = (ok: boolean, msg: string): void => {
  if (!ok) throw new Error(`raft invariant violated: ${msg}`)
}

/** The log as the core sees it; see the module documentation. */
export class RaftLog {
  /** The latest snapshot (the log starts after it). */
  snapshot: Snapshot
  /** Entries `snapshot.index + 1 … lastIndex()`. */
  entries: Entry[]
  /** Highest index known to be committed. */
  committed: number
  /** Highest index handed to the driver for applying. */
  applying: number
  /** Highest index handed to the driver for persisting. */
  handedOut: number
  /** Highest index the driver confirmed durable (of the current log). */
  stable: number
  /** Lowest index the driver must truncate from before its next append, if any. */
  truncateFrom: number | undefined
  /** A received snapshot the driver must persist and restore. */
  pendingSnapshot: Snapshot | undefined
  /** Bumped whenever a snapshot replaces the log (stale acknowledgements are ignored). */
  epoch = 0
  /** Indices of conf-change entries in `entries`, ascending. */
  private confIndices: number[] = []
  private confCache = new Map<number, ConfState>()

  constructor (snapshot: Snapshot, entries: Entry[], commit: number) {
    this.snapshot = snapshot
    this.entries = []
    for (const e of entries) {
      if (e.index <= snapshot.index) continue
      assert(e.index === snapshot.index + 1 + this.entries.length, `stored entries are not contiguous at ${e.index}`)
      this.entries.push(e)
      if (e.type === EntryType.ConfChange) this.confIndices.push(e.index)
    }
    this.committed = Math.max(snapshot.index, Math.min(commit, this.lastIndex()))
    this.applying = snapshot.index
    this.handedOut = this.lastIndex()
    this.stable = this.lastIndex()
  }

  /** Index of the first entry held in memory. */
  firstIndex (): number { return this.snapshot.index + 1 }

  /** Index of the last entry (the snapshot's index when empty). */
  lastIndex (): number { return this.snapshot.index + this.entries.length }

  /** Term of the last entry. */
  lastTerm (): number { return this.termAt(this.lastIndex()) as number }

  /** Term of the entry at `index`, or `undefined` if compacted or beyond the end. */
  termAt (index: number): number | undefined {
    if (index === this.snapshot.index) return this.snapshot.term
    if (index < this.snapshot.index || index > this.lastIndex()) return undefined
    return this.entries[index - this.snapshot.index - 1].term
  }

  /** Whether the entry at `index` has `term`. */
  matchTerm (index: number, term: number): boolean {
    return this.termAt(index) === term
  }

  /** Entries `[from, to]` (clamped), at most `maxBytes` of data (at least one entry). */
  slice (from: number, to: number, maxBytes = Infinity): Entry[] {
    const out: Entry[] = []
    let bytes = 0
    for (let i = Math.max(from, this.firstIndex()); i <= Math.min(to, this.lastIndex()); i++) {
      const e = this.entries[i - this.snapshot.index - 1]
      bytes += e.data.length + 12
      if (out.length > 0 && bytes > maxBytes) break
      out.push(e)
    }
    return out
  }

  /** Whether a log ending at (`index`, `term`) is at least as up to date as this one. */
  isUpToDate (index: number, term: number): boolean {
    const lastTerm = this.lastTerm()
    return term > lastTerm || (term === lastTerm && index >= this.lastIndex())
  }

  /**
   * The largest index `<= index` whose term is `<= term` (or the first
   * compacted index): where a follower's log may match (etcd's
   * `findConflictByTerm`).
   */
  findConflictByTerm (index: number, term: number): { index: number, term: number } {
    let i = Math.min(index, this.lastIndex())
    for (; i > this.snapshot.index; i--) {
      const t = this.termAt(i) as number
      if (t <= term) return { index: i, term: t }
    }
    return { index: i, term: this.termAt(i) ?? 0 }
  }

  /** Appends entries that follow `lastIndex()` directly (leader). */
  append (entries: Entry[]): void {
    for (const e of entries) {
      assert(e.index === this.lastIndex() + 1, `append at ${e.index} after ${this.lastIndex()}`)
      this.entries.push(e)
      if (e.type === EntryType.ConfChange) this.confIndices.push(e.index)
    }
  }

  /**
   * Follower append: entries after the matching (`index`, `logTerm`).
   * Skips entries already present, truncates at the first conflict, and
   * returns the index of the last new entry and whether the configuration
   * may have changed.
   */
  maybeAppend (index: number, entries: Entry[]): { lastNew: number, confChanged: boolean } {
    const lastNew = index + entries.length
    let confChanged = false
    let k = 0
    for (; k < entries.length; k++) {
      const e = entries[k]
      if (e.index <= this.snapshot.index) continue
      if (!this.matchTerm(e.index, e.term)) break
    }
    if (k < entries.length) {
      const from = entries[k].index
      if (from <= this.lastIndex()) {
        assert(from > this.committed, `conflict at ${from} is at or below commit ${this.committed}`)
        confChanged = this.truncateFrom_(from) || confChanged
      }
      for (; k < entries.length; k++) {
        this.append([entries[k]])
        if (entries[k].type === EntryType.ConfChange) confChanged = true
      }
    }
    return { lastNew, confChanged }
  }

  private truncateFrom_ (from: number): boolean {
    this.entries.length = from - this.snapshot.index - 1
    if (from <= this.handedOut) {
      this.truncateFrom = Math.min(this.truncateFrom ?? Infinity, from)
      this.handedOut = from - 1
    }
    this.stable = Math.min(this.stable, from - 1)
    let changed = false
    while (this.confIndices.length > 0 && this.confIndices[this.confIndices.length - 1] >= from) {
      this.confIndices.pop()
      changed = true
    }
    return changed
  }

  /** Raises the commit index (never lowers it). */
  commitTo (index: number): boolean {
    if (index <= this.committed) return false
    assert(index <= this.lastIndex(), `commit ${index} beyond last index ${this.lastIndex()}`)
    this.committed = index
    return true
  }

  /** The configuration in force: the last conf-change entry in the log, else the snapshot's. */
  conf (): ConfState {
    return this.confAt(this.lastIndex())
  }

  /** Index of the last conf-change entry (0 if none after the snapshot). */
  lastConfIndex (): number {
    return this.confIndices.length > 0 ? this.confIndices[this.confIndices.length - 1] : 0
  }

  /** The configuration in force at `index` (which must not be compacted away). */
  confAt (index: number): ConfState {
    for (let i = this.confIndices.length - 1; i >= 0; i--) {
      const ci = this.confIndices[i]
      if (ci > index) continue
      let c = this.confCache.get(ci)
      if (c === undefined) {
        c = decodeConfChange(this.entries[ci - this.snapshot.index - 1].data).conf
        this.confCache.set(ci, c)
      }
      return cloneConf(c)
    }
    return cloneConf(this.snapshot.conf)
  }

  /** Replaces the whole log with a received snapshot. */
  restore (snapshot: Snapshot): void {
    this.snapshot = snapshot
    this.entries = []
    this.confIndices = []
    this.confCache.clear()
    this.committed = snapshot.index
    this.applying = snapshot.index
    this.handedOut = snapshot.index
    this.stable = 0
    this.truncateFrom = undefined
    this.pendingSnapshot = snapshot
    this.epoch++
  }

  /** Drops entries up to `snapshot.index` (already applied) and keeps `snapshot` as the base. */
  compact (snapshot: Snapshot): void {
    assert(snapshot.index <= this.applying && snapshot.index <= this.committed, `compaction to ${snapshot.index} beyond applied ${this.applying}`)
    if (snapshot.index <= this.snapshot.index) return
    const drop = snapshot.index - this.snapshot.index
    this.entries = this.entries.slice(drop)
    this.snapshot = snapshot
    while (this.confIndices.length > 0 && this.confIndices[0] <= snapshot.index) this.confCache.delete(this.confIndices.shift()!)
  }
}
