import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { HashRing, Rendezvous } from '../../src/hash/index.js'
import { detLog } from '../../src/hash/det-log.js'

const SEED = Number(process.env.FC_SEED ?? 0x5eed)
const nodeSet = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 8 })
const keys = fc.array(fc.string({ maxLength: 16 }), { minLength: 1, maxLength: 60 })

describe('placement laws', () => {
  it('HashRing: a joining node only takes keys, a leaving node only gives its own', () => {
    fc.assert(fc.property(nodeSet, fc.string({ minLength: 1 }), keys, fc.integer({ min: 1, max: 3 }), (nodes, extra, ks, probes) => {
      fc.pre(!nodes.includes(extra))
      const r = new HashRing(20, { probes })
      for (const n of nodes) r.addNode(n)
      const before = ks.map((k) => r.getNode(k))
      r.addNode(extra)
      ks.forEach((k, i) => { const now = r.getNode(k); if (now !== before[i]) expect(now).toBe(extra) })
      r.removeNode(extra)
      ks.forEach((k, i) => expect(r.getNode(k)).toBe(before[i]))
    }), { seed: SEED, numRuns: 300 })
  })

  it('Rendezvous: a joining node only takes keys, a leaving node only gives its own', () => {
    fc.assert(fc.property(nodeSet, fc.string({ minLength: 1 }), keys, fc.double({ min: 0.1, max: 10, noNaN: true }), (nodes, extra, ks, w) => {
      fc.pre(!nodes.includes(extra))
      const r = new Rendezvous()
      for (const n of nodes) r.addNode(n)
      const before = ks.map((k) => r.getNode(k))
      r.addNode(extra, w)
      ks.forEach((k, i) => { const now = r.getNode(k); if (now !== before[i]) expect(now).toBe(extra) })
      r.removeNode(extra)
      ks.forEach((k, i) => expect(r.getNode(k)).toBe(before[i]))
    }), { seed: SEED, numRuns: 300 })
  })

  it('detLog agrees with Math.log to a few units in the last place', () => {
    fc.assert(fc.property(fc.double({ min: 2 ** -60, max: 1, noNaN: true }), (x) => {
      fc.pre(x > 0)
      const want = Math.log(x)
      expect(Math.abs(detLog(x) - want)).toBeLessThanOrEqual(Math.max(Math.abs(want), 1) * 8 * Number.EPSILON)
    }), { seed: SEED, numRuns: 2000 })
    expect(detLog(1)).toBe(0)
    expect(detLog(0.5)).toBe(-Math.LN2)
  })
})
