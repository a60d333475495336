/**
 * Id → piece lookup: per replica, the pieces sorted by first sequence
 * number, in buckets of at most {@link BUCKET_MAX} pieces (so a split is a
 * small splice), found by two binary searches.
 *
 * @module
 */
import type { Piece } from './tree.js'

const BUCKET_MAX = 128

/** Last bucket index whose first piece starts at or before `s`, or -1. */
const floorBucket = (a: Piece[][], s: number): number => {
  let lo = 0
  let hi = a.length - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (a[mid][0].s <= s) { found = mid; lo = mid + 1 } else hi = mid - 1
  }
  return found
}

/** Last piece index in a bucket starting at or before `s`, or -1. */
const floorPiece = (a: Piece[], s: number): number => {
  let lo = 0
  let hi = a.length - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (a[mid].s <= s) { found = mid; lo = mid + 1 } else hi = mid - 1
  }
  return found
}

export class IdIndex {
  /** Per replica index: buckets of pieces, sorted by `s`, disjoint. */
  readonly byReplica: Array<Piece[][] | undefined> = []
  /** The last piece found (a one-entry cache; checked against the piece's current range). */
  private last: Piece | null = null

  /** The piece holding element `(r, s)`, or `null`. */
  find (r: number, s: number): Piece | null {
    const last = this.last
    if (last !== null && last.r === r && s >= last.s && s < last.s + last.len && last.leaf !== null) return last
    const buckets = this.byReplica[r]
    if (buckets === undefined) return null
    const bi = floorBucket(buckets, s)
    if (bi < 0) return null
    const b = buckets[bi]
    const p = b[floorPiece(b, s)]
    if (s >= p.s + p.len) return null
    this.last = p
    return p
  }

  /** The first piece of replica `r` starting after `s`, or `null`. */
  nextAfter (r: number, s: number): Piece | null {
    const buckets = this.byReplica[r]
    if (buckets === undefined || buckets.length === 0) return null
    let bi = floorBucket(buckets, s)
    if (bi < 0) return buckets[0][0]
    const b = buckets[bi]
    const pi = floorPiece(b, s) + 1
    if (pi < b.length) return b[pi]
    bi++
    return bi < buckets.length ? buckets[bi][0] : null
  }

  /** Pieces of replica `r` overlapping `[a, b]`, in `s` order. */
  overlapping (r: number, a: number, b: number): Piece[] {
    const out: Piece[] = []
    const first = this.find(r, a)
    let p: Piece | null = first ?? this.nextAfter(r, a)
    while (p !== null && p.s <= b) {
      out.push(p)
      p = this.nextAfter(r, p.s)
    }
    return out
  }

  /** Adds a piece whose ids are not held yet. */
  add (p: Piece): void {
    let buckets = this.byReplica[p.r]
    if (buckets === undefined) buckets = this.byReplica[p.r] = []
    const bi = floorBucket(buckets, p.s)
    if (bi < 0) {
      if (buckets.length > 0 && buckets[0].length < BUCKET_MAX) buckets[0].unshift(p)
      else buckets.unshift([p])
      return
    }
    const b = buckets[bi]
    b.splice(floorPiece(b, p.s) + 1, 0, p)
    if (b.length > BUCKET_MAX) buckets.splice(bi + 1, 0, b.splice(b.length >> 1))
  }

  /** Removes a piece (merged into its predecessor). */
  remove (p: Piece): void {
    const buckets = this.byReplica[p.r]!
    const bi = floorBucket(buckets, p.s)
    const b = buckets[bi]
    b.splice(floorPiece(b, p.s), 1)
    if (b.length === 0) buckets.splice(bi, 1)
  }

  /** Every piece of replica `r` in `s` order. */
  * pieces (r: number): Generator<Piece> {
    const buckets = this.byReplica[r]
    if (buckets === undefined) return
    for (const b of buckets) yield * b
  }
}
