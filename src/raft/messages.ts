/**
 * The messages Raft nodes exchange. A discriminated union on `type`; every
 * message names its sender, its recipient and the sender's term.
 *
 * ```
 * append           leader → follower  prev (index, logTerm), entries, commit
 * append-resp      follower → leader  index (last matching) or reject + hint (rejectHint, logTerm)
 * heartbeat        leader → follower  commit, readSeq
 * heartbeat-resp   follower → leader  readSeq (echoed: confirms leadership for ReadIndex)
 * vote, pre-vote   candidate → all    last log (index, logTerm), transfer
 * vote-resp, pre-vote-resp            reject
 * snapshot         leader → follower  one chunk of a snapshot (meta, offset, total, data)
 * snapshot-resp    follower → leader  bytes received so far (offset)
 * timeout-now      leader → transferee: campaign now
 * read-index       follower → leader  ctx
 * read-index-resp  leader → follower  ctx, index (or reject)
 * ```
 *
 * @module
 */
import type { Entry, NodeId, SnapshotMeta } from './types.js'

interface Base {
  /** The sender. */
  from: NodeId
  /** The recipient. */
  to: NodeId
  /** The sender's term (for `pre-vote`: the term it would campaign in). */
  term: number
}

/** Log entries after (`index`, `logTerm`), and the leader's commit index. */
export interface AppendMessage extends Base { type: 'append', index: number, logTerm: number, entries: Entry[], commit: number }
/** Answer to `append` (or to a completed snapshot). On success `index` is the follower's last matching index; on reject, `index` echoes the rejected prev index and (`rejectHint`, `logTerm`) say where to probe next. */
export interface AppendResponse extends Base { type: 'append-resp', index: number, reject: boolean, rejectHint: number, logTerm: number }
/** Keeps followers from campaigning; carries the commit index and the leader's latest read sequence. */
export interface HeartbeatMessage extends Base { type: 'heartbeat', commit: number, readSeq: number }
/** Answer to a heartbeat, echoing its read sequence. */
export interface HeartbeatResponse extends Base { type: 'heartbeat-resp', readSeq: number }
/** A (pre-)vote request; `transfer` marks a campaign started by leadership transfer. */
export interface VoteMessage extends Base { type: 'vote' | 'pre-vote', index: number, logTerm: number, transfer: boolean }
/** A (pre-)vote answer. */
export interface VoteResponse extends Base { type: 'vote-resp' | 'pre-vote-resp', reject: boolean }
/** One chunk of a snapshot: bytes `[offset, offset + data.length)` of `total`. */
export interface SnapshotMessage extends Base { type: 'snapshot', meta: SnapshotMeta, offset: number, total: number, data: Uint8Array }
/** How many bytes of the snapshot at `index` the follower holds; the leader continues from `offset`. */
export interface SnapshotResponse extends Base { type: 'snapshot-resp', index: number, offset: number }
/** Tells a caught-up follower to campaign at once (leadership transfer). */
export interface TimeoutNowMessage extends Base { type: 'timeout-now' }
/** A follower asks the leader for a read index on behalf of its read `ctx`. */
export interface ReadIndexMessage extends Base { type: 'read-index', ctx: number }
/** The leader's answer: the read `ctx` may run once `index` is applied (unless `reject`). */
export interface ReadIndexResponse extends Base { type: 'read-index-resp', ctx: number, index: number, reject: boolean }

/** Every message of the Raft protocol. */
export type RaftMessage =
  | AppendMessage | AppendResponse | HeartbeatMessage | HeartbeatResponse
  | VoteMessage | VoteResponse | SnapshotMessage | SnapshotResponse
  | TimeoutNowMessage | ReadIndexMessage | ReadIndexResponse

/** The `type` tags of {@link RaftMessage}. */
export type RaftMessageType = RaftMessage['type']
