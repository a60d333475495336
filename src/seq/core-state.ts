/**
 * The mutable state of one sequence and its primitive edits (split a piece,
 * delete a piece, merge deleted neighbours, locate a visible index). The
 * public operations in `sequence.ts`, `integrate.ts` and `sync.ts` are
 * built on these.
 *
 * @module
 */
import type { DeltaRecorder } from './delta.js'
import { IdIndex } from './id-index.js'
import { type Content, sameId, sliceContent } from './content.js'
import type { IdRanges, SeqKind } from './sequence-api.js'
import { Piece, PieceTree } from './tree.js'

/** How far the cursor cache walks from the last edit before using the tree. */
const CACHE_WALK = 8

export class CoreState {
  readonly tree = new PieceTree()
  readonly ids = new IdIndex()
  /** Deleted ids not held yet, per replica index (normalised pairs). */
  pending: IdRanges = []
  recorder: DeltaRecorder | null = null
  /** Scan epoch for `Piece.mark`. */
  epoch = 0
  /** Whether any text content held so far had a surrogate code unit (boundary checks are skipped until then). */
  surrogates = false
  private cache: Piece | null = null
  private cacheStart = 0

  constructor (readonly kind: SeqKind, readonly compareReplicas: (a: number, b: number) => number) {}

  /** Notes content that may hold surrogates. */
  noteContent (c: Content): void {
    if (this.surrogates || typeof c !== 'string') return
    for (let i = 0; i < c.length; i++) {
      const u = c.charCodeAt(i)
      if (u >= 0xd800 && u <= 0xdfff) { this.surrogates = true; return }
    }
  }

  setCache (piece: Piece | null, visStart: number): void {
    this.cache = piece
    this.cacheStart = visStart
  }

  /** The piece holding visible element `index` (0 ≤ index < length) and the offset in it. */
  locate (index: number): { piece: Piece, offset: number } {
    let p = this.cache
    if (p !== null && p.leaf !== null) {
      let st = this.cacheStart
      for (let k = 0; k < CACHE_WALK && p !== null; k++) {
        if (index >= st && index < st + p.vis) {
          this.cache = p
          this.cacheStart = st
          return { piece: p, offset: index - st }
        }
        if (index >= st) {
          st += p.vis
          p = p.next
        } else {
          p = p.prev
          if (p !== null) st -= p.vis
        }
      }
    }
    const found = this.tree.findVisible(index)!
    this.cache = found.piece
    this.cacheStart = index - found.offset
    return found
  }

  /** Splits `p` before its element `offset` (0 < offset < len); returns the second part. */
  split (p: Piece, offset: number): Piece {
    const c = p.content
    const q = new Piece(p.r, p.s + offset, p.len - offset, { r: p.r, s: p.s + offset - 1 }, p.right,
      c === null ? null : sliceContent(c, offset))
    if (c !== null) {
      p.content = sliceContent(c, 0, offset)
      this.tree.addVis(p, -(p.len - offset))
    }
    p.len = offset
    this.tree.insertAfter(p, q)
    this.ids.add(q)
    return q
  }

  /** The piece whose last element is `(r, s)` (held), splitting as needed. */
  endingAt (r: number, s: number): Piece {
    const p = this.ids.find(r, s)!
    const off = s - p.s + 1
    if (off < p.len) this.split(p, off)
    return p
  }

  /** The piece whose first element is `(r, s)` (held), splitting as needed. */
  startingAt (r: number, s: number): Piece {
    const p = this.ids.find(r, s)!
    return s === p.s ? p : this.split(p, s - p.s)
  }

  /** Marks a live piece deleted (recording the delta); returns the piece left after merging. */
  deletePiece (p: Piece): Piece {
    if (this.recorder !== null) this.recorder.delete(this.tree.visibleBefore(p), p.len)
    this.tree.addVis(p, -p.len)
    p.content = null
    let q = this.mergeDeleted(p.prev, p)
    const next = q.next
    if (next !== null && next.content === null) q = this.mergeDeleted(q, next)
    return q
  }

  /** Merges `b` into `a` when both are deleted and `b` continues `a`'s run; returns what remains of `b`. */
  mergeDeleted (a: Piece | null, b: Piece): Piece {
    if (a === null || a.content !== null || b.content !== null || !continues(a, b)) return b
    this.ids.remove(b)
    this.tree.remove(b)
    a.len += b.len
    if (this.cache === b) this.cache = a
    return a
  }

  /** Inserts a new piece after `after` (`null`: at the start), extending `after` when `p` continues it. */
  place (after: Piece | null, p: Piece): Piece {
    if (after !== null && continues(after, p) && (after.content === null) === (p.content === null)) {
      if (p.content !== null) {
        after.content = typeof after.content === 'string' ? after.content + (p.content as string) : (after.content as unknown[]).concat(p.content) as Content
        this.tree.addVis(after, p.len)
      }
      after.len += p.len
      return after
    }
    this.tree.insertAfter(after, p)
    this.ids.add(p)
    return p
  }
}

/** Whether `b`'s first element continues `a`'s run (same replica, next id, same origins). */
export const continues = (a: Piece, b: Piece): boolean =>
  a.r === b.r && b.s === a.s + a.len && b.left !== null && b.left.r === a.r && b.left.s === b.s - 1 &&
  sameId(a.right, b.right)
