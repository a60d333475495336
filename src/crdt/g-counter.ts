/**
 * Grow-only counter: one non-decreasing count per node, merged by
 * pointwise maximum.
 *
 * ```ts
 * const a = new GCounter('alice'), b = new GCounter('bob')
 * b.merge(a.increment(2)); b.increment()
 * b.value() // 3
 * ```
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import { VectorClock, readVectorClock, writeVectorClock } from '../clock/vector-clock.js'
import { addSafe } from '../clock/safe-uint.js'
import { assertSameType, decodeCrdt, encodeCrdt, CrdtTypeTag, optionalNodeId, requireNodeId } from './format.js'

/** Checks an increment amount: a non-negative safe integer. */
export const assertAmount = (n: unknown): number => {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError(`amount must be a non-negative safe integer, got ${String(n)}`)
  }
  return n
}

/** A grow-only counter (delta-state). */
export class GCounter {
  /** The replica that writes here; undefined for a merge-and-read-only replica. */
  readonly nodeId: string | undefined
  private readonly counts: VectorClock

  constructor (nodeId?: string, counts = new VectorClock()) {
    this.nodeId = optionalNodeId(nodeId)
    this.counts = counts
  }

  /** Reads an encoding of {@link GCounter.encode}; {@link DecodeError} on bad bytes. */
  static decode (bytes: Uint8Array, nodeId?: string): GCounter {
    return new GCounter(nodeId, decodeCrdt('GCounter', bytes, readVectorClock))
  }

  /** Adds `n` (a non-negative integer) for this node; returns the delta. */
  increment (n = 1): GCounter {
    const node = requireNodeId(this.nodeId, 'GCounter')
    assertAmount(n)
    const delta = new GCounter(node)
    if (n === 0) return delta
    const total = addSafe(this.counts.get(node), n, 'counter')
    this.counts.set(node, total)
    delta.counts.set(node, total)
    return delta
  }

  /** The sum over all nodes. */
  value (): number {
    let sum = 0
    for (const [, n] of this.counts.entries()) sum += n
    return sum
  }

  /** The count contributed by `node`. */
  get (node: string): number { return this.counts.get(node) }

  /** Join (pointwise max), in place. */
  merge (other: GCounter): this {
    assertSameType(other, GCounter)
    this.counts.merge(other.counts)
    return this
  }

  clone (): GCounter { return new GCounter(this.nodeId, this.counts.clone()) }

  /** The full state: `{ type: 'GCounter', counts: { node: n } }`. */
  toJSON (): { type: 'GCounter', counts: Record<string, number> } {
    return { type: 'GCounter', counts: this.counts.toJSON() }
  }

  /** Format version, type tag, then the counts as a vector clock body. */
  encode (): Uint8Array {
    return encodeCrdt(CrdtTypeTag.GCounter, e => writeVectorClock(e, this.counts))
  }
}
