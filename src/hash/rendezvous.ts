/**
 * Weighted rendezvous (highest random weight) hashing: every node scores
 * every key, and the key goes to the highest score. No ring and no virtual
 * nodes: shares follow the weights exactly in expectation, removing a node
 * moves only its keys, and adding one moves only the keys it now wins. A
 * lookup costs one score per node, so it suits tens to hundreds of nodes.
 *
 * ```ts
 * import { Rendezvous } from 'aegis-replication'
 * const hrw = new Rendezvous()
 * hrw.addNode('hub-a').addNode('hub-b').addNode('hub-c', 2)
 * hrw.getNode('doc:42')     // 'hub-c'
 * hrw.getNodes('doc:42', 2) // ['hub-c', 'hub-a']
 * ```
 *
 * Scores use the logarithmic method (Schindelhauer & Schomaker, "Weighted
 * distributed hash tables", 2005; Resch, "New Hashing Algorithms for Data
 * Storage"): `score = -weight / ln(h)` with `h` uniform in (0, 1), which makes
 * a node win with probability `weight / Σ weights`. `h` comes from the XXH64
 * of the key's UTF-8 bytes xor the XXH64 of the node name, through the
 * MurmurHash3 64-bit finalizer; `ln` is computed with basic arithmetic only,
 * so scores are identical in every runtime. Equal scores are broken by the
 * larger `h`, then by node name, so answers do not depend on the order nodes
 * were added.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import { detLog } from './det-log.js'
import { mix64Top52, xxh64Into, type HashInput } from './hash64.js'

const TWO52 = 4503599627370496

interface NodeEntry {
  weight: number
  hi: number
  lo: number
}

const pair = /* @__PURE__ */ new Uint32Array(2)

/** Weighted rendezvous hashing. See the module documentation. */
export class Rendezvous {
  private readonly entries = new Map<string, NodeEntry>()
  /** Node names in sorted order; the arrays below are parallel to it. */
  private names: string[] = []
  private his = new Uint32Array(0)
  private los = new Uint32Array(0)
  private weights = new Float64Array(0)
  private scores = new Float64Array(0)
  private draws = new Float64Array(0)
  private dirty = false

  /**
   * Add `node`, or change its weight if it is already present.
   *
   * @param weight - relative capacity, a finite number > 0. @default 1
   * @throws {InvalidArgumentError} on a bad weight.
   */
  addNode (node: string, weight = 1): this {
    if (typeof node !== 'string') throw new InvalidArgumentError(`node must be a string, got ${typeof node}`)
    if (typeof weight !== 'number' || !(weight > 0) || weight === Infinity) {
      throw new InvalidArgumentError(`weight must be a finite number > 0, got ${String(weight)}`)
    }
    const old = this.entries.get(node)
    if (old !== undefined) {
      if (old.weight !== weight) { old.weight = weight; this.dirty = true }
      return this
    }
    xxh64Into(node, pair)
    this.entries.set(node, { weight, hi: pair[0], lo: pair[1] })
    this.dirty = true
    return this
  }

  /** Remove `node`; returns whether it was present. Only its keys move. */
  removeNode (node: string): boolean {
    const had = this.entries.delete(node)
    if (had) this.dirty = true
    return had
  }

  /** Whether `node` is present. */
  has (node: string): boolean {
    return this.entries.has(node)
  }

  /** The weight `node` was added with, or `undefined`. */
  weightOf (node: string): number | undefined {
    return this.entries.get(node)?.weight
  }

  /** The nodes, sorted. */
  get nodes (): string[] {
    if (this.dirty) this.rebuild()
    return this.names.slice()
  }

  /** The number of nodes. */
  get size (): number {
    return this.entries.size
  }

  /** The node with the highest score for `key`, or `undefined` if there are none. */
  getNode (key: HashInput): string | undefined {
    if (this.dirty) this.rebuild()
    const n = this.names.length
    if (n === 0) return undefined
    xxh64Into(key, pair)
    const kh = pair[0]
    const kl = pair[1]
    const { his, los, weights } = this
    let best = 0
    let bestScore = -1
    let bestDraw = -1
    for (let i = 0; i < n; i++) {
      const x = mix64Top52((kh ^ his[i]) >>> 0, (kl ^ los[i]) >>> 0)
      const s = weights[i] / -detLog((x + 0.5) / TWO52)
      if (s > bestScore || (s === bestScore && x > bestDraw)) {
        best = i; bestScore = s; bestDraw = x
      }
    }
    return this.names[best]
  }

  /**
   * The `n` nodes with the highest scores for `key`, best first (fewer if
   * there are fewer nodes). The first is {@link Rendezvous.getNode}'s answer.
   *
   * @throws {InvalidArgumentError} if `n` is not a non-negative integer.
   */
  getNodes (key: HashInput, n: number): string[] {
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`n must be a non-negative integer, got ${String(n)}`)
    if (this.dirty) this.rebuild()
    const size = this.names.length
    const want = Math.min(n, size)
    if (want === 0) return []
    xxh64Into(key, pair)
    const kh = pair[0]
    const kl = pair[1]
    const { his, los, weights, scores, draws } = this
    for (let i = 0; i < size; i++) {
      const x = mix64Top52((kh ^ his[i]) >>> 0, (kl ^ los[i]) >>> 0)
      draws[i] = x
      scores[i] = weights[i] / -detLog((x + 0.5) / TWO52)
    }
    // selection of the top `want`: taken entries get score -1 (real scores are > 0)
    const out: string[] = []
    while (out.length < want) {
      let best = -1
      let bestScore = -1
      let bestDraw = -1
      for (let i = 0; i < size; i++) {
        const s = scores[i]
        if (s > bestScore || (s === bestScore && s >= 0 && draws[i] > bestDraw)) {
          best = i; bestScore = s; bestDraw = draws[i]
        }
      }
      scores[best] = -1
      out.push(this.names[best])
    }
    return out
  }

  private rebuild (): void {
    const names = [...this.entries.keys()].sort()
    const n = names.length
    this.his = new Uint32Array(n)
    this.los = new Uint32Array(n)
    this.weights = new Float64Array(n)
    this.scores = new Float64Array(n)
    this.draws = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      const e = this.entries.get(names[i])!
      this.his[i] = e.hi
      this.los[i] = e.lo
      this.weights[i] = e.weight
    }
    this.names = names
    this.dirty = false
  }
}
