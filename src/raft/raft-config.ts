/**
 * The configuration of a {@link RaftNode}, the {@link StateMachine} it
 * replicates and the options of its calls.
 *
 * @module
 */
import type { SessionLimits, SessionTag } from './envelope.js'

/** The replicated application state. Every replica applies the same commands in the same order. */
export interface StateMachine {
  /** Applies a committed command; the result goes back to the proposer. Must be deterministic. */
  apply (cmd: Uint8Array): Uint8Array | Promise<Uint8Array>
  /** Answers a read-only query against the current state. */
  query (q: Uint8Array): Uint8Array | Promise<Uint8Array>
  /** Serializes the whole state. */
  snapshot (): Uint8Array | Promise<Uint8Array>
  /** Replaces the whole state with a snapshot's. */
  restore (bytes: Uint8Array): void | Promise<void>
}

/** Configuration of a {@link RaftNode}; times are in milliseconds. */
export interface RaftConfig {
  /** This node's id (its transport's peer id). */
  nodeId: string
  /** The other members of a new cluster; ignored once the storage holds state. */
  peers: string[]
  /**
   * Start as a non-member with an empty log, waiting to be added with
   * `addNode` on the leader (instead of bootstrapping a cluster from `peers`).
   * @default false
   */
  join?: boolean
  /**
   * Election timeout range: a follower that hears no leader for a random
   * time in it starts an election.
   * @default { min: 150, max: 300 }
   */
  electionTimeout?: { min: number, max: number }
  /**
   * How often a leader sends heartbeats.
   * @default 50
   */
  heartbeatInterval?: number
  /**
   * Length of one core tick.
   * @default heartbeatInterval / 5
   */
  tickInterval?: number
  /**
   * Use pre-vote (see `RaftCoreOptions.preVote`).
   * @default true
   */
  preVote?: boolean
  /**
   * Use check-quorum and leader leases (see `RaftCoreOptions.checkQuorum`).
   * @default true
   */
  checkQuorum?: boolean
  /**
   * How long `propose` and `read` wait before rejecting with `TimeoutError`.
   * @default 10 * electionTimeout.max
   */
  requestTimeout?: number
  /**
   * How long `addNode`, `removeNode` and `transferLeadership` wait.
   * @default 100 * electionTimeout.max
   */
  membershipTimeout?: number
  /**
   * Take a snapshot (and compact the log) after this many applied entries —
   * and once the entries applied since the last snapshot hold at least as
   * many bytes as it had, so a large store is not re-serialized every
   * `snapshotThreshold` small writes (each byte written costs at most one
   * byte of snapshot).
   * @default 10000
   */
  snapshotThreshold?: number
  /**
   * The session table's limits this node wants for the group. They are
   * replicated configuration: a leader whose wish differs from the limits
   * in force proposes them as a log entry, and every replica applies the
   * limits in its log, whatever its own setting. Unset: keep the group's
   * (which start as `DEFAULT_SESSION_LIMITS`).
   * @default undefined
   */
  sessionLimits?: Partial<SessionLimits>
  /**
   * @deprecated Use `sessionLimits.maxSessions` (it is replicated now).
   * @default undefined
   */
  maxSessions?: number
  /**
   * Largest command `propose` accepts, in bytes (session envelope
   * included); a larger one rejects with `EntryTooLargeError` and is not
   * appended. Keep it below the storage's record limit and the peer
   * transport's frame limit.
   * @default 1 MiB
   */
  maxEntryBytes?: number
  /**
   * Bytes of commands the leader holds appended but not yet committed;
   * past it `propose` rejects with a retryable `ProposalDroppedError`
   * (back-pressure while a quorum is slow or away).
   * @default 64 MiB
   */
  maxUncommittedBytes?: number
  /** @default 64 */
  maxInflightMessages?: number
  /** @default 4 MiB */
  maxInflightBytes?: number
  /** @default 256 KiB */
  maxMessageBytes?: number
  /**
   * Bytes of snapshot data per chunk. Streamed snapshots (a storage that
   * implements `SnapshotStore`) default to 60 KiB, so a chunk fits one peer
   * frame fragment; keep it below the peer transport's frame limit.
   * @default 60 KiB streamed, 256 KiB otherwise
   */
  snapshotChunkBytes?: number
  /**
   * Streamed snapshots: chunks sent to a follower and not yet acknowledged.
   * @default 4
   */
  snapshotWindow?: number
  /**
   * Stream snapshots from and to the storage in chunks when it implements
   * `SnapshotStore` (`MemoryRaftStorage`, `FileRaftStorage`). With `false`,
   * snapshots travel as before: the core sends them from memory and the
   * follower reassembles them in memory.
   * @default true
   */
  snapshotStreaming?: boolean
}

/** Options of {@link RaftNode.propose}. */
export interface ProposeOptions {
  /** Tag the command for exactly-once application; retries must reuse the same tag. */
  session?: SessionTag
  /** Overrides `requestTimeout` for this call. */
  timeout?: number
}

