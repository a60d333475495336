/**
 * Log replication in the Raft core: proposals (with the size limits),
 * appends sent per follower with flow control, a follower's append
 * handling, the leader's handling of the answers, and the commit rule
 * (a quorum holds the entry, and it is of the leader's term).
 *
 * @module
 */
import { EntryTooLargeError, ProposalDroppedError } from './errors.js'
import type { AppendMessage, AppendResponse } from './messages.js'
import { ProgressState, type Progress } from './progress.js'
import { ReadIndexing } from './core-reads.js'
import { quorumOf } from './core-state.js'
import { EntryType, Role, type Entry, type NodeId } from './types.js'

/** See the module documentation. */
export abstract class Replication extends ReadIndexing {
  /**
   * Appends a command to the leader's log; returns its index and term.
   *
   * @throws {NotLeaderError} when this node is not the leader (or is
   *   handing leadership over), with the leader it knows of.
   * @throws {EntryTooLargeError} when `data` is over `maxEntryBytes`.
   * @throws {ProposalDroppedError} when the uncommitted log is over
   *   `maxUncommittedBytes` (retry later).
   */
  propose (data: Uint8Array): { index: number, term: number } {
    this.checkLeader()
    const size = data.length
    if (size > this.opts.maxEntryBytes) throw new EntryTooLargeError(size, this.opts.maxEntryBytes)
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + size > this.opts.maxUncommittedBytes) {
      throw new ProposalDroppedError(`the leader holds ${this.uncommittedBytes} bytes of uncommitted entries (maxUncommittedBytes ${this.opts.maxUncommittedBytes}): the group is behind; retry shortly`)
    }
    this.uncommittedBytes += size
    return this.appendEntry(EntryType.Normal, data)
  }

  protected appendEntry (type: Entry['type'], data: Uint8Array): { index: number, term: number } {
    const index = this.log.lastIndex() + 1
    this.log.append([{ term: this.term, index, type, data }])
    if (type === EntryType.ConfChange) this.confChanged()
    this.needFlush = true
    return { index, term: this.term }
  }

  protected handleAppend (m: AppendMessage): void {
    const l = this.log
    if (m.index < l.committed) {
      this.send({ type: 'append-resp', from: this.id, to: m.from, term: this.term, index: l.committed, reject: false, rejectHint: 0, logTerm: 0 })
      return
    }
    if (l.matchTerm(m.index, m.logTerm)) {
      const { lastNew, confChanged } = l.maybeAppend(m.index, m.entries)
      if (confChanged) this.confChanged()
      l.commitTo(Math.min(m.commit, lastNew))
      this.send({ type: 'append-resp', from: this.id, to: m.from, term: this.term, index: lastNew, reject: false, rejectHint: 0, logTerm: 0 })
      return
    }
    const hint = l.findConflictByTerm(Math.min(m.index, l.lastIndex()), m.logTerm)
    this.send({ type: 'append-resp', from: this.id, to: m.from, term: this.term, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term })
  }

  protected handleAppendResp (m: AppendResponse, pr: Progress): void {
    if (m.reject) {
      let hint = m.rejectHint
      if (m.logTerm > 0) hint = this.log.findConflictByTerm(m.rejectHint, m.logTerm).index
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === ProgressState.Replicate) pr.becomeProbe()
        this.sendAppend(m.from)
      }
      return
    }
    const old = pr.paused
    if (pr.maybeUpdate(m.index)) {
      if (pr.state === ProgressState.Probe) pr.becomeReplicate()
      else if (pr.state === ProgressState.Snapshot && (pr.match >= pr.snapshotIndex || pr.match >= this.log.snapshot.index)) pr.becomeReplicate()
      this.maybeCommit()
      if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
        this.send({ type: 'timeout-now', from: this.id, to: m.from, term: this.term })
      }
      this.needFlush = true
    } else if (old && pr.state === ProgressState.Probe) {
      this.needFlush = true
    }
  }

  protected maybeCommit (): void {
    if (this.role !== Role.Leader) return
    const matches: number[] = []
    for (const v of this.conf.voters) matches.push(this.progress.get(v)?.match ?? 0)
    if (matches.length === 0) return
    matches.sort((a, b) => b - a)
    const q = matches[quorumOf(matches.length) - 1]
    if (q <= this.log.committed || this.log.termAt(q) !== this.term) return
    const firstInTerm = this.log.termAt(this.log.committed) !== this.term
    if (this.uncommittedBytes > 0) {
      for (const e of this.log.slice(this.log.committed + 1, q)) if (e.term === this.term && e.type === EntryType.Normal) this.uncommittedBytes -= e.data.length
      if (this.uncommittedBytes < 0) this.uncommittedBytes = 0
    }
    this.log.commitTo(q)
    this.needFlush = true
    if (firstInTerm && this.waitingReads.length > 0) {
      const waiting = this.waitingReads
      this.waitingReads = []
      for (const r of waiting) this.leaderRead(r.ctx, r.from)
    }
    // a leader removed by a committed configuration steps down
    if (!this.log.confAt(this.log.committed).voters.includes(this.id) && !this.conf.voters.includes(this.id)) {
      this.becomeFollower(this.term, undefined)
    }
  }

  protected broadcastHeartbeat (): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue
      this.send({ type: 'heartbeat', from: this.id, to: id, term: this.term, commit: Math.min(pr.match, this.log.committed), readSeq: this.readSeq })
    }
  }

  /** Sends what each follower needs; called before a Ready is collected. */
  protected flush (): void {
    if (this.role !== Role.Leader) return
    if (this.readHeartbeat) {
      this.readHeartbeat = false
      this.broadcastHeartbeat()
    }
    if (!this.needFlush) return
    this.needFlush = false
    for (const id of this.progress.keys()) {
      if (id !== this.id) this.sendAppend(id, true)
    }
  }

  /** Sends entries (or an empty append carrying the commit index, or a snapshot) to `to`. */
  protected sendAppend (to: NodeId, onlyIfUseful = false): void {
    const pr = this.progress.get(to)
    if (pr === undefined || pr.isPaused) return
    const l = this.log
    const last = l.lastIndex()
    if (onlyIfUseful && pr.next > last && pr.sentCommit >= l.committed) return
    const prev = pr.next - 1
    const prevTerm = l.termAt(prev)
    if (prevTerm === undefined || pr.next < l.firstIndex()) {
      pr.becomeSnapshot(l.snapshot.index)
      this.sendSnapshotChunk(to, pr)
      return
    }
    const entries = l.slice(pr.next, last, this.opts.maxMessageBytes)
    let bytes = 0
    for (const e of entries) bytes += e.data.length
    const commit = l.committed
    this.send({ type: 'append', from: this.id, to, term: this.term, index: prev, logTerm: prevTerm, entries, commit })
    pr.sentCommit = commit
    pr.sent(entries.length > 0 ? entries[entries.length - 1].index : prev, bytes, entries.length)
  }
}
