/**
 * The Doc's causal context over local replica indices: per replica the
 * contiguous prefix of seen sequence numbers (the version vector) plus the
 * few dots seen beyond it (the cloud). Removals live here, not in tombstones.
 *
 * @module
 */

export class DotClock {
  /** vv[r]: every seq 1..vv[r] of replica r has been seen. */
  readonly vv: number[] = []
  /** Dots seen beyond vv[r], per replica. */
  readonly cloud: Array<Set<number> | undefined> = []

  has (r: number, s: number): boolean {
    if (s <= (this.vv[r] ?? 0)) return true
    const c = this.cloud[r]
    return c !== undefined && c.has(s)
  }

  /** Highest seq seen for r (in the vector or the cloud). */
  max (r: number): number {
    let m = this.vv[r] ?? 0
    const c = this.cloud[r]
    if (c !== undefined) for (const s of c) if (s > m) m = s
    return m
  }

  add (r: number, s: number): void {
    const v = this.vv[r] ?? 0
    if (s <= v) return
    if (s === v + 1) {
      this.vv[r] = s
      const c = this.cloud[r]
      if (c !== undefined) this.absorb(r, c)
    } else {
      let c = this.cloud[r]
      if (c === undefined) this.cloud[r] = c = new Set()
      c.add(s)
    }
  }

  /** Adds seqs start..end (inclusive). */
  addRange (r: number, start: number, end: number): void {
    const v = this.vv[r] ?? 0
    if (end <= v) return
    if (start <= v + 1) {
      this.vv[r] = end
      const c = this.cloud[r]
      if (c !== undefined) this.absorb(r, c)
    } else {
      let c = this.cloud[r]
      if (c === undefined) this.cloud[r] = c = new Set()
      for (let s = start; s <= end; s++) c.add(s)
    }
  }

  private absorb (r: number, c: Set<number>): void {
    let v = this.vv[r]
    for (const s of c) if (s <= v) c.delete(s)
    while (c.has(v + 1)) c.delete(++v)
    this.vv[r] = v
    if (c.size === 0) this.cloud[r] = undefined
  }

  /** Sorted seqs in the cloud of r. */
  cloudOf (r: number): number[] {
    const c = this.cloud[r]
    return c === undefined ? [] : Array.from(c).sort((a, b) => a - b)
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
