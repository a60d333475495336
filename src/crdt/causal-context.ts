/**
 * Causal contexts: the set of dots (events) a replica has seen, kept as a
 * version vector plus a "cloud" of dots beyond it. Size is O(nodes + cloud):
 * once the gaps before cloud dots are filled they fold into the vector.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError } from '../errors.js'
import { type Decoder, decodeWith, readCount, readUint8 } from '../codec/reader.js'
import { assertNodeId, compareStrings, readNodeId } from '../clock/node-id.js'
import { assertUint, readSafeUint } from '../clock/safe-uint.js'
import { VectorClock } from '../clock/vector-clock.js'

/** One event: the `seq`-th event of `node` (seq ≥ 1). Treat as immutable. */
export interface Dot {
  readonly node: string
  readonly seq: number
}

/** A string that identifies a dot (for use as a Map key). */
export const dotKey = (node: string, seq: number): string => `${seq}:${node}`

/** Orders dots by node id, then seq. */
export const compareDots = (a: Dot, b: Dot): number => compareStrings(a.node, b.node) || a.seq - b.seq

/** The leading byte of {@link CausalContext.encode}. */
export const CAUSAL_CONTEXT_VERSION = 1

/** A set of dots: a version vector (dots 1..n of each node) plus a cloud of dots beyond it. */
export class CausalContext {
  /** node → n: dots 1..n are in the set. Invariant: n > 0. */
  private readonly vv = new Map<string, number>()
  /** node → dots > vv(node) + 1. Invariant: non-empty, compact. */
  private readonly cloud = new Map<string, Set<number>>()

  /** Reads a context written by {@link CausalContext.encode}; {@link DecodeError} on bad bytes. */
  static decode (bytes: Uint8Array): CausalContext {
    return decodeWith('CausalContext', bytes, d => {
      const version = readUint8(d, 'version')
      if (version !== CAUSAL_CONTEXT_VERSION) throw new DecodeError(`unsupported version ${version}`)
      return readCausalContext(d)
    })
  }

  /** Adds the dot `(node, seq)`. */
  add (node: string, seq: number): this {
    assertNodeId(node)
    assertUint(seq, 'dot seq', 1)
    return this.addDot({ node, seq })
  }

  /** Adds dots 1..`seq` of `node`. */
  addUpTo (node: string, seq: number): this {
    assertNodeId(node)
    assertUint(seq, 'dot seq')
    if (seq > (this.vv.get(node) ?? 0)) {
      this.vv.set(node, seq)
      this.compactNode(node)
    }
    return this
  }

  /** Adds a dot that is known to be valid (no argument checks). */
  addDot (dot: Dot): this {
    const { node, seq } = dot
    const v = this.vv.get(node) ?? 0
    if (seq <= v) return this
    if (seq === v + 1) {
      this.vv.set(node, seq)
      this.compactNode(node)
    } else {
      let c = this.cloud.get(node)
      if (c === undefined) this.cloud.set(node, (c = new Set()))
      c.add(seq)
    }
    return this
  }

  /** Whether the dot `(node, seq)` is in the set. */
  has (node: string, seq: number): boolean {
    return seq <= (this.vv.get(node) ?? 0) || (this.cloud.get(node)?.has(seq) ?? false)
  }

  /** The highest seq of `node` in the set (0 if none). */
  max (node: string): number {
    let m = this.vv.get(node) ?? 0
    const c = this.cloud.get(node)
    if (c !== undefined) for (const s of c) if (s > m) m = s
    return m
  }

  /** Makes a new dot for `node` (one past the highest it has seen), adds it and returns it. */
  next (node: string): Dot {
    const dot = { node, seq: this.max(node) + 1 }
    assertUint(dot.seq, 'dot seq', 1)
    this.addDot(dot)
    return dot
  }

  /** Union with `other`, in place. */
  merge (other: CausalContext): this {
    if (other === this) return this
    for (const [node, n] of other.vv) {
      if (n > (this.vv.get(node) ?? 0)) {
        this.vv.set(node, n)
        this.compactNode(node)
      }
    }
    for (const [node, seqs] of other.cloud) {
      for (const s of seqs) this.addDot({ node, seq: s })
    }
    return this
  }

  /**
   * Folds cloud dots that follow the version vector into it. `add` and
   * `merge` already keep the context compact, so this is normally a no-op.
   */
  compact (): this {
    for (const node of [...this.cloud.keys()]) this.compactNode(node)
    return this
  }

  private compactNode (node: string): void {
    const c = this.cloud.get(node)
    if (c === undefined) return
    let v = this.vv.get(node) ?? 0
    for (const s of c) if (s <= v) c.delete(s)
    while (c.delete(v + 1)) v++
    if (v > 0) this.vv.set(node, v)
    if (c.size === 0) this.cloud.delete(node)
  }

  /** n such that dots 1..n of `node` are in the set (the version-vector entry). */
  versionEntry (node: string): number { return this.vv.get(node) ?? 0 }

