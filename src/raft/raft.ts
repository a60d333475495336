/**
 * The Raft core: a deterministic state machine with no timers, no I/O and
 * no globals. The driver feeds it messages ({@link RaftCore.step}), clock
 * ticks ({@link RaftCore.tick}) and requests ({@link RaftCore.propose},
 * {@link RaftCore.readIndex}, …) and collects a {@link Ready} batch:
 *
 * 1. persist `hardState`, truncate from `truncateFrom`, append `entries`,
 *    save `snapshot` — in that order, durably;
 * 2. then send `messages` (they may depend on what was just persisted);
 * 3. restore `snapshot` into the state machine, apply `committed` in order,
 *    serve `readStates` once their index is applied;
 * 4. call {@link RaftCore.advance} with the batch.
 *
 * Features: elections with randomized timeouts, pre-vote, check-quorum
 * with leader leases, pipelined and batched replication with flow control,
 * fast log backtracking, snapshots sent in chunks, single-server membership
 * changes with learners promoted once caught up, leadership transfer and
 * ReadIndex reads.
 *
 * @module
 */
import { Membership } from './core-membership.js'
import { quorumOf } from './core-state.js'
import type { RaftMessage } from './messages.js'
import { ProgressState } from './progress.js'
import { Role } from './types.js'
import type { RaftStatus, Ready } from './core-types.js'

export type { RaftCoreOptions, RaftInitialState, RaftStatus, Ready, SoftState } from './core-types.js'

/**
 * The Raft state machine; see the module documentation. Its parts live in
 * the classes it extends, one concept per file (see `core-state.ts`).
 */
export class RaftCore extends Membership {
  /** Advances logical time by one tick: elections, heartbeats, check-quorum. */
  tick (): void {
    if (this.role === Role.Leader) this.tickLeader()
    else {
      this.electionElapsed++
      if (this.electionElapsed >= this.randomizedTimeout && this.promotable()) {
        this.electionElapsed = 0
        this.campaign(this.opts.preVote ? 'pre' : 'election')
      }
    }
  }

