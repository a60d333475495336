/**
 * `aegis-replication/raft`: strong consistency for hub peers. A
 * {@link RaftNode} runs the pure {@link RaftCore} on a clock, a `Transport`
 * and a {@link RaftStorage}, and replicates a {@link StateMachine} such as
 * the bundled {@link KvStateMachine}.
 *
 * ```ts
 * import { RaftNode, MemoryRaftStorage, KvStateMachine, RaftKv } from 'aegis-replication/raft'
 * import { InMemoryNetwork } from 'aegis-replication/transport'
 * const net = new InMemoryNetwork({ seed: 1 })
 * const ids = ['n1', 'n2', 'n3']
 * const nodes = ids.map((id) => new RaftNode(
 *   { nodeId: id, peers: ids.filter((p) => p !== id) },
 *   new MemoryRaftStorage(), net.createTransport(id), new KvStateMachine(), { clock: net.clockFor(id) }))
 * await Promise.all(nodes.map((n) => n.start()))
 * await net.clock.runUntilAsync(() => nodes.some((n) => n.isLeader()), 5_000)
 * const kv = new RaftKv(nodes.find((n) => n.isLeader())!)
 * const put = kv.put('seat/12A', new TextEncoder().encode('alice'))
 * await net.clock.runForAsync(100)
 * await put
 * ```
 *
 * @module
 */

// The driver
export { RaftNode } from './raft-node.js'
export type { RaftNodeStatus } from './raft-node.js'
export type { RaftConfig, StateMachine, ProposeOptions } from './raft-config.js'

// Storage
export { MemoryRaftStorage } from './storage.js'
export type { RaftStorage, RaftPersistedState } from './storage.js'
export { isSnapshotStore } from './snapshot-store.js'
export type { SnapshotStore, SnapshotSink, SnapshotInfo } from './snapshot-store.js'

// Streamed snapshots
export { DEFAULT_SNAPSHOT_STREAM_CHUNK_BYTES, DEFAULT_SNAPSHOT_WINDOW } from './snapshot-stream.js'
export { ChunkStatus, encodeSnapshotStreamMessage, decodeSnapshotStreamMessage, isSnapshotStreamFrame } from './snapshot-messages.js'
export type { SnapshotChunkMessage, SnapshotChunkAck, SnapshotStreamMessage } from './snapshot-messages.js'
export type { SnapshotSenderStats } from './snapshot-sender.js'
export type { SnapshotReceiverStats } from './snapshot-receiver.js'

// The pure core
export { RaftCore } from './raft.js'
export type { RaftCoreOptions, RaftInitialState, Ready, SoftState, RaftStatus } from './raft.js'
export { ProgressState } from './progress.js'
export { EntryType, ConfChangeOp, Role, emptyConf, cloneConf } from './types.js'
export type { NodeId, Entry, HardState, ConfState, ConfChange, SnapshotMeta, Snapshot, ReadState } from './types.js'
export type {
  RaftMessage, RaftMessageType, AppendMessage, AppendResponse, HeartbeatMessage, HeartbeatResponse, VoteMessage, VoteResponse,
  SnapshotMessage, SnapshotResponse, TimeoutNowMessage, ReadIndexMessage, ReadIndexResponse
} from './messages.js'

// Codecs
export {
  RAFT_PROTOCOL_VERSION, encodeRaftMessage, decodeRaftMessage, encodeEntry, decodeEntry, encodeHardState, decodeHardState,
  encodeSnapshot, decodeSnapshot, encodeConfChange, decodeConfChange
} from './codec.js'

// Sessions
export { SessionTable, DEFAULT_SESSION_LIMITS, encodeNodeSnapshot, decodeNodeSnapshot } from './session.js'
export type { SessionCheck } from './session.js'
export { encodeCommand, decodeCommand } from './envelope.js'
export type { SessionTag, SessionLimits, CommandEnvelope } from './envelope.js'

// Errors
export { RaftStoppedError, ProposalDroppedError, ConfChangeError, EntryTooLargeError, SessionExpiredError, SnapshotChecksumError } from './errors.js'
export { NotLeaderError, TimeoutError, DecodeError, StorageError } from '../errors.js'

// The KV state machine
export { KvStateMachine, RaftKv, encodeKvCommand, decodeKvCommand, encodeKvResult, decodeKvResult, KV_PROTOCOL_VERSION, MAX_KV_KEY_BYTES } from './kv.js'
export type { KvCommand, KvResult, KvEntry, KvProposer } from './kv.js'
