/**
 * A consistent hash ring of named nodes with virtual nodes, weights and
 * replica sets of distinct physical nodes.
 *
 * ```ts
 * import { HashRing } from 'aegis-replication'
 * const ring = new HashRing()
 * ring.addNode('hub-a').addNode('hub-b').addNode('hub-c', 2) // hub-c: twice the share
 * ring.getNode('doc:42')     // 'hub-c'
 * ring.getNodes('doc:42', 2) // ['hub-c', 'hub-b']
 * ```
 *
 * Placement. A plain ring (each node at `vnodesPerNode` random points, a key
 * owned by the next point clockwise) gives a node a share that varies by
 * about 1/√V: with 150 points and 10 nodes the busiest node carries ~13% more
 * than the mean. Two changes, both deterministic and independent of the
 * order nodes are added, bring that to ~4%:
 *
 * - Jittered (stratified) points: a node with V points puts its k-th point at
 *   a hashed offset inside the k-th of V equal arcs, `(k + u_k) / V` of the
 *   ring, so its points are spread evenly instead of clumping.
 * - Multi-probe lookup (after Appleton & O'Reilly, "Multi-probe consistent
 *   hashing", 2015, with V points per node instead of one): a key is hashed
 *   to `probes` positions, and goes to the point nearest to any of them (in
 *   either direction). Short arcs and long arcs then win keys at more equal
 *   rates, so a node's share follows its number of points.
 *
 * Adding a node only moves keys to the new node, and removing one only moves
 * the keys it held: a key's answer changes only if its nearest point changed,
 * and points of other nodes never move. Positions are 32-bit, keys are hashed
 * with XXH32 of their UTF-8 bytes, node points come from XXH64 of the node
 * name, and equal positions are ordered by node name, so the same node set
 * gives the same answers in every runtime.
 *
 * Lookups find the nearest point through a bucket table over a sorted
 * `Uint32Array` of points (`ring-index.ts`) in about constant time, and
 * allocate nothing (`getNodes` allocates its result).
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import { mix64Top52, xxh64Into, type HashInput } from './hash64.js'
import { OWNER_LIMIT, RingIndex } from './ring-index.js'
import { mix32, xxh32 } from './xxh32.js'

/** Options of a {@link HashRing}. */
export interface HashRingOptions {
  /**
   * Positions a key is hashed to; it goes to the point nearest to any of
   * them. 1 makes a ring with nearest-point lookup; more probes balance
   * better and cost one more search each.
   *
   * @default 2
   */
  probes?: number
}

const TWO32 = 4294967296
const TWO52 = 4503599627370496
const MAX_NODES = OWNER_LIMIT
/** Points of one node at most (150 vnodes at weight ~67 000). */
const MAX_POINTS = 10_000_000
const PROBE_SALT = 0x9e3779b9

interface NodeEntry {
  weight: number
  points: Uint32Array
}

const pair = /* @__PURE__ */ new Uint32Array(2)
const EMPTY = /* @__PURE__ */ new RingIndex([])

/** The `count` jittered points of `node`: the k-th lies in the k-th of `count` equal arcs. */
const nodePoints = (node: string, count: number): Uint32Array => {
  xxh64Into(node, pair)
  const hi = pair[0]
  const lo = pair[1]
  const points = new Uint32Array(count)
  const arc = TWO32 / count
  for (let k = 0; k < count; k++) {
    const u = mix64Top52(hi, (lo + k) >>> 0) / TWO52 // [0, 1), exact
    // rounding may reach 2^32 for the last arc: that wraps to 0, the same place on the ring
    points[k] = Math.floor((k + u) * arc) >>> 0
  }
  return points
}

const checkWeight = (weight: number): void => {
  if (typeof weight !== 'number' || !(weight > 0) || weight === Infinity) {
    throw new InvalidArgumentError(`weight must be a finite number > 0, got ${String(weight)}`)
  }
}

/** A consistent hash ring. See the module documentation. */
export class HashRing {
  /** Points per node of weight 1. */
  readonly vnodesPerNode: number
  /** Positions each key is hashed to. */
  readonly probes: number
  private readonly entries = new Map<string, NodeEntry>()
  /** Node names in sorted order; the index's owners index into it. */
  private names: string[] = []
  private index = EMPTY
  private dirty = false
  /** For `getNodes`: `seen[i] === stamp` marks node i as already taken. */
  private seen = new Uint32Array(0)
  private stamp = 0