  /** Handles a message from a peer. Messages not addressed to this node are ignored. */
  step (m: RaftMessage): void {
    if (m.to !== this.id || m.from === this.id) return
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'pre-vote') {
        const inLease = this.opts.checkQuorum && this.leaderId !== undefined && this.electionElapsed < this.opts.electionTicks.min
        if (!m.transfer && inLease) return // a leader is alive: ignore the disruption
      }
      if (m.type === 'pre-vote') {
        // never change term for a pre-vote
      } else if (m.type === 'pre-vote-resp' && !m.reject) {
        // granted pre-votes carry the future term
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        this.becomeFollower(m.term, m.from)
      } else {
        this.becomeFollower(m.term, undefined)
      }
    } else if (m.term < this.term) {
      if ((this.opts.checkQuorum || this.opts.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        // tell a stale leader about the newer term so it steps down
        this.send({ type: 'append-resp', from: this.id, to: m.from, term: this.term, index: 0, reject: false, rejectHint: 0, logTerm: 0 })
      } else if (m.type === 'pre-vote') {
        this.send({ type: 'pre-vote-resp', from: this.id, to: m.from, term: this.term, reject: true })
      }
      return
    }

    if (m.type === 'vote' || m.type === 'pre-vote') return this.handleVote(m)
    switch (this.role) {
      case Role.Leader: return this.stepLeader(m)
      case Role.Follower: return this.stepFollower(m)
      default: return this.stepCandidate(m)
    }
  }

  /** Whether {@link ready} has anything to hand out. */
  hasReady (): boolean {
    this.flush()
    const l = this.log
    return this.msgs.length > 0 || this.readStates.length > 0 || l.pendingSnapshot !== undefined ||
      l.handedOut < l.lastIndex() || l.truncateFrom !== undefined ||
      Math.min(l.committed, l.lastIndex()) > l.applying || !this.sameHard(this.hardState())
  }

  /** Collects the next batch of work; see the module documentation. */
  ready (): Ready {
    this.flush()
    const l = this.log
    const hs = this.hardState()
    const rd: Ready = {
      entries: l.slice(l.handedOut + 1, l.lastIndex()),
      messages: this.msgs,
      committed: l.slice(l.applying + 1, l.committed),
      readStates: this.readStates,
      softState: { role: this.role, leaderId: this.leaderId },
      epoch: l.epoch
    }
    if (!this.sameHard(hs)) { rd.hardState = hs; this.prevHard = hs }
    if (l.truncateFrom !== undefined) rd.truncateFrom = l.truncateFrom
    if (l.pendingSnapshot !== undefined) rd.snapshot = l.pendingSnapshot
    l.truncateFrom = undefined
    l.pendingSnapshot = undefined
    l.handedOut = l.lastIndex()
    if (rd.committed.length > 0) l.applying = rd.committed[rd.committed.length - 1].index
    this.msgs = []
    this.readStates = []
    return rd
  }

  /** Tells the core that `rd` was persisted (and its messages sent). */
  advance (rd: Ready): void {
    const l = this.log
    if (rd.epoch !== l.epoch) return
    let last: number | undefined
    if (rd.snapshot !== undefined) last = rd.snapshot.index
    if (rd.entries.length > 0) last = rd.entries[rd.entries.length - 1].index
    if (last !== undefined) l.stable = Math.max(l.stable, Math.min(last, l.handedOut))
    if (this.role === Role.Leader) {
      const self = this.progress.get(this.id)
      if (self !== undefined && self.maybeUpdate(l.stable)) this.maybeCommit()
    }
  }

  /** The role, term, log positions and configuration. */
  status (): RaftStatus {
    const s: RaftStatus = {
      id: this.id, role: this.role, leaderId: this.leaderId, term: this.term, vote: this.vote,
      commit: this.log.committed, lastIndex: this.log.lastIndex(), snapshotIndex: this.log.snapshot.index, conf: this.log.conf()
    }
    if (this.role === Role.Leader) {
      s.progress = {}
      for (const [id, pr] of this.progress) s.progress[id] = { match: pr.match, next: pr.next, state: pr.state }
    }
    return s
  }

  protected tickLeader (): void {
    this.heartbeatElapsed++
    this.electionElapsed++
    if (this.leadTransferee !== undefined && ++this.transferElapsed >= this.opts.electionTicks.min) this.leadTransferee = undefined
    if (this.electionElapsed >= this.opts.electionTicks.min) {
      this.electionElapsed = 0
      if (this.opts.checkQuorum) {
        let active = 0
        for (const v of this.conf.voters) {
          const pr = this.progress.get(v)
          if (v === this.id || pr?.recentActive === true) active++
        }
        for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false
        if (active < quorumOf(this.conf.voters.length)) {
          this.becomeFollower(this.term, undefined)
          return
        }
      }
    }
    if (this.heartbeatElapsed >= this.opts.heartbeatTicks) {
      this.heartbeatElapsed = 0
      this.broadcastHeartbeat()
      this.maybePromote()
      for (const [id, pr] of this.progress) {
        if (id === this.id || pr.state !== ProgressState.Snapshot) continue
        if (++pr.snapshotIdle * this.opts.heartbeatTicks >= this.opts.electionTicks.min) this.sendSnapshotChunk(id, pr)
      }
    }
  }

  protected stepLeader (m: RaftMessage): void {
    const pr = this.progress.get(m.from)
    switch (m.type) {
      case 'read-index':
        return this.leaderRead(m.ctx, m.from)
      case 'append-resp':
        if (pr === undefined) return
        pr.recentActive = true
        return this.handleAppendResp(m, pr)
      case 'heartbeat-resp':
        if (pr === undefined) return
        pr.recentActive = true
        pr.paused = false
        pr.freeFirstIfFull() // appends in flight may all have been lost
        if (m.readSeq > pr.readSeq) { pr.readSeq = m.readSeq; this.releaseReads() }
        if (pr.match < this.log.lastIndex() || pr.sentCommit < this.log.committed) this.sendAppend(m.from)
        return
      case 'snapshot-resp':
        if (pr === undefined) return
        pr.recentActive = true
        if (pr.state !== ProgressState.Snapshot || m.index !== pr.snapshotIndex) return
        pr.snapshotOffset = m.offset // the follower's word: it may have lost a partial snapshot
        this.sendSnapshotChunk(m.from, pr)
    }
  }

  protected stepFollower (m: RaftMessage): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0
        this.leaderId = m.from
        return this.handleAppend(m)
      case 'heartbeat':
        this.electionElapsed = 0
        this.leaderId = m.from
        this.log.commitTo(Math.min(m.commit, this.log.lastIndex()))
        this.send({ type: 'heartbeat-resp', from: this.id, to: m.from, term: this.term, readSeq: m.readSeq })
        return
      case 'snapshot':
        this.electionElapsed = 0
        this.leaderId = m.from
        return this.handleSnapshot(m)
      case 'timeout-now':
        if (this.promotable()) this.campaign('transfer')
        return
      case 'read-index':
        this.send({ type: 'read-index-resp', from: this.id, to: m.from, term: this.term, ctx: m.ctx, index: 0, reject: true })
        return
      case 'read-index-resp':
        if (!m.reject) this.readStates.push({ ctx: m.ctx, index: m.index })
    }
  }
}
