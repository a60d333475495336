import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  DEFAULT_MAX_DRIFT_MS, HLC_LOGICAL_RANGE, HLC_MAX_WALL, HybridLogicalClock, hlcLogical, hlcWall, packHlc
} from '../../../src/clock/index.js'
import { InvalidArgumentError } from '../../../src/errors.js'

const manual = (start = 1_000): { now: () => number, set: (t: number) => void } => {
  let t = start
  return { now: () => t, set: (x: number) => { t = x } }
}

describe('HybridLogicalClock', () => {
  it('packs wall time and logical counter', () => {
    const ts = packHlc(1234, 5)
    expect(hlcWall(ts)).toBe(1234)
    expect(hlcLogical(ts)).toBe(5)
    expect(packHlc(1, 0)).toBeGreaterThan(packHlc(0, HLC_LOGICAL_RANGE - 1))
    expect(() => packHlc(HLC_MAX_WALL + 1, 0)).toThrow(InvalidArgumentError)
    expect(() => packHlc(0, HLC_LOGICAL_RANGE)).toThrow(InvalidArgumentError)
    expect(() => packHlc(-1, 0)).toThrow(InvalidArgumentError)
  })

  it('follows the physical clock', () => {
    const c = manual(5_000)
    const hlc = new HybridLogicalClock('a', c.now)
    expect(hlc.now()).toBe(packHlc(5_000, 0))
    c.set(6_000)
    expect(hlc.now()).toBe(packHlc(6_000, 0))
    expect(hlc.last).toBe(packHlc(6_000, 0))
  })

  it('stays monotonic when the physical clock stands still or goes backwards', () => {
    const c = manual(10_000)
    const hlc = new HybridLogicalClock('a', c.now)
    const t1 = hlc.now()
    const t2 = hlc.now()
    c.set(2_000)
    const t3 = hlc.now()
    expect(t2).toBeGreaterThan(t1)
    expect(t3).toBeGreaterThan(t2)
    expect(hlcWall(t3)).toBe(10_000)
    expect(hlcLogical(t3)).toBe(2)
  })

  it('is strictly increasing under any physical clock sequence', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.integer({ min: -5, max: 5_000 }), fc.constant(Number.POSITIVE_INFINITY)), { minLength: 1, maxLength: 100 }), times => {
      let i = 0
      const hlc = new HybridLogicalClock('a', () => times[i++ % times.length])
      let prev = -1
      for (let k = 0; k < times.length; k++) {
        const t = hlc.now()
        expect(t).toBeGreaterThan(prev)
        prev = t
      }
    }), { seed: 4, numRuns: 200 })
  })

  it('carries the logical counter into the wall time', () => {
    const hlc = new HybridLogicalClock('a', () => 7)
    let t = 0
    for (let i = 0; i < HLC_LOGICAL_RANGE + 1; i++) t = hlc.now()
    expect(hlcWall(t)).toBe(8)
    expect(hlcLogical(t)).toBe(0)
  })

  it('receive() returns a timestamp above both the local and the remote one', () => {
    fc.assert(fc.property(fc.nat({ max: 100_000 }), fc.nat({ max: 100_000 }), fc.nat({ max: 4095 }), (local, remoteWall, logical) => {
      const a = new HybridLogicalClock('a', () => local)
      const before = a.now()
      const remote = packHlc(remoteWall, logical)
      const t = a.receive(remote)
      expect(t).toBeGreaterThan(before)
      expect(t).toBeGreaterThan(remote)
      expect(a.now()).toBeGreaterThan(t)
    }), { seed: 5, numRuns: 300 })
  })

  it('orders causally related events across nodes', () => {
    const a = new HybridLogicalClock('a', () => 100)
    const b = new HybridLogicalClock('b', () => 50) // b's clock is behind
    const send = a.now()
    const recv = b.receive(send)
    const next = b.now()
    expect(recv).toBeGreaterThan(send)
    expect(next).toBeGreaterThan(recv)
  })

  it('breaks timestamp ties by node id', () => {
    const ts = packHlc(1, 0)
    expect(HybridLogicalClock.compare(ts, 'a', ts, 'b')).toBe(-1)
    expect(HybridLogicalClock.compare(ts, 'b', ts, 'a')).toBe(1)
    expect(HybridLogicalClock.compare(ts, 'a', ts, 'a')).toBe(0)
    expect(HybridLogicalClock.compare(ts + 1, 'a', ts, 'z')).toBe(1)
    // two clocks at the same physical time issue equal timestamps; node ids order them
    const x = new HybridLogicalClock('x', () => 9).now()
    const y = new HybridLogicalClock('y', () => 9).now()
    expect(x).toBe(y)
    expect(HybridLogicalClock.compare(x, 'x', y, 'y')).toBe(-1)
  })

  it('refuses remote timestamps beyond the drift limit and stays unchanged', () => {
    const c = manual(1_000_000)
    const hlc = new HybridLogicalClock('a', c.now, { maxDriftMs: 1_000 })
    const t0 = hlc.now()
    expect(hlc.receive(packHlc(1_001_000, 0))).toBe(packHlc(1_001_000, 1)) // exactly at the limit
    const last = hlc.last
    expect(() => hlc.receive(packHlc(1_001_001 + 1, 0))).toThrow(InvalidArgumentError)
    expect(hlc.last).toBe(last)
    expect(last).toBeGreaterThan(t0)
    expect(new HybridLogicalClock('b').maxDriftMs).toBe(DEFAULT_MAX_DRIFT_MS)
  })

  it('validates its arguments', () => {
    expect(() => new HybridLogicalClock('x'.repeat(65))).toThrow(InvalidArgumentError)
    expect(() => new HybridLogicalClock('a', 5 as unknown as () => number)).toThrow(InvalidArgumentError)
    expect(() => new HybridLogicalClock('a', () => 0, { maxDriftMs: -1 })).toThrow(InvalidArgumentError)
    expect(() => new HybridLogicalClock('a', () => NaN).now()).toThrow(InvalidArgumentError)
    const hlc = new HybridLogicalClock('a', () => 0)
    expect(() => hlc.receive(-1)).toThrow(InvalidArgumentError)
    expect(() => hlc.receive(1.5)).toThrow(InvalidArgumentError)
  })

  it('uses Date.now by default', () => {
    const t = new HybridLogicalClock('a').now()
    expect(Math.abs(hlcWall(t) - Date.now())).toBeLessThan(60_000)
  })
})
