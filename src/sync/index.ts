/**
 * The sync protocol: a state-vector handshake per room, live updates with
 * durable acknowledgements, awareness relay and chunking of large messages,
 * many rooms over one connection. Pure state machines: providers and the
 * hub drive them with sockets, timers and storage.
 *
 * @module
 */
export {
  PROTOCOL_VERSION, DEFAULT_MAX_FRAME_BYTES, MAX_ROOM_NAME_BYTES, MAX_TOKEN_BYTES,
  MessageType, Access, ErrorCode, KvStatus, MAX_KV_SESSION_BYTES, encodeMessage, decodeMessage
} from './messages.js'
export type {
  SyncMessage, RoomMessage, JoinMessage, JoinedMessage, SyncStep1Message, SyncStep2Message, UpdateMessage,
  AckMessage, AwarenessMessage, LeaveMessage, ErrorMessage, ChunkMessage, HeldMessage, KvRequestMessage, KvResponseMessage
} from './messages.js'
export { splitFrame, Reassembler, MessageFraming, MIN_FRAME_BYTES, DEFAULT_MAX_MESSAGE_BYTES } from './chunking.js'
export type { ReassemblerOptions } from './chunking.js'
export { SyncClient, ClientRoom } from './client.js'
export type { SyncClientOptions, ClientRoomOptions, ClientRoomEvents, RoomStatus } from './client.js'
export type { TokenSource, TokenRetryOptions } from './room-token.js'
export { HubRoom } from './hub-room.js'
export type { RoomStore, RoomPeer, HubRoomOptions } from './hub-room.js'
export { SyncServer, ServerConnection } from './server.js'
export type { SyncServerOptions, ConnectionIO, ConnectionStats, AuthDecision, ConnectOptions, SyncServerStats } from './server.js'
export { DEFAULT_PRESENCE_LIMITS } from './presence-guard.js'
export type { PresenceLimits } from './presence-guard.js'
export {
  Awareness, applyAwarenessUpdate, applyAwarenessEntries, encodeAwarenessUpdate, removeAwarenessStates, modifyAwarenessUpdate,
  decodeAwarenessUpdate, encodeAwarenessEntries, watchAwarenessTimeouts, DEFAULT_AWARENESS_TIMEOUT_MS, MAX_AWARENESS_ENTRIES, MAX_AWARENESS_STATE_BYTES
} from './awareness.js'
export type {
  AwarenessOptions, AwarenessMeta, AwarenessChanges, AwarenessEvents, AwarenessEntry, AwarenessState
} from './awareness.js'
export { PeerSync } from './peer-sync.js'
export type { PeerSyncOptions, PeerSyncEvents } from './peer-sync.js'
export { KV_AUTH_ROOM, kvAnswerForError } from './kv-endpoint.js'
export type { KvRequest, KvAnswer, KvHandler } from './kv-endpoint.js'
export { KvRequestError, KvOutcomeUnknownError } from './kv-client.js'
