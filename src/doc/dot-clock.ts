/**
 * The Doc's causal context over local replica indices: per replica the
 * contiguous prefix of seen sequence numbers (the version vector) plus the
 * dots seen beyond it (the cloud, as sorted disjoint ranges, so a run of
 * thousands of ids costs one range). Removals live here, not in tombstones.
 *
 * @module
 */

/** Index of the first range of `a` (flat `[start, end, …]`) whose end is ≥ s. */
const lowerRange = (a: readonly number[], s: number): number => {
  let lo = 0
  let hi = a.length >> 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (a[mid * 2 + 1] < s) lo = mid + 1
    else hi = mid
  }
  return lo
}

export class DotClock {
  /** vv[r]: every seq 1..vv[r] of replica r has been seen. */
  readonly vv: number[] = []
  /** Dots seen beyond vv[r] + 1, per replica: sorted, disjoint, non-adjacent inclusive ranges `[start, end, …]`. */
  readonly cloud: Array<number[] | undefined> = []

  has (r: number, s: number): boolean {
    if (s <= (this.vv[r] ?? 0)) return true
    const c = this.cloud[r]
    if (c === undefined) return false
    const i = lowerRange(c, s)
    return i * 2 < c.length && c[i * 2] <= s
  }

  /** Highest seq seen for r (in the vector or the cloud). */
  max (r: number): number {
    const c = this.cloud[r]
    return c === undefined ? (this.vv[r] ?? 0) : c[c.length - 1]
  }

  add (r: number, s: number): void {
    this.addRange(r, s, s)
  }

  /** Adds seqs start..end (inclusive) in O(log n + ranges merged), whatever the length of the range. */
  addRange (r: number, start: number, end: number): void {
    if (end < start) return
    const v = this.vv[r] ?? 0
    if (end <= v) return
    if (start <= v + 1) {
      let top = end
      const c = this.cloud[r]
      if (c !== undefined) {
        // absorb every cloud range that now touches the prefix
        let k = 0
        while (k < c.length && c[k] <= top + 1) { if (c[k + 1] > top) top = c[k + 1]; k += 2 }
        if (k === c.length) this.cloud[r] = undefined
        else if (k > 0) c.splice(0, k)
      }
      this.vv[r] = top
      return
    }
    let c = this.cloud[r]
    if (c === undefined) { this.cloud[r] = [start, end]; return }
    // ranges [i, j) overlap or touch [start, end]: replace them by their union
    const i = lowerRange(c, start - 1)
    let j = i
    let a = start
    let b = end
    while (j * 2 < c.length && c[j * 2] <= end + 1) {
      if (c[j * 2] < a) a = c[j * 2]
      if (c[j * 2 + 1] > b) b = c[j * 2 + 1]
      j++
    }
    c.splice(i * 2, (j - i) * 2, a, b)
  }

  /** Sorted inclusive ranges `[start, end, …]` of the cloud of r (do not mutate). */
  cloudRanges (r: number): readonly number[] {
    return this.cloud[r] ?? []
  }

  /** Sorted seqs in the cloud of r. */
  cloudOf (r: number): number[] {
    const c = this.cloud[r]
    if (c === undefined) return []
    const out: number[] = []
    for (let i = 0; i < c.length; i += 2) for (let s = c[i]; s <= c[i + 1]; s++) out.push(s)
    return out
  }
}

/**
 * A set of dots as sorted, disjoint inclusive ranges per replica index:
 * `ranges[r] = [start0, end0, start1, end1, …]`. Membership by binary search.
 */
export class DotRanges {
  readonly ranges: Array<number[] | undefined> = []

  has (r: number, s: number): boolean {
    const a = this.ranges[r]
    if (a === undefined) return false
    let lo = 0
    let hi = (a.length >> 1) - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      if (s < a[mid * 2]) hi = mid - 1
      else if (s > a[mid * 2 + 1]) lo = mid + 1
      else return true
    }
    return false
  }

  /** Builds from per-replica lists of seqs (any order, duplicates allowed). */
  static fromSeqs (seqs: Array<number[] | undefined>): DotRanges {
    const out = new DotRanges()
    for (let r = 0; r < seqs.length; r++) {
      const list = seqs[r]
      if (list === undefined || list.length === 0) continue
      let sorted = true
      for (let i = 1; i < list.length; i++) if (list[i] <= list[i - 1]) { sorted = false; break }
      if (!sorted) list.sort((a, b) => a - b)
      const rs: number[] = []
      let start = list[0]
      let end = start
      for (let i = 1; i < list.length; i++) {
        const s = list[i]
        if (s <= end) continue
        if (s === end + 1) { end = s; continue }
        rs.push(start, end)
        start = end = s
      }
      rs.push(start, end)
      out.ranges[r] = rs
    }
    return out
  }
}