  /**
   * @param vnodesPerNode - points on the ring per node of weight 1, an
   *   integer in [1, 1 000 000]. @default 150
   * @throws {InvalidArgumentError} if `vnodesPerNode` or `options.probes` is
   *   out of range.
   */
  constructor (vnodesPerNode = 150, options: HashRingOptions = {}) {
    if (!Number.isInteger(vnodesPerNode) || vnodesPerNode < 1 || vnodesPerNode > 1_000_000) {
      throw new InvalidArgumentError(`vnodesPerNode must be an integer in [1, 1000000], got ${String(vnodesPerNode)}`)
    }
    const probes = options.probes ?? 2
    if (!Number.isInteger(probes) || probes < 1 || probes > 64) {
      throw new InvalidArgumentError(`probes must be an integer in [1, 64], got ${String(probes)}`)
    }
    this.vnodesPerNode = vnodesPerNode
    this.probes = probes
  }

  /**
   * Add `node`, or change its weight if it is already on the ring. It gets
   * `max(1, round(vnodesPerNode * weight))` points, so a share of keys
   * roughly proportional to its weight.
   *
   * @param weight - relative capacity, a finite number > 0. @default 1
   * @throws {InvalidArgumentError} on a bad node name or weight, more than
   *   10 000 000 points for one node, or past 2^21 nodes.
   */
  addNode (node: string, weight = 1): this {
    if (typeof node !== 'string') throw new InvalidArgumentError(`node must be a string, got ${typeof node}`)
    checkWeight(weight)
    const old = this.entries.get(node)
    if (old !== undefined && old.weight === weight) return this
    if (old === undefined && this.entries.size >= MAX_NODES) {
      throw new InvalidArgumentError(`a HashRing holds at most ${MAX_NODES} nodes`)
    }
    const count = Math.max(1, Math.round(this.vnodesPerNode * weight))
    if (count > MAX_POINTS) {
      throw new InvalidArgumentError(`weight ${weight} gives ${count} points to one node; at most ${MAX_POINTS} are allowed`)
    }
    const points = old !== undefined && old.points.length === count ? old.points : nodePoints(node, count)
    this.entries.set(node, { weight, points })
    this.dirty = true
    return this
  }

  /** Remove `node`; returns whether it was on the ring. Only its keys move. */
  removeNode (node: string): boolean {
    const had = this.entries.delete(node)
    if (had) this.dirty = true
    return had
  }

  /** Whether `node` is on the ring. */
  has (node: string): boolean {
    return this.entries.has(node)
  }

  /** The weight `node` was added with, or `undefined`. */
  weightOf (node: string): number | undefined {
    return this.entries.get(node)?.weight
  }

  /** The nodes on the ring, sorted. */
  get nodes (): string[] {
    if (this.dirty) this.rebuild()
    return this.names.slice()
  }

  /** The number of nodes on the ring. */
  get size (): number {
    return this.entries.size
  }

  /**
   * The node that owns `key`, or `undefined` if the ring is empty.
   *
   * @throws {InvalidArgumentError} if `key` is neither a string nor a `Uint8Array`.
   */
  getNode (key: HashInput): string | undefined {
    const i = this.locate(key)
    return i < 0 ? undefined : this.names[this.index.owners[i]]
  }

  /**
   * Up to `n` distinct nodes for `key`: its owner ({@link HashRing.getNode})
   * first, then the next distinct nodes clockwise from the owner's point.
   * Fewer if the ring holds fewer nodes.
   *
   * @throws {InvalidArgumentError} if `n` is not a non-negative integer or
   *   `key` is neither a string nor a `Uint8Array`.
   */
  getNodes (key: HashInput, n: number): string[] {
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`n must be a non-negative integer, got ${String(n)}`)
    const start = this.locate(key)
    if (start < 0 || n === 0) return []
    const want = Math.min(n, this.names.length)
    const out: string[] = []
    const { seen, names } = this
    const { owners, length } = this.index
    let stamp = (this.stamp + 1) >>> 0
    if (stamp === 0) { seen.fill(0); stamp = 1 }
    this.stamp = stamp
    for (let i = start; out.length < want; i = i + 1 === length ? 0 : i + 1) {
      const o = owners[i]
      if (seen[o] !== stamp) {
        seen[o] = stamp
        out.push(names[o])
      }
    }
    return out
  }

  /** The index of the point that owns `key`, or -1 if the ring is empty. */
  private locate (key: HashInput): number {
    if (this.dirty) this.rebuild()
    const index = this.index
    let x = xxh32(key)
    let best = index.nearest(x)
    let bestDistance = index.distance
    for (let q = 1; q < this.probes && best >= 0; q++) {
      x = mix32(x ^ PROBE_SALT)
      const i = index.nearest(x)
      // ties: the earlier probe
      if (index.distance < bestDistance) { best = i; bestDistance = index.distance }
    }
    return best
  }

  /** Sort all points by position, then by owner name. */
  private rebuild (): void {
    const names = [...this.entries.keys()].sort()
    this.index = new RingIndex(names.map((name) => this.entries.get(name)!.points))
    this.names = names
    if (this.seen.length < names.length) this.seen = new Uint32Array(Math.max(names.length, this.seen.length * 2))
    this.dirty = false
  }
}
