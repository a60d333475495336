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
import type { Random } from '../components.js'
import { NotLeaderError } from '../errors.js'
import { encodeConfChange } from './codec.js'
import { ConfChangeError, EntryTooLargeError, ProposalDroppedError } from './errors.js'
import type { AppendMessage, AppendResponse, RaftMessage, SnapshotMessage, VoteMessage } from './messages.js'
import { Progress, ProgressState } from './progress.js'
import { RaftLog } from './raft-log.js'
import {
  ConfChangeOp, EntryType, Role, emptyConf,
  type ConfChange, type ConfState, type Entry, type HardState, type NodeId, type ReadState, type Snapshot
} from './types.js'
import type { RaftCoreOptions, RaftInitialState, RaftStatus, Ready, SoftState } from './core-types.js'

export type { RaftCoreOptions, RaftInitialState, RaftStatus, Ready, SoftState } from './core-types.js'


interface PendingRead { ctx: number, from: NodeId, index: number, seq: number }

const quorumOf = (voters: number): number => Math.floor(voters / 2) + 1

/** The Raft state machine; see the module documentation. */
export class RaftCore {
  /** This node's id. */
  readonly id: NodeId
  /** Current term. */
  term: number
  /** Vote in the current term. */
  vote: NodeId | null
  /** The role. */
  role: Role = Role.Follower
  /** The known leader of the current term. */
  leaderId: NodeId | undefined
  /** The log. */
  readonly log: RaftLog
  private readonly opts: Required<Omit<RaftCoreOptions, 'id' | 'random' | 'electionTicks'>> & { electionTicks: { min: number, max: number } }
  private readonly random: Random
  private conf: ConfState
  private electionElapsed = 0
  private heartbeatElapsed = 0
  private randomizedTimeout = 0
  private readonly votes = new Map<NodeId, boolean>()
  private readonly progress = new Map<NodeId, Progress>()
  private msgs: RaftMessage[] = []
  private readStates: ReadState[] = []
  private prevHard: HardState
  private pendingConfIndex = 0
  private leadTransferee: NodeId | undefined
  private transferElapsed = 0
  private readSeq = 0
  private pendingReads: PendingRead[] = []
  /** Reads waiting for the new leader's first commit in its term. */
  private waitingReads: Array<{ ctx: number, from: NodeId }> = []
  private readHeartbeat = false
  private needFlush = false
  /** Leader: bytes of its own term's normal entries appended but not committed. */
  private uncommittedBytes = 0
  /** Follower: the snapshot being received. */
  private incoming: { index: number, term: number, total: number, chunks: Uint8Array[], received: number } | undefined

  constructor (options: RaftCoreOptions, initial: RaftInitialState) {
    this.id = options.id
    this.random = options.random
    const et = options.electionTicks
    if (!(et.min >= 1 && et.max >= et.min)) throw new RangeError(`electionTicks must satisfy 1 <= min <= max, got ${JSON.stringify(et)}`)
    if (!(options.heartbeatTicks >= 1 && options.heartbeatTicks < et.min)) throw new RangeError(`heartbeatTicks must be >= 1 and below electionTicks.min, got ${options.heartbeatTicks}`)
    this.opts = {
      electionTicks: { min: et.min, max: et.max },
      heartbeatTicks: options.heartbeatTicks,
      preVote: options.preVote ?? true,
      checkQuorum: options.checkQuorum ?? true,
      maxInflightMessages: options.maxInflightMessages ?? 64,
      maxInflightBytes: options.maxInflightBytes ?? 4 << 20,
      maxMessageBytes: options.maxMessageBytes ?? 256 << 10,
      snapshotChunkBytes: options.snapshotChunkBytes ?? 256 << 10,
      autoPromote: options.autoPromote ?? true,
      maxEntryBytes: options.maxEntryBytes ?? 1 << 20,
      maxUncommittedBytes: options.maxUncommittedBytes ?? 64 << 20
    }
    const snapshot = initial.snapshot ?? { index: 0, term: 0, conf: emptyConf(), data: new Uint8Array(0) }
    this.log = new RaftLog(snapshot, initial.entries, initial.hardState.commit)
    this.term = initial.hardState.term
    this.vote = initial.hardState.vote
    this.prevHard = { term: this.term, vote: this.vote, commit: this.log.committed }
    this.conf = this.log.conf()
    this.resetTimeout()
  }

