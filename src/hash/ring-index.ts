/**
 * The sorted points of a {@link HashRing} and the nearest-point search over
 * them. Internal to `src/hash/`.
 *
 * Points sit in a `Uint32Array` sorted by position (equal positions by owner
 * index, that is by node name), with a parallel array of owners. A bucket
 * table over the top bits of a position gives the range of points in each
 * slice of the ring: with about two slices per point, a search looks at a
 * range of 0–2 points instead of binary-searching all of them, and
 * allocates nothing.
 *
 * @module
 */

const TWO32 = 4294967296
/** Owner indexes are packed below the 32-bit position in a double for sorting. */
export const OWNER_LIMIT = 2097152 // 2^21
/** At most 2^20 slices (4 MiB of table); beyond that a slice holds more points. */
const MAX_TABLE_BITS = 20

/** The sorted points of a ring; see the module documentation. */
export class RingIndex {
  /** Positions, ascending. */
  readonly points: Uint32Array
  /** `owners[i]` is the index (into the sorted names) of the node of `points[i]`. */
  readonly owners: Uint32Array
  /** `table[j]` is the first point at or after slice j; `table[slices]` is the point count. */
  private readonly table: Uint32Array
  /** A position's slice is `x >>> shift`. */
  private readonly shift: number

  /** @param pointsOf - the points of each owner, in owner index order. */
  constructor (pointsOf: readonly Uint32Array[]) {
    let total = 0
    for (const pts of pointsOf) total += pts.length
    const packed = new Float64Array(total)
    let p = 0
    for (let o = 0; o < pointsOf.length; o++) {
      const pts = pointsOf[o]
      for (let k = 0; k < pts.length; k++) packed[p++] = pts[k] * OWNER_LIMIT + o
    }
    packed.sort()
    const points = new Uint32Array(total)
    const owners = new Uint32Array(total)
    for (let i = 0; i < total; i++) {
      const v = packed[i]
      const o = v % OWNER_LIMIT
      owners[i] = o
      points[i] = (v - o) / OWNER_LIMIT
    }
    let bits = 1
    while (bits < MAX_TABLE_BITS && 2 ** bits < 2 * total) bits++
    const slices = 2 ** bits
    const shift = 32 - bits
    const width = TWO32 / slices
    const table = new Uint32Array(slices + 1)
    let i = 0
    for (let j = 0; j <= slices; j++) {
      const start = j * width
      while (i < total && points[i] < start) i++
      table[j] = i
    }
    this.points = points
    this.owners = owners
    this.table = table
    this.shift = shift
  }

  /** The number of points. */
  get length (): number {
    return this.points.length
  }

  /** The index of the first point at or after position `x` (`length` if none). */
  lowerBound (x: number): number {
    const { points, table } = this
    const j = x >>> this.shift
    let lo = table[j]
    let hi = table[j + 1]
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (points[mid] < x) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /**
   * The index of the point nearest to `x`, in either direction around the
   * ring (ties: the point after `x`), or -1 if there are no points; its
   * distance is left in {@link RingIndex.distance}.
   */
  nearest (x: number): number {
    const n = this.points.length
    if (n === 0) return -1
    const lo = this.lowerBound(x)
    const next = lo === n ? 0 : lo
    const prev = (lo === 0 ? n : lo) - 1
    const dNext = (this.points[next] - x) >>> 0
    const dPrev = (x - this.points[prev]) >>> 0
    if (dNext <= dPrev) {
      this.distance = dNext
      return next
    }
    this.distance = dPrev
    return prev
  }

  /** The distance found by the last {@link RingIndex.nearest}. */
  distance = 0
}
