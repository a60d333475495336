/**
 * Clocks: version vectors and hybrid logical clocks.
 *
 * ```ts
 * import { VectorClock, HybridLogicalClock, Ordering } from 'aegis-replication'
 * const vc = new VectorClock(); vc.increment('alice')
 * vc.compare(new VectorClock()) === Ordering.After // true
 * ```
 *
 * @module
 */
export { Ordering } from './ordering.js'
export { VectorClock, VECTOR_CLOCK_VERSION, writeVectorClock, readVectorClock } from './vector-clock.js'
export {
  HybridLogicalClock,
  type HybridLogicalClockOptions,
  packHlc,
  hlcWall,
  hlcLogical,
  HLC_LOGICAL_RANGE,
  HLC_MAX_LOGICAL,
  HLC_MAX_WALL,
  DEFAULT_MAX_DRIFT_MS
} from './hlc.js'
export { MAX_NODE_ID_BYTES, assertNodeId } from './node-id.js'