  // ---------------------------------------------------------------- driver API

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

  /**
   * Proposes a single-server membership change.
   *
   * @throws {NotLeaderError} when not the leader.
   * @throws {ConfChangeError} when a change is still pending, the leader
   *   has not committed an entry of its term yet, or the change does not
   *   fit the configuration.
   */
  proposeConfChange (op: ConfChange['op'], node: NodeId): { index: number, term: number } {
    this.checkLeader()
    if (this.pendingConfIndex > this.log.committed || this.log.termAt(this.log.committed) !== this.term) {
      throw new ConfChangeError('another membership change is still being committed: wait for it, then retry')
    }
    const conf = this.log.conf()
    const isVoter = conf.voters.includes(node)
    const isLearner = conf.learners.includes(node)
    const next: ConfState = { voters: [...conf.voters], learners: [...conf.learners] }
    switch (op) {
      case ConfChangeOp.AddLearner:
        if (isVoter || isLearner) throw new ConfChangeError(`${node} is already a member`)
        next.learners.push(node)
        break
      case ConfChangeOp.Promote:
        if (!isLearner) throw new ConfChangeError(`${node} is not a learner: add it first`)
        next.learners = next.learners.filter((n) => n !== node)
        next.voters.push(node)
        break
      case ConfChangeOp.Remove:
        if (!isVoter && !isLearner) throw new ConfChangeError(`${node} is not a member`)
        if (isVoter && conf.voters.length === 1) throw new ConfChangeError(`${node} is the last voter and cannot be removed`)
        next.voters = next.voters.filter((n) => n !== node)
        next.learners = next.learners.filter((n) => n !== node)
        break
    }
    next.voters.sort()
    next.learners.sort()
    const r = this.appendEntry(EntryType.ConfChange, encodeConfChange({ op, node, conf: next }))
    this.pendingConfIndex = r.index
    return r
  }

  /**
   * Starts a linearizable read with id `ctx`; a {@link ReadState} with the
   * same `ctx` appears in a later {@link Ready} once a quorum confirmed
   * this leader. Followers forward the request to the leader.
   *
   * @throws {NotLeaderError} when no leader is known.
   */
  readIndex (ctx: number): void {
    if (this.role === Role.Leader) return this.leaderRead(ctx, this.id)
    if (this.leaderId === undefined || this.role !== Role.Follower) throw new NotLeaderError(undefined, 'no leader is known yet: retry after an election')
    this.send({ type: 'read-index', from: this.id, to: this.leaderId, term: this.term, ctx })
  }

  /**
   * Hands leadership to `to`: the leader brings it up to date, then tells
   * it to campaign at once. Proposals are refused meanwhile; the transfer
   * is abandoned after an election timeout.
   *
   * @throws {NotLeaderError} when not the leader.
   * @throws {ConfChangeError} when `to` is not a voter.
   */
  transferLeadership (to: NodeId): void {
    if (this.role !== Role.Leader) throw new NotLeaderError(this.leaderId)
    if (to === this.id) return
    if (!this.conf.voters.includes(to)) throw new ConfChangeError(`cannot transfer leadership to ${to}: it is not a voter`)
    this.leadTransferee = to
    this.transferElapsed = 0
    const pr = this.progress.get(to)!
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeout-now', from: this.id, to, term: this.term })
    else this.sendAppend(to)
  }

  /** Starts an election now (if this node is a voter). */
  campaignNow (): void {
    if (this.role !== Role.Leader && this.promotable()) this.campaign(this.opts.preVote ? 'pre' : 'election')
  }

