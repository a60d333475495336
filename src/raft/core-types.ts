/**
 * The public shapes of the Raft core: its options, its initial state and
 * what it hands the driver ({@link Ready}, {@link SoftState}, {@link RaftStatus}).
 *
 * @module
 */
import type { Random } from '../components.js'
import type { RaftMessage } from './messages.js'
import type { ConfState, Entry, HardState, NodeId, ReadState, Role, Snapshot } from './types.js'

/** Options of a {@link RaftCore}; times are in ticks. */
export interface RaftCoreOptions {
  /** This node's id. */
  id: NodeId
  /** Election timeout range in ticks; each timeout is drawn uniformly from `[min, max]`. */
  electionTicks: { min: number, max: number }
  /** Ticks between heartbeats; must be well below `electionTicks.min`. */
  heartbeatTicks: number
  /** Source of the election timeout randomness. */
  random: Random
  /**
   * Run a pre-vote round before a real election, so a node that was cut
   * off does not raise the term and depose a healthy leader on return.
   * @default true
   */
  preVote?: boolean
  /**
   * A leader steps down when it has not heard from a quorum within an
   * election timeout, and followers ignore votes while they hear a leader.
   * @default true
   */
  checkQuorum?: boolean
  /**
   * Append messages in flight per follower.
   * @default 64
   */
  maxInflightMessages?: number
  /**
   * Bytes of entries in flight per follower.
   * @default 4 MiB
   */
  maxInflightBytes?: number
  /**
   * Bytes of entries per append message (at least one entry is sent).
   * @default 256 KiB
   */
  maxMessageBytes?: number
  /**
   * Bytes per snapshot chunk.
   * @default 256 KiB
   */
  snapshotChunkBytes?: number
  /**
   * Promote learners to voters automatically once they have caught up.
   * @default true
   */
  autoPromote?: boolean
  /**
   * Largest command `propose` accepts, in bytes; a larger one throws
   * {@link EntryTooLargeError}. Followers accept what the leader sends.
   * @default 1 MiB
   */
  maxEntryBytes?: number
  /**
   * Bytes of commands a leader holds appended but not yet committed (like
   * etcd's `MaxUncommittedEntriesSize`); past it `propose` throws a
   * retryable {@link ProposalDroppedError} (back-pressure). One proposal is
   * always accepted when nothing is pending.
   * @default 64 MiB
   */
  maxUncommittedBytes?: number
}

/** What the core restarts from (as loaded from storage). */
export interface RaftInitialState {
  /** The persisted hard state (`{ term: 0, vote: null, commit: 0 }` when new). */
  hardState: HardState
  /** The latest snapshot, if any. */
  snapshot?: Snapshot
  /** The persisted entries after the snapshot, contiguous. */
  entries: Entry[]
}

/** The role and leader, for the driver. */
export interface SoftState {
  /** This node's role. */
  role: Role
  /** The leader this node knows of in the current term, if any. */
  leaderId: NodeId | undefined
}

/** One batch of work for the driver; see the module documentation for the contract. */
export interface Ready {
  /** Hard state to persist, if it changed. */
  hardState?: HardState
  /** Delete stored entries with index `>= truncateFrom` before appending. */
  truncateFrom?: number
  /** Entries to append, contiguous. */
  entries: Entry[]
  /** A snapshot received from the leader: persist it (replacing the log it covers), then restore it. */
  snapshot?: Snapshot
  /** Messages to send once the above is durable. */
  messages: RaftMessage[]
  /** Committed entries to apply, in order. */
  committed: Entry[]
  /** Reads confirmed by a quorum: run each once its index is applied. */
  readStates: ReadState[]
  /** The role and leader after this batch. */
  softState: SoftState
  /** @internal The log epoch when the batch was made. */
  epoch: number
}

/** What {@link RaftCore.status} reports. */
export interface RaftStatus extends SoftState {
  /** This node. */
  id: NodeId
  /** Current term. */
  term: number
  /** Vote in the current term. */
  vote: NodeId | null
  /** Commit index. */
  commit: number
  /** Last log index. */
  lastIndex: number
  /** Index of the latest snapshot. */
  snapshotIndex: number
  /** The configuration in force (the latest appended). */
  conf: ConfState
  /** Leader only: each peer's match index. */
  progress?: Record<NodeId, { match: number, next: number, state: string }>
}
