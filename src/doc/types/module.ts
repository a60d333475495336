/**
 * The contract of one container type's module. The Doc and the update
 * codec know the tree (roots, maps nesting containers), the replica table,
 * the causal context, removals by dot and the format framing; everything
 * specific to a type (its live elements, their wire encoding, how remote
 * ones merge, what a change reports) lives in its module under `types/`,
 * found by {@link ContainerType} in the registry (`types/index.ts`).
 *
 * A new type (Text = 4, List = 5) plugs in by writing one module and
 * adding it to the registry; no other module changes. Such a type sets
 * `format: 2`, and updates holding it are written as format 2, whose
 * container sections are length-prefixed.
 *
 * @module
 */
import type * as encoding from 'lib0/encoding'
import type { Decoder } from '../../codec/reader.js'
import type { JsonValue } from '../../codec/value.js'
import type { SeqDelta } from '../../seq/sequence-api.js'
import type { Container, ContainerType, MapContainer, ValueEntry } from '../containers.js'
import type { DotClock } from '../dot-clock.js'
import type { Txn } from '../txn.js'

/** Whether a dot `(r, s)` (local replica index, seq) is held. */
export type HasDot = (r: number, s: number) => boolean
/** `a` wins over `b` under last-writer-wins (HLC time, then replica id, then seq). */
export type Newer = (a: ValueEntry, b: ValueEntry) => boolean
/** The update format versions this build writes and reads. */
export type FormatVersion = 1 | 2

/** What the Doc gives a module when it creates a container. */
export interface ContainerEnv {
  /**
   * Orders two local replica indices by their replica id strings (negative
   * when `a` comes first): the same on every replica whatever its local
   * indices (sequence types break ties between concurrent inserts with it).
   */
  compareReplicas: (a: number, b: number) => number
}

/** What a module reports for one container a transaction changed (becomes a `DocChange` with its path). */
export interface ContainerChange {
  /** For maps: the keys whose value changed. */
  keys?: string[]
  /** For sequences: the visible change as a Quill-shaped delta. */
  delta?: SeqDelta
}

/**
 * What `integrate` gets besides the decoded payload: the receiving doc's
 * replica mapping, causal context and transaction.
 */
export interface IntegrateCtx<C extends Container> {
  /** Local replica index of each wire replica index of the update. */
  readonly rmap: readonly number[]
  /** The doc's causal context: skip elements whose dot it has (seen, maybe removed since). */
  readonly cc: DotClock
  /** The remote transaction (touch what changed; record adds when `txn.recording`). */
  readonly txn: Txn
  readonly newer: Newer
  /** The local container, created (with its path) on the first call: call it only when something is new. */
  container (): C
  /** Adds dot `(r, s)` (local index) to the causal context once every container of the update is integrated. */
  seen (r: number, s: number): void
  /** Adds the dots `start … end` of replica `r` (local index) likewise: one call for a whole run. */
  seenRange (r: number, start: number, end: number): void
  /** Reports an HLC timestamp of an added element (the doc's clock moves past it). */
  time (t: number): void
}

/**
 * One container type. `C`: its container class; `P`: its decoded or
 * to-encode payload (the elements of one container in one update, replica
 * indices wire-side after `decode`, local before `encode`); `A`: what a
 * local or remote transaction records in `txn.adds` for it.
 */
export interface ContainerModule<C extends Container = Container, P = unknown, A = unknown> {
  readonly type: ContainerType
  /** The name in `DocChange.type`. */
  readonly name: string
  /** The lowest update format that can carry this type: 1 for map, counter, set, register; 2 for text, list and later. */
  readonly format: FormatVersion
  /** A new empty container at `key` of `parent` (null: a root named `key`). */
  create (parent: MapContainer | null, key: string, env: ContainerEnv): C

  // ---------------------------------------------------------- encoding
  /**
   * The live elements of `c` a peer lacks, or null when none: with
   * `peerHas` null, everything; else calls `keep(r, s)` for each live dot
   * the peer already has (it then knows not to drop it).
   */
  statePart (c: C, peerHas: HasDot | null, keep: (r: number, s: number) => void): P | null
  /** The elements the transaction's records `adds` (all for `c`) added that are still live, or null. */
  deltaPart (c: C, adds: readonly A[]): P | null
  /**
   * Writes `p` (null: nothing, the container is only named for its
   * children or removals); `w` maps a local replica index to the wire.
   */
  encode (e: encoding.Encoder, p: P | null, w: (r: number) => number): void
  /** Reads and fully validates what `encode` wrote (throws `DecodeError`); wire replica indices are < `nReplicas`. */
  decode (d: Decoder, nReplicas: number): P
  /** Calls `f` with every dot (wire replica index, seq) of a decoded payload (for state updates: what the sender still holds). */
  forEachDot (p: P, f: (w: number, s: number) => void): void
  /** The largest HLC timestamp in a decoded payload (0: none). */
  maxTime (p: P): number

  // ---------------------------------------------------------- integration
  /**
   * Merges a decoded remote payload: adds what `ctx.cc` has not seen,
   * reports new dots with `ctx.seen`/`ctx.seenRange`, touches `ctx.txn`
   * and records adds when recording. May keep elements it cannot place yet
   * (a sequence run whose origins are missing) and place them on a later call.
   */
  integrate (p: P, ctx: IntegrateCtx<C>): void

  // ---------------------------------------------------------- removals (by dot: map, counter, set, register)
  /** Writes a removal's location: a map key, a set element, or nothing. */
  writeLoc (e: encoding.Encoder, loc: string, value: JsonValue): void
  /** Reads what `writeLoc` wrote: the location and, for sets, the element. */
  readLoc (d: Decoder): { loc: string, value: JsonValue }
  /** Removes the element with dot `(r, s)` at `loc`; true if it was there. */
  removeDot (c: C, loc: string, r: number, s: number, newer: Newer): boolean
  /** Removes every element whose dot is `dead` (state updates: seen by the sender, no longer held); records the removals. */
  scanRemove (c: C, dead: HasDot, txn: Txn, newer: Newer): boolean
  /** Removes every element of `c` itself (not its children); records the removals. */
  clear (c: C, txn: Txn): boolean

  // ---------------------------------------------------------- events and JSON
  /**
   * What to report in the 'change' event for `c`; `keys`: the touched keys
   * (null: the whole container). Called once per touched container at the
   * end of a transaction that is observed (`txn.observing`). A sequence
   * builds its `delta` from what it recorded during the transaction: with
   * `txn.add` when `txn.recording || txn.observing`, or in its core (start
   * recording on the first touch of `c` in `txn`: `txn.touched?.has(c)` is
   * false until then).
   */
  collectChanges (c: C, keys: ReadonlySet<string> | null, txn: Txn): ContainerChange
  toJSON (c: C): JsonValue
}

/** A module of any type, as the registry holds them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyContainerModule = ContainerModule<Container, any, any>