  /**
   * Records that the state machine covers the log up to `index` with
   * `data`, and drops those entries from memory. Returns the snapshot to
   * save (with the configuration in force at `index`), or `undefined` when
   * the log already starts at or after `index`: a snapshot received from
   * the leader replaced it while the state machine was being serialized
   * (the driver must then not save the older snapshot over it).
   */
  compact (index: number, data: Uint8Array): Snapshot | undefined {
    const snapshot = this.snapshotAt(index, data)
    if (snapshot !== undefined) this.log.compact(snapshot)
    return snapshot
  }

  /**
   * Like {@link compact}, without dropping anything: the snapshot of the
   * log up to `index` with state `data`, or `undefined` when the log
   * already starts at or after `index`.
   */
  snapshotAt (index: number, data: Uint8Array): Snapshot | undefined {
    if (index <= this.log.snapshot.index) return undefined
    const term = this.log.termAt(index)
    if (term === undefined) throw new RangeError(`cannot snapshot at ${index}: not in the log`)
    return { index, term, conf: this.log.confAt(index), data }
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

  /** The current hard state. */
  hardState (): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed }
  }

  // ---------------------------------------------------------------- roles

  private promotable (): boolean {
    return this.conf.voters.includes(this.id)
  }

  private resetTimeout (): void {
    const { min, max } = this.opts.electionTicks
    this.randomizedTimeout = min + Math.floor(this.random.next() * (max - min + 1))
  }

  private reset (term: number): void {
    if (term !== this.term) {
      this.term = term
      this.vote = null
    }
    this.leaderId = undefined
    this.electionElapsed = 0
    this.heartbeatElapsed = 0
    this.resetTimeout()
    this.votes.clear()
    this.progress.clear()
    this.leadTransferee = undefined
    this.pendingReads = []
    this.waitingReads = []
    this.readHeartbeat = false
    this.uncommittedBytes = 0
  }

  private becomeFollower (term: number, leader: NodeId | undefined): void {
    this.reset(term)
    this.role = Role.Follower
    this.leaderId = leader
  }

  private becomeLeader (): void {
    this.reset(this.term)
    this.role = Role.Leader
    this.leaderId = this.id
    const last = this.log.lastIndex()
    for (const id of [...this.conf.voters, ...this.conf.learners]) this.addProgress(id, last + 1)
    const self = this.progress.get(this.id)
    if (self !== undefined) { self.match = this.log.stable; self.becomeReplicate() }
    this.appendEntry(EntryType.Noop, new Uint8Array(0))
    this.pendingConfIndex = this.log.lastIndex()
  }

  private addProgress (id: NodeId, next: number): void {
    if (!this.progress.has(id)) this.progress.set(id, new Progress(next, this.opts.maxInflightMessages, this.opts.maxInflightBytes))
  }

  private campaign (kind: 'pre' | 'election' | 'transfer'): void {
    let term: number
    if (kind === 'pre') {
      this.reset(this.term)
      this.role = Role.PreCandidate
      term = this.term + 1
    } else {
      this.reset(this.term + 1)
      this.role = Role.Candidate
      this.vote = this.id
      term = this.term
    }
    const type = kind === 'pre' ? 'pre-vote' : 'vote'
    if (this.poll(this.id, true) === 'won') {
      if (kind === 'pre') this.campaign('election')
      else this.becomeLeader()
      return
    }
    for (const v of this.conf.voters) {
      if (v === this.id) continue
      this.send({ type, from: this.id, to: v, term, index: this.log.lastIndex(), logTerm: this.log.lastTerm(), transfer: kind === 'transfer' })
    }
  }

  private poll (id: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    if (!this.votes.has(id)) this.votes.set(id, granted)
    let yes = 0
    let no = 0
    for (const v of this.conf.voters) {
      const g = this.votes.get(v)
      if (g === true) yes++
      else if (g === false) no++
    }
    const q = quorumOf(this.conf.voters.length)
    if (yes >= q) return 'won'
    if (no > this.conf.voters.length - q) return 'lost'
    return 'pending'
  }

  private handleVote (m: VoteMessage): void {
    const canVote = this.vote === m.from || (this.vote === null && this.leaderId === undefined) || (m.type === 'pre-vote' && m.term > this.term)
    const grant = canVote && this.log.isUpToDate(m.index, m.logTerm)
    const type = m.type === 'vote' ? 'vote-resp' : 'pre-vote-resp'
    if (grant) {
      this.send({ type, from: this.id, to: m.from, term: m.term, reject: false })
      if (m.type === 'vote') {
        this.electionElapsed = 0
        this.vote = m.from
      }
    } else {
      this.send({ type, from: this.id, to: m.from, term: this.term, reject: true })
    }
  }

  private stepCandidate (m: RaftMessage): void {
    const myResp = this.role === Role.PreCandidate ? 'pre-vote-resp' : 'vote-resp'
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.becomeFollower(m.term, m.from)
        this.stepFollower(m)
        return
      case 'vote-resp':
      case 'pre-vote-resp': {
        if (m.type !== myResp) return
        const r = this.poll(m.from, !m.reject)
        if (r === 'won') {
          if (this.role === Role.PreCandidate) this.campaign('election')
          else this.becomeLeader()
        } else if (r === 'lost') {
          this.becomeFollower(this.term, undefined)
        }
        return
      }
      case 'timeout-now':
        return
      case 'read-index':
        this.send({ type: 'read-index-resp', from: this.id, to: m.from, term: this.term, ctx: m.ctx, index: 0, reject: true })
    }
  }

  private stepFollower (m: RaftMessage): void {
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

  private handleAppend (m: AppendMessage): void {
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

  private handleSnapshot (m: SnapshotMessage): void {
    const l = this.log
    const meta = m.meta
    const ack = (index: number): void => this.send({ type: 'append-resp', from: this.id, to: m.from, term: this.term, index, reject: false, rejectHint: 0, logTerm: 0 })
    if (meta.index <= l.committed) { this.incoming = undefined; return ack(l.committed) }
    let inc = this.incoming
    if (m.offset === 0 && (inc === undefined || inc.index !== meta.index || inc.term !== meta.term || inc.total !== m.total || inc.received > 0)) {
      inc = this.incoming = { index: meta.index, term: meta.term, total: m.total, chunks: [], received: 0 }
    }
    if (inc === undefined || inc.index !== meta.index || inc.term !== meta.term || inc.total !== m.total || m.offset !== inc.received) {
      const offset = inc !== undefined && inc.index === meta.index && inc.term === meta.term ? inc.received : 0
      this.send({ type: 'snapshot-resp', from: this.id, to: m.from, term: this.term, index: meta.index, offset })
      return
    }
    inc.chunks.push(m.data)
    inc.received += m.data.length
    if (inc.received < inc.total) {
      this.send({ type: 'snapshot-resp', from: this.id, to: m.from, term: this.term, index: meta.index, offset: inc.received })
      return
    }
    this.incoming = undefined
    const data = new Uint8Array(inc.total)
    let o = 0
    for (const c of inc.chunks) { data.set(c, o); o += c.length }
    if (l.matchTerm(meta.index, meta.term)) {
      // we already hold the entries it covers: just commit them
      l.commitTo(meta.index)
    } else {
      l.restore({ index: meta.index, term: meta.term, conf: meta.conf, data })
      this.confChanged()
    }
    ack(meta.index)
  }

  // ---------------------------------------------------------------- leader

  private checkLeader (): void {
    if (this.role !== Role.Leader) throw new NotLeaderError(this.leaderId)
    if (this.leadTransferee !== undefined) throw new NotLeaderError(this.leadTransferee, `leadership is being transferred to ${this.leadTransferee}: retry there`)
  }

  private appendEntry (type: Entry['type'], data: Uint8Array): { index: number, term: number } {
    const index = this.log.lastIndex() + 1
    this.log.append([{ term: this.term, index, type, data }])
    if (type === EntryType.ConfChange) this.confChanged()
    this.needFlush = true
    return { index, term: this.term }
  }

  /** The configuration changed (appended or truncated): adopt it. */
  private confChanged (): void {
    this.conf = this.log.conf()
    if (this.role !== Role.Leader) return
    const members = new Set([...this.conf.voters, ...this.conf.learners])
    for (const id of members) this.addProgress(id, this.log.lastIndex())
    for (const id of [...this.progress.keys()]) if (!members.has(id) && id !== this.id) this.progress.delete(id)
    if (this.leadTransferee !== undefined && !this.conf.voters.includes(this.leadTransferee)) this.leadTransferee = undefined
    this.maybeCommit()
  }

  private tickLeader (): void {
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

  private maybePromote (): void {
    if (!this.opts.autoPromote || this.leadTransferee !== undefined) return
    if (this.pendingConfIndex > this.log.committed || this.log.termAt(this.log.committed) !== this.term) return
    for (const l of this.conf.learners) {
      const pr = this.progress.get(l)
      if (pr !== undefined && pr.match >= this.log.committed) {
        this.proposeConfChange(ConfChangeOp.Promote, l)
        return
      }
    }
  }

  private broadcastHeartbeat (): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue
      this.send({ type: 'heartbeat', from: this.id, to: id, term: this.term, commit: Math.min(pr.match, this.log.committed), readSeq: this.readSeq })
    }
  }

  private stepLeader (m: RaftMessage): void {
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

  private handleAppendResp (m: AppendResponse, pr: Progress): void {
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

  private maybeCommit (): void {
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

  private leaderRead (ctx: number, from: NodeId): void {
    if (this.log.termAt(this.log.committed) !== this.term) {
      this.waitingReads.push({ ctx, from })
      return
    }
    const voters = this.conf.voters
    if (voters.length === 1 && voters[0] === this.id) return this.answerRead({ ctx, from, index: this.log.committed, seq: 0 })
    this.pendingReads.push({ ctx, from, index: this.log.committed, seq: ++this.readSeq })
    this.readHeartbeat = true
  }

  private answerRead (r: PendingRead): void {
    if (r.from === this.id) this.readStates.push({ ctx: r.ctx, index: r.index })
    else this.send({ type: 'read-index-resp', from: this.id, to: r.from, term: this.term, ctx: r.ctx, index: r.index, reject: false })
  }

  private releaseReads (): void {
    if (this.pendingReads.length === 0) return
    const acked: number[] = []
    for (const v of this.conf.voters) acked.push(v === this.id ? this.readSeq : this.progress.get(v)?.readSeq ?? 0)
    acked.sort((a, b) => b - a)
    const confirmed = acked[quorumOf(acked.length) - 1]
    let n = 0
    while (n < this.pendingReads.length && this.pendingReads[n].seq <= confirmed) this.answerRead(this.pendingReads[n++])
    if (n > 0) this.pendingReads = this.pendingReads.slice(n)
  }

  /** Sends what each follower needs; called before a Ready is collected. */
  private flush (): void {
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
  private sendAppend (to: NodeId, onlyIfUseful = false): void {
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

  private sendSnapshotChunk (to: NodeId, pr: Progress): void {
    const snap = this.log.snapshot
    if (pr.snapshotIndex !== snap.index) { pr.becomeSnapshot(snap.index) }
    pr.snapshotIdle = 0
    const offset = Math.min(pr.snapshotOffset, snap.data.length)
    const data = snap.data.subarray(offset, Math.min(snap.data.length, offset + this.opts.snapshotChunkBytes))
    this.send({ type: 'snapshot', from: this.id, to, term: this.term, meta: { index: snap.index, term: snap.term, conf: snap.conf }, offset, total: snap.data.length, data })
  }

  private send (m: RaftMessage): void {
    this.msgs.push(m)
  }

  private sameHard (hs: HardState): boolean {
    return hs.term === this.prevHard.term && hs.vote === this.prevHard.vote && hs.commit === this.prevHard.commit
  }
}
