/**
 * Hybrid logical clocks (Kulkarni et al., 2014): timestamps that follow
 * physical time, never go backwards, and order causally related events.
 *
 * A timestamp is one safe integer, `wallMs * 4096 + logical`, so it compares
 * with `<` and encodes as a varint. The 41 bits left for `wallMs` reach
 * {@link HLC_MAX_WALL} (2039-09-07 UTC).
 *
 * ```ts
 * const clock = new HybridLogicalClock('alice')
 * const t1 = clock.now()
 * const t2 = clock.receive(remoteTimestamp) // > t1 and > remoteTimestamp
 * ```
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import { assertNodeId, compareStrings } from './node-id.js'
import { assertUint } from './safe-uint.js'

/** Logical counter values per millisecond. */
export const HLC_LOGICAL_RANGE = 4096
/** The largest logical counter (4095). */
export const HLC_MAX_LOGICAL = HLC_LOGICAL_RANGE - 1
/** The largest wall-clock time a timestamp can hold: 2^41 - 1 ms after the Unix epoch. */
export const HLC_MAX_WALL = Math.floor(Number.MAX_SAFE_INTEGER / HLC_LOGICAL_RANGE)
/** Default for {@link HybridLogicalClockOptions.maxDriftMs}: 24 hours. */
export const DEFAULT_MAX_DRIFT_MS = 24 * 60 * 60 * 1000

/** Packs a wall time (ms) and a logical counter (0–4095) into one timestamp. */
export const packHlc = (wallMs: number, logical: number): number => {
  assertUint(wallMs, 'HLC wall time')
  assertUint(logical, 'HLC logical counter')
  if (wallMs > HLC_MAX_WALL) throw new InvalidArgumentError(`HLC wall time ${wallMs} is past the largest representable time ${HLC_MAX_WALL}`)
  if (logical > HLC_MAX_LOGICAL) throw new InvalidArgumentError(`HLC logical counter ${logical} is above ${HLC_MAX_LOGICAL}`)
  return wallMs * HLC_LOGICAL_RANGE + logical
}

/** The wall-clock part (ms) of a timestamp. */
export const hlcWall = (ts: number): number => Math.floor(ts / HLC_LOGICAL_RANGE)

/** The logical part (0–4095) of a timestamp. */
export const hlcLogical = (ts: number): number => ts % HLC_LOGICAL_RANGE

/** Options of {@link HybridLogicalClock}. */
export interface HybridLogicalClockOptions {
  /**
   * {@link HybridLogicalClock.receive} refuses remote timestamps whose wall
   * time is more than this many ms ahead of the local physical clock.
   * @default 86_400_000 (24 h)
   */
  maxDriftMs?: number
}

/** A hybrid logical clock owned by one node. */
export class HybridLogicalClock {
  readonly nodeId: string
  readonly maxDriftMs: number
  private readonly physical: () => number
  private latest = 0

  /**
   * @param nodeId - the owner, used to break ties in {@link HybridLogicalClock.compare}
   * @param now - the physical clock in ms (injected so tests and simulations control time)
   */
  constructor (nodeId: string, now: () => number = () => Date.now(), options: HybridLogicalClockOptions = {}) {
    this.nodeId = assertNodeId(nodeId)
    if (typeof now !== 'function') throw new InvalidArgumentError('now must be a function returning milliseconds')
    this.physical = now
    this.maxDriftMs = assertUint(options.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS, 'maxDriftMs')
  }

  /** The last timestamp this clock issued (0 before the first). */
  get last (): number { return this.latest }

  /** A timestamp greater than every one this clock issued or received. */
  now (): number {
    return this.advance(this.physicalTs(), 0)
  }

  /**
   * Merges a timestamp from another node and returns a new local timestamp
   * greater than both. A remote wall time more than `maxDriftMs` ahead of
   * the physical clock is refused with {@link InvalidArgumentError} and
   * leaves the clock unchanged.
   */
  receive (remote: number): number {
    assertUint(remote, 'remote HLC timestamp')
    const pt = this.physicalTs()
    if (hlcWall(remote) - hlcWall(pt) > this.maxDriftMs) {
      throw new InvalidArgumentError(`remote HLC timestamp is ${hlcWall(remote) - hlcWall(pt)} ms ahead of the physical clock (limit ${this.maxDriftMs} ms)`)
    }
    return this.advance(pt, remote + 1)
  }

  /**
   * Total order of stamped events: by timestamp, then by node id (plain
   * string comparison). Returns -1, 0 or 1.
   */
  static compare (a: number, aNode: string, b: number, bNode: string): -1 | 0 | 1 {
    if (a !== b) return a < b ? -1 : 1
    return compareStrings(aNode, bNode) as -1 | 0 | 1
  }

  private physicalTs (): number {
    const ms = this.physical()
    if (typeof ms !== 'number' || Number.isNaN(ms)) throw new InvalidArgumentError(`the physical clock returned ${String(ms)}`)
    return packHlc(Math.min(Math.max(0, Math.floor(ms)), HLC_MAX_WALL), 0)
  }

  private advance (pt: number, floor: number): number {
    // packed (wall, logical) compares lexicographically, so "+1" is the HLC
    // rule: bump the logical part, and carry into the wall time at 4096.
    const ts = Math.max(this.latest + 1, floor, pt)
    if (ts > Number.MAX_SAFE_INTEGER) throw new InvalidArgumentError('HLC timestamp would exceed Number.MAX_SAFE_INTEGER')
    this.latest = ts
    return ts
  }
}
