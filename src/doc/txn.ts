/**
 * What one transaction (local or remote) did: the local dots it used, the
 * elements it added and removed (to encode its update), and the keys it
 * touched (for 'change' events).
 *
 * @module
 */
import type { JsonValue } from '../codec/value.js'
import type { Container } from './containers.js'

export interface RemovalRecord { c: Container, loc: string, value: JsonValue, r: number, s: number }

export class Txn {
  depth = 1
  /** HLC timestamp shared by every write of this transaction (0 until needed). */
  time = 0
  /** First and last local seq used (seqEnd < seqStart: none). */
  seqStart = 0
  seqEnd = -1
  /** What the transaction added, per container in first-add order, as its type's module records it (`A` of `ContainerModule`). */
  adds: Map<Container, unknown[]> | null = null
  readonly removals: RemovalRecord[] = []
  /** Touched containers and keys (null: the container as a whole); made on the first touch when observing. */
  touched: Map<Container, Set<string> | null> | null = null
  changed = false

  constructor (
    readonly origin: unknown,
    readonly local: boolean,
    /** Record what is needed to encode the update. */
    readonly recording: boolean,
    /** Record touched keys for 'change'. */
    readonly observing: boolean
  ) {}

  /** Records an add for `c`: under `txn.recording` (for the update), or `txn.observing` for a module whose change delta needs it. */
  add (c: Container, a: unknown): void {
    const adds = (this.adds ??= new Map())
    const list = adds.get(c)
    if (list === undefined) adds.set(c, [a])
    else list.push(a)
  }

  touch (c: Container, key?: string): void {
    this.changed = true
    if (!this.observing) return
    const touched = (this.touched ??= new Map())
    let keys = touched.get(c)
    if (keys === undefined) {
      touched.set(c, keys = key === undefined ? null : new Set())
    }
    if (keys !== null && key !== undefined) keys.add(key)
  }
}