  /** Whether the set is empty. */
  get isEmpty (): boolean { return this.vv.size === 0 && this.cloud.size === 0 }

  /** Number of dots held in the cloud (beyond the version vector). */
  get cloudSize (): number {
    let n = 0
    for (const c of this.cloud.values()) n += c.size
    return n
  }

  /** Every node id that has a dot in the set, sorted. */
  nodes (): string[] {
    const s = new Set(this.vv.keys())
    for (const k of this.cloud.keys()) s.add(k)
    return [...s].sort(compareStrings)
  }

  /** The version-vector part (contiguous dots) as a {@link VectorClock}. */
  versionVector (): VectorClock {
    return VectorClock.from(this.vv)
  }

  equals (other: CausalContext): boolean {
    if (this.vv.size !== other.vv.size || this.cloud.size !== other.cloud.size) return false
    for (const [node, n] of this.vv) if (other.vv.get(node) !== n) return false
    for (const [node, c] of this.cloud) {
      const o = other.cloud.get(node)
      if (o === undefined || o.size !== c.size) return false
      for (const s of c) if (!o.has(s)) return false
    }
    return true
  }

  clone (): CausalContext {
    return new CausalContext().merge(this)
  }

  /** `{ vv: { node: n }, cloud: { node: [seq, …] } }`, sorted. */
  toJSON (): { vv: Record<string, number>, cloud: Record<string, number[]> } {
    const vv: Record<string, number> = {}
    const cloud: Record<string, number[]> = {}
    for (const [node, n] of this.versionEntries()) define(vv, node, n)
    for (const [node, seqs] of this.cloudEntries()) define(cloud, node, seqs)
    return { vv, cloud }
  }

  /** Version byte {@link CAUSAL_CONTEXT_VERSION}, then {@link writeCausalContext}. */
  encode (): Uint8Array {
    const e = encoding.createEncoder()
    encoding.writeUint8(e, CAUSAL_CONTEXT_VERSION)
    writeCausalContext(e, this)
    return encoding.toUint8Array(e)
  }

  /** The version-vector part as sorted `[node, n]` pairs (dots 1..n of node). */
  versionEntries (): Array<[string, number]> {
    return [...this.vv].sort((a, b) => compareStrings(a[0], b[0]))
  }

  /** The cloud as sorted `[node, ascending seqs]` pairs. */
  cloudEntries (): Array<[string, number[]]> {
    return [...this.cloud]
      .sort((a, b) => compareStrings(a[0], b[0]))
      .map(([node, c]) => [node, [...c].sort((a, b) => a - b)])
  }
}

const define = <V>(o: Record<string, V>, k: string, v: V): void => {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
}

/**
 * Writes the version vector (count, sorted `(node, n)` pairs), then the
 * cloud (count of nodes, sorted; per node its id, a count and the ascending
 * seqs as gaps from the previous one, the first from the vector).
 */
export const writeCausalContext = (e: encoding.Encoder, cc: CausalContext): void => {
  const vv = cc.versionEntries()
  encoding.writeVarUint(e, vv.length)
  for (const [node, n] of vv) {
    encoding.writeVarString(e, node)
    encoding.writeVarUint(e, n)
  }
  const cloud = cc.cloudEntries()
  encoding.writeVarUint(e, cloud.length)
  for (const [node, seqs] of cloud) {
    encoding.writeVarString(e, node)
    encoding.writeVarUint(e, seqs.length)
    let prev = cc.versionEntry(node)
    for (const s of seqs) {
      encoding.writeVarUint(e, s - prev)
      prev = s
    }
  }
}

/** Reads what {@link writeCausalContext} wrote; node ids strictly ascending, gaps ≥ 1. */
export const readCausalContext = (d: Decoder): CausalContext => {
  const cc = new CausalContext()
  const n = readCount(d, 'context entries', 2)
  let prev: string | undefined
  for (let i = 0; i < n; i++) {
    const node = readNodeId(d)
    if (prev !== undefined && compareStrings(prev, node) >= 0) throw new DecodeError('context entries are not strictly sorted by node id')
    prev = node
    cc.addUpTo(node, readSafeUint(d, 'context seq', 1))
  }
  const m = readCount(d, 'cloud nodes', 3)
  prev = undefined
  for (let i = 0; i < m; i++) {
    const node = readNodeId(d)
    if (prev !== undefined && compareStrings(prev, node) >= 0) throw new DecodeError('cloud nodes are not strictly sorted by node id')
    prev = node
    const k = readCount(d, 'cloud dots', 1)
    if (k === 0) throw new DecodeError(`empty cloud for node ${JSON.stringify(node)}`)
    // gaps count from the vector as written (before this node's cloud folds into it)
    let seq = cc.versionEntry(node)
    for (let j = 0; j < k; j++) {
      seq += readSafeUint(d, 'cloud gap', 1)
      if (!Number.isSafeInteger(seq)) throw new DecodeError('cloud seq is out of range')
      cc.addDot({ node, seq })
    }
  }
  return cc
}
