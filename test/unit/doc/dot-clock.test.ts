/**
 * DotClock keeps its cloud as ranges: any mix of `add` and `addRange`
 * answers `has`, `max`, `vv`, `cloudOf` like a plain set of seqs, and a
 * range of a million ids is one range, not a million entries.
 */
import { describe, expect, it } from 'vitest'
import { DotClock } from '../../../src/doc/dot-clock.js'
import { runSeeds } from '../../../src/testing/index.js'

describe('DotClock', () => {
  it('agrees with a set of seqs for any adds and range adds (seeded)', () => {
    runSeeds(20, (_seed, prng) => {
      const cc = new DotClock()
      const model = new Set<number>()
      for (let i = 0; i < 120; i++) {
        const start = prng.int(1, 120)
        const end = prng.int(0, 3) === 0 ? start : start + prng.int(0, 15)
        if (end === start && prng.int(0, 1) === 0) cc.add(0, start)
        else cc.addRange(0, start, end)
        for (let s = start; s <= end; s++) model.add(s)
        let v = 0
        while (model.has(v + 1)) v++
        expect(cc.vv[0] ?? 0).toBe(v)
        expect(cc.cloudOf(0)).toEqual(Array.from(model).filter(s => s > v).sort((a, b) => a - b))
        expect(cc.max(0)).toBe(model.size === 0 ? 0 : Math.max(...model))
        const has: boolean[] = []
        const want: boolean[] = []
        for (let s = 1; s <= 140; s++) { has.push(cc.has(0, s)); want.push(model.has(s)) }
        expect(has).toEqual(want)
        // ranges stay sorted, disjoint, not adjacent, and beyond the prefix
        const r = cc.cloudRanges(0)
        let ok = true
        for (let k = 0; k < r.length; k += 2) if (r[k] > r[k + 1] || r[k] <= (k === 0 ? v : r[k - 1]) + 1) ok = false
        expect(ok).toBe(true)
      }
    })
  })

  it('a range of a million ids beyond the prefix is one range', () => {
    const cc = new DotClock()
    cc.addRange(3, 10, 1_000_009)
    expect(cc.cloudRanges(3)).toEqual([10, 1_000_009])
    expect(cc.has(3, 500_000)).toBe(true)
    expect(cc.has(3, 9)).toBe(false)
    cc.addRange(3, 1, 9)
    expect(cc.vv[3]).toBe(1_000_009)
    expect(cc.cloudRanges(3)).toEqual([])
  })
})
