/**
 * The contract between the sequence CRDT core (`src/seq/`) and the Doc
 * (`src/doc/`), so both can be built side by side. The core knows nothing
 * of the Doc's update format framing, handles or events; the Doc knows
 * nothing of runs, trees or the integration rule.
 *
 * Ids are the Doc's dots: `r` is the Doc's local replica index (0 is this
 * replica), `s` a sequence number from the Doc's dot counter. A run of `len`
 * elements inserted at once uses `s … s + len - 1`.
 *
 * Additions to this file are fine; changing an existing member needs a note
 * to whoever builds the other side.
 *
 * @module
 */
import type { JsonValue } from '../codec/value.js'

/** One element's id: the Doc's replica index and dot sequence number. */
export interface SeqId { r: number, s: number }

/** Which container a sequence backs: text counts UTF-16 code units, a list counts values. */
export type SeqKind = 'text' | 'list'

/** Per replica index, sorted inclusive ranges `[start, end, start, end, …]` of ids (the Doc's `Ranges`). */
export type IdRanges = Array<number[] | undefined>

/**
 * A run of consecutive elements inserted by one replica, as it travels in
 * updates: elements `s … s + len - 1` of replica `r`, the first inserted
 * after `left` and before `right` (its origins; `null` is the start or the
 * end of the sequence). A run received from another replica may overlap
 * ids already held (duplicates): integrating it adds only what is new.
 */
export interface SeqRun {
  r: number
  s: number
  /** Elements in the run: UTF-16 code units for text, values for lists. */
  len: number
  left: SeqId | null
  right: SeqId | null
  /** The elements; `null` when every element of the run is deleted (content is not kept nor sent). */
  content: string | JsonValue[] | null
}

/**
 * For {@link SequenceCore.runsSince}: the last id `e` in `s … end` such
 * that every id of `s … e` is held alike (all held, or none) — lets a scan
 * step over a run of ids at once instead of asking `held` id by id.
 */
export type HeldSpan = (r: number, s: number, end: number) => number

/** A Quill-shaped delta against the state before a transaction. */
export type SeqDelta = Array<{ retain: number } | { insert: string | JsonValue[] } | { delete: number }>

/**
 * A position that stays between the same two elements under concurrent
 * edits: the id of the element it is attached to and on which side, or
 * the start / end of the sequence.
 */
export type SeqPosition =
  | { kind: 'id', r: number, s: number, assoc: 'before' | 'after' }
  | { kind: 'start' }
  | { kind: 'end' }

/**
 * The sequence CRDT core the Doc's text and list containers hold. Every
 * method either completes or throws before changing anything.
 */
export interface SequenceCore {
  readonly kind: SeqKind
  /** Visible length: UTF-16 code units for text, values for lists. */
  readonly length: number
  /** Text content (kind 'text'). */
  toString (): string
  /** List content (kind 'list'). */
  toArray (): JsonValue[]
  /** Code unit (text) or value (list) at a visible index; `undefined` past the end. */
  get (index: number): string | JsonValue | undefined
  /** Visible elements `start … end - 1`. */
  slice (start: number, end?: number): string | JsonValue[]

  /**
   * A local insert at a visible index; the caller has checked the index and
   * allocated the ids `s … s + content.length - 1` of replica `r`. Returns
   * the run to put in the update.
   */
  insert (index: number, content: string | JsonValue[], r: number, s: number): SeqRun
  /** A local delete of visible elements `index … index + length - 1`; returns the ids deleted. */
  delete (index: number, length: number): IdRanges

  /** Whether both origins of `run` are held, so it can be integrated now. */
  canIntegrate (run: SeqRun): boolean
  /** Integrates a remote run whose origins are held (duplicates ignored). */
  integrate (run: SeqRun): void
  /** Marks ids deleted; ids not held yet are remembered and apply when they arrive. Idempotent. */
  applyDeletes (ids: IdRanges): void
  /** Whether element `(r, s)` is held (live or deleted). */
  has (r: number, s: number): boolean

  /**
   * Runs holding ids for which `held(r, s)` is false (pass the other
   * side's causal context; `() => false` for full state), in an order in
   * which they can be integrated (origins first). Deleted elements come
   * with `content: null`. With `span`, a run costs O(spans of held /
   * not held ids) rather than O(its length).
   */
  runsSince (held: (r: number, s: number) => boolean, span?: HeldSpan): SeqRun[]
  /** Every deleted id (merged ranges), sent with updates so deletes reach the other side. */
  deleteSet (): IdRanges

  /** Starts recording the visible changes of a transaction. */
  beginDelta (): void
  /** The visible changes since `beginDelta`, or `null` when none. */
  takeDelta (): SeqDelta | null

  /** A position anchored at visible index `index` (see {@link SeqPosition}). */
  relativePosition (index: number, assoc?: 'before' | 'after'): SeqPosition
  /** The current visible index of a position; `null` when its element is not held yet. */
  resolve (position: SeqPosition): number | null
}

/** What the Doc gives a sequence when it creates one. */
export interface SequenceOptions {
  kind: SeqKind
  /**
   * Orders two replica indices by their replica id strings (negative when
   * `a` comes first), so every replica breaks ties between concurrent
   * inserts the same way whatever its local indices.
   */
  compareReplicas: (a: number, b: number) => number
}

/** Creates a sequence core; implemented in `src/seq/`. */
export type CreateSequence = (options: SequenceOptions) => SequenceCore
