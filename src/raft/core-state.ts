/**
 * The Raft core's state and the transitions every part of it uses: the
 * term, vote and role, the leader's view of each follower, the messages
 * and read states waiting for the driver, and becoming a follower. The
 * parts of the core build on it, one concept per file:
 * `core-snapshot.ts` (sending and receiving snapshots), `core-reads.ts`
 * (ReadIndex), `core-replication.ts` (proposals, appends, commit),
 * `core-election.ts` (pre-vote, votes, becoming leader),
 * `core-membership.ts` (configuration changes, leadership transfer), and
 * `raft.ts` (`RaftCore`: ticks, message dispatch, Ready).
 *
 * @module
 */
import type { Random } from '../components.js'
import { NotLeaderError } from '../errors.js'
import type { RaftMessage } from './messages.js'
import { Progress } from './progress.js'
import { RaftLog } from './raft-log.js'
import { Role, emptyConf, type ConfState, type HardState, type NodeId, type ReadState } from './types.js'
import type { RaftCoreOptions, RaftInitialState } from './core-types.js'

/** A read the leader confirms with a heartbeat round. */
export interface PendingRead { ctx: number, from: NodeId, index: number, seq: number }

/** Votes (or acknowledgements) that make a majority of `voters`. */
export const quorumOf = (voters: number): number => Math.floor(voters / 2) + 1

/** The core's state; see the module documentation. */
export abstract class CoreState {
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
  protected readonly opts: Required<Omit<RaftCoreOptions, 'id' | 'random' | 'electionTicks'>> & { electionTicks: { min: number, max: number } }
  protected readonly random: Random
  protected conf: ConfState
  protected electionElapsed = 0
  protected heartbeatElapsed = 0
  protected randomizedTimeout = 0
  protected readonly votes = new Map<NodeId, boolean>()
  protected readonly progress = new Map<NodeId, Progress>()
  protected msgs: RaftMessage[] = []
  protected readStates: ReadState[] = []
  protected prevHard: HardState
  protected pendingConfIndex = 0
  protected leadTransferee: NodeId | undefined
  protected transferElapsed = 0
  protected readSeq = 0
  protected pendingReads: PendingRead[] = []
  /** Reads waiting for the new leader's first commit in its term. */
  protected waitingReads: Array<{ ctx: number, from: NodeId }> = []
  protected readHeartbeat = false
  protected needFlush = false
  /** Leader: bytes of its own term's normal entries appended but not committed. */
  protected uncommittedBytes = 0
  /** Follower: the snapshot being received. */
  protected incoming: { index: number, term: number, total: number, chunks: Uint8Array[], received: number } | undefined

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

  /** The current hard state. */
  hardState (): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed }
  }

  /** The configuration changed (appended or truncated): adopt it. */
  protected abstract confChanged (): void

  protected promotable (): boolean {
    return this.conf.voters.includes(this.id)
  }

  protected resetTimeout (): void {
    const { min, max } = this.opts.electionTicks
    this.randomizedTimeout = min + Math.floor(this.random.next() * (max - min + 1))
  }

  protected reset (term: number): void {
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

  protected becomeFollower (term: number, leader: NodeId | undefined): void {
    this.reset(term)
    this.role = Role.Follower
    this.leaderId = leader
  }

  protected addProgress (id: NodeId, next: number): void {
    if (!this.progress.has(id)) this.progress.set(id, new Progress(next, this.opts.maxInflightMessages, this.opts.maxInflightBytes))
  }

  protected checkLeader (): void {
    if (this.role !== Role.Leader) throw new NotLeaderError(this.leaderId)
    if (this.leadTransferee !== undefined) throw new NotLeaderError(this.leadTransferee, `leadership is being transferred to ${this.leadTransferee}: retry there`)
  }

  protected send (m: RaftMessage): void {
    this.msgs.push(m)
  }

  protected sameHard (hs: HardState): boolean {
    return hs.term === this.prevHard.term && hs.vote === this.prevHard.vote && hs.commit === this.prevHard.commit
  }
}
