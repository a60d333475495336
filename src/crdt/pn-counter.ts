/**
 * Positive-negative counter: two grow-only counts per node, one for
 * increments and one for decrements.
 *
 * ```ts
 * const c = new PNCounter('alice')
 * const delta = c.decrement(3) // send to peers: peer.merge(delta)
 * c.value() // -3
 * ```
 *
 * @module
 */
import { VectorClock, readVectorClock, writeVectorClock } from '../clock/vector-clock.js'
import { addSafe } from '../clock/safe-uint.js'
import { assertSameType, decodeCrdt, encodeCrdt, CrdtTypeTag, optionalNodeId, requireNodeId } from './format.js'
import { assertAmount } from './g-counter.js'

/** A counter that goes up and down (delta-state). */
export class PNCounter {
  /** The replica that writes here; undefined for a merge-and-read-only replica. */
  readonly nodeId: string | undefined
  private readonly p: VectorClock
  private readonly n: VectorClock

  constructor (nodeId?: string, p = new VectorClock(), n = new VectorClock()) {
    this.nodeId = optionalNodeId(nodeId)
    this.p = p
    this.n = n
  }

  /** Reads an encoding of {@link PNCounter.encode}; {@link DecodeError} on bad bytes. */
  static decode (bytes: Uint8Array, nodeId?: string): PNCounter {
    const [p, n] = decodeCrdt('PNCounter', bytes, d => [readVectorClock(d), readVectorClock(d)])
    return new PNCounter(nodeId, p, n)
  }

  /** Adds `n` (a non-negative integer); returns the delta. */
  increment (n = 1): PNCounter {
    return this.add(this.p, n, true)
  }

  /** Subtracts `n` (a non-negative integer); returns the delta. */
  decrement (n = 1): PNCounter {
    return this.add(this.n, n, false)
  }

  private add (side: VectorClock, n: number, positive: boolean): PNCounter {
    const node = requireNodeId(this.nodeId, 'PNCounter')
    assertAmount(n)
    const delta = new PNCounter(node)
    if (n === 0) return delta
    const total = addSafe(side.get(node), n, 'counter')
    side.set(node, total)
    ;(positive ? delta.p : delta.n).set(node, total)
    return delta
  }

  /** Increments minus decrements, over all nodes. */
  value (): number {
    let sum = 0
    for (const [, x] of this.p.entries()) sum += x
    for (const [, x] of this.n.entries()) sum -= x
    return sum
  }

  /** Join (pointwise max of both sides), in place. */
  merge (other: PNCounter): this {
    assertSameType(other, PNCounter)
    this.p.merge(other.p)
    this.n.merge(other.n)
    return this
  }

  clone (): PNCounter { return new PNCounter(this.nodeId, this.p.clone(), this.n.clone()) }

  /** The full state: `{ type: 'PNCounter', p: { node: n }, n: { node: n } }`. */
  toJSON (): { type: 'PNCounter', p: Record<string, number>, n: Record<string, number> } {
    return { type: 'PNCounter', p: this.p.toJSON(), n: this.n.toJSON() }
  }

  /** Format version, type tag, then the increments and decrements as vector clock bodies. */
  encode (): Uint8Array {
    return encodeCrdt(CrdtTypeTag.PNCounter, e => { writeVectorClock(e, this.p); writeVectorClock(e, this.n) })
  }
}
