/**
 * The data the Raft core works on: log entries, the persistent hard state,
 * cluster configurations and snapshots. Shared by the core, its codec, the
 * storage contract and the driver.
 *
 * @module
 */

/** A Raft node id; the same string names the node on the {@link Transport}. */
export type NodeId = string

/** Kinds of log entries. */
export const EntryType = {
  /** A client command (wrapped in a session envelope by the driver). */
  Normal: 'normal',
  /** A membership change; takes effect as soon as it is appended. */
  ConfChange: 'conf-change',
  /** The empty entry a new leader appends to commit an entry of its term. */
  Noop: 'noop'
} as const
/** One of {@link EntryType}'s values. */
export type EntryType = typeof EntryType[keyof typeof EntryType]

/** One log entry. */
export interface Entry {
  /** The term of the leader that created it. */
  term: number
  /** Its position in the log, from 1. */
  index: number
  /** What `data` holds. */
  type: EntryType
  /** The payload: a command, an encoded {@link ConfChange}, or empty. */
  data: Uint8Array
}

/** The state that must reach stable storage before any message that depends on it is sent. */
export interface HardState {
  /** The latest term this node has seen. */
  term: number
  /** The node it voted for in `term`, or `null`. */
  vote: NodeId | null
  /** The highest log index known to be committed. */
  commit: number
}

/** A cluster configuration: voters decide elections and commits, learners only receive the log. */
export interface ConfState {
  /** Members that vote and count towards a quorum, sorted. */
  voters: NodeId[]
  /** Non-voting members being caught up, sorted. */
  learners: NodeId[]
}

/** Single-server membership operations. */
export const ConfChangeOp = {
  /** Add a node as a non-voting learner. */
  AddLearner: 'add-learner',
  /** Turn a learner into a voter. */
  Promote: 'promote',
  /** Remove a voter or a learner. */
  Remove: 'remove'
} as const
/** One of {@link ConfChangeOp}'s values. */
export type ConfChangeOp = typeof ConfChangeOp[keyof typeof ConfChangeOp]

/** The payload of a {@link EntryType.ConfChange} entry: the operation and the configuration it yields. */
export interface ConfChange {
  /** What changes. */
  op: ConfChangeOp
  /** The node it concerns. */
  node: NodeId
  /** The whole configuration after the change. */
  conf: ConfState
}

/** What a snapshot covers: the log up to `index` and the configuration at that point. */
export interface SnapshotMeta {
  /** The last log index the snapshot includes. */
  index: number
  /** The term of the entry at `index`. */
  term: number
  /** The configuration in force at `index`. */
  conf: ConfState
}

/** A snapshot: its metadata and the state machine's bytes (opaque to the core). */
export interface Snapshot extends SnapshotMeta {
  /** The encoded state (the driver stores its session table in it too). */
  data: Uint8Array
}

/** A confirmed linearizable read: once the state machine has applied `index`, the read `ctx` may run. */
export interface ReadState {
  /** The id the caller passed to `readIndex`. */
  ctx: number
  /** The commit index the read must wait for. */
  index: number
}

/** Roles of a Raft node. */
export const Role = {
  Follower: 'follower',
  PreCandidate: 'pre-candidate',
  Candidate: 'candidate',
  Leader: 'leader'
} as const
/** One of {@link Role}'s values. */
export type Role = typeof Role[keyof typeof Role]

/** An empty configuration. */
export const emptyConf = (): ConfState => ({ voters: [], learners: [] })

/** A copy of `conf`. */
export const cloneConf = (conf: ConfState): ConfState => ({ voters: [...conf.voters], learners: [...conf.learners] })
