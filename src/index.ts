/**
 * aegis-replication core: the `Doc` (named delta CRDTs with a compact
 * binary sync format), standalone delta-state CRDTs, vector and hybrid
 * logical clocks, consistent hashing, and the typed errors every part
 * throws (the replication config is `aegis-replication/config`). Pure: no
 * DOM, no Node built-ins — runs in browsers, workers, Node and edge
 * runtimes.
 *
 * ```ts
 * import { Doc } from 'aegis-replication'
 * const a = new Doc(), b = new Doc()
 * a.on('update', u => b.applyUpdate(u))
 * a.map('tasks').set('t1', { title: 'Ship it' })
 * ```
 *
 * @module
 */
export { Doc, DocMap, DocCounter, DocSet, DocRegister, UPDATE_FORMAT_VERSION, STATE_VECTOR_FORMAT_VERSION, MAX_REPLICA_ID_BYTES } from './doc/index.js'
export type { DocOptions, DocEvents, DocChange, ContainerTypeName } from './doc/index.js'
export {
  Ordering, VectorClock, VECTOR_CLOCK_VERSION, writeVectorClock, readVectorClock,
  HybridLogicalClock, packHlc, hlcWall, hlcLogical, HLC_LOGICAL_RANGE, HLC_MAX_LOGICAL, HLC_MAX_WALL, DEFAULT_MAX_DRIFT_MS,
  MAX_NODE_ID_BYTES, assertNodeId
} from './clock/index.js'
export type { HybridLogicalClockOptions } from './clock/index.js'
export {
  CRDT_FORMAT_VERSION, CrdtTypeTag, CausalContext, CAUSAL_CONTEXT_VERSION, GCounter, PNCounter,
  LWWRegister, compareLWWEntries, MVRegister, ORSet, ORMap, ORMapView, ORMapCounter, ORMapRegister, ORMapSet, MAX_MAP_DEPTH
} from './crdt/index.js'
export type { Dot, LWWEntry, NestedJSON } from './crdt/index.js'
export { xxh64, xxh64Hex, xxh64Into, xxh32, JumpHash, HashRing, Rendezvous } from './hash/index.js'
export type { HashInput, Seed64, JumpKey, HashRingOptions } from './hash/index.js'
export {
  DecodeError, VersionError, NotLeaderError, TimeoutError, AbortError, TransactionAbortedError,
  ShardUnavailableError, TransportClosedError, StorageError, InvalidArgumentError
} from './errors.js'
export type { JsonValue } from './codec/value.js'
export { systemClock, systemRandom, silentLogger, consoleLogger } from './components.js'
export type { Clock, Random, Logger, Components, TimerHandle } from './components.js'
