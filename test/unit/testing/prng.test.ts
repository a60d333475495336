import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Prng } from '../../../src/testing/prng.js'
import { InvalidArgumentError } from '../../../src/errors.js'

const FC = { seed: 0x5eed, numRuns: 200 }

/** sfc32 seeded by splitmix32, written independently with BigInt arithmetic. */
const referenceSfc32 = (seed: number, n: number): number[] => {
  const M = 0xffffffffn
  const mix = (x: bigint): bigint => {
    let z = x
    z = ((z ^ (z >> 16n)) * 0x21f0aaadn) & M
    z = ((z ^ (z >> 15n)) * 0x735a2d97n) & M
    return (z ^ (z >> 15n)) & M
  }
  let s = BigInt(seed >>> 0)
  const nextSeed = (): bigint => { s = (s + 0x9e3779b9n) & M; return mix(s) }
  let a = nextSeed(); let b = nextSeed(); let c = nextSeed(); let d = nextSeed()
  const out: number[] = []
  for (let i = 0; i < 12 + n; i++) {
    const t = (a + b + d) & M
    d = (d + 1n) & M
    a = b ^ (b >> 9n)
    b = (c + (c << 3n)) & M
    c = ((c << 21n) | (c >> 11n)) & M
    c = (c + t) & M
    if (i >= 12) out.push(Number(t))
  }
  return out
}

const draw = (p: Prng, n: number): number[] => Array.from({ length: n }, () => p.uint32())

describe('Prng', () => {
  it('matches pinned outputs (the same in every runtime)', () => {
    expect(draw(new Prng(0), 4)).toEqual([548183886, 1097162541, 2219297441, 1664216021])
    expect(draw(new Prng(42), 4)).toEqual([3825871779, 1851418855, 1383259262, 890322987])
    expect(draw(new Prng(0xffffffff), 4)).toEqual([2246433216, 2156899173, 2040853526, 3823104220])
  })

  it('agrees with an independent BigInt implementation of sfc32/splitmix32', () => {
    for (const seed of [0, 1, 2, 42, 1234567, 0x7fffffff, 0x80000000, 0xffffffff]) {
      expect(draw(new Prng(seed), 100)).toEqual(referenceSfc32(seed, 100))
    }
  })

  it('is deterministic per seed and differs between seeds', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (seed) => {
      expect(draw(new Prng(seed), 16)).toEqual(draw(new Prng(seed), 16))
      expect(draw(new Prng(seed), 16)).not.toEqual(draw(new Prng(seed + 1), 16))
    }), FC)
  })

  it('uses the low 32 bits of the seed and rejects non-integers', () => {
    expect(new Prng(2 ** 32 + 5).seed).toBe(5)
    expect(draw(new Prng(-1), 3)).toEqual(draw(new Prng(0xffffffff), 3))
    expect(() => new Prng(1.5)).toThrow(InvalidArgumentError)
    expect(() => new Prng(Number.NaN)).toThrow(InvalidArgumentError)
  })

  it('next() is in [0, 1) with a sane mean and spread', () => {
    const p = new Prng(7)
    const n = 100_000
    let sum = 0
    let sumSq = 0
    let outOfRange = 0
    for (let i = 0; i < n; i++) {
      const x = p.next()
      if (!(x >= 0 && x < 1)) outOfRange++
      sum += x
      sumSq += x * x
    }
    expect(outOfRange).toBe(0)
    const mean = sum / n
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01)
    expect(Math.abs(sumSq / n - mean * mean - 1 / 12)).toBeLessThan(0.005)
  })

  it('int() is uniform over its range (chi-square)', () => {
    const p = new Prng(11)
    const k = 10
    const n = 100_000
    const counts = new Array<number>(k).fill(0)
    for (let i = 0; i < n; i++) counts[p.int(0, k - 1)]++
    const expected = n / k
    const chi2 = counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0)
    // 9 degrees of freedom: P(chi2 > 27.9) ≈ 0.001
    expect(chi2).toBeLessThan(27.9)
  })

  it('int() stays within bounds, including wide and negative ranges', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer(),
      fc.oneof(fc.integer({ min: 0, max: 100 }), fc.maxSafeNat().map((x) => Math.floor(x / 2))),
      (seed, min, width) => {
        const p = new Prng(seed)
        for (let i = 0; i < 20; i++) {
          const x = p.int(min, min + width)
          expect(Number.isSafeInteger(x)).toBe(true)
          expect(x).toBeGreaterThanOrEqual(min)
          expect(x).toBeLessThanOrEqual(min + width)
        }
      }), FC)
    expect(new Prng(1).int(5, 5)).toBe(5)
    expect(() => new Prng(1).int(3, 2)).toThrow(InvalidArgumentError)
    expect(() => new Prng(1).int(0, 1.5)).toThrow(InvalidArgumentError)
  })

  it('bool(p) comes up true about p of the time', () => {
    const p = new Prng(3)
    for (const prob of [0, 0.1, 0.5, 0.9, 1]) {
      let hits = 0
      for (let i = 0; i < 20_000; i++) if (p.bool(prob)) hits++
      expect(Math.abs(hits / 20_000 - prob)).toBeLessThan(0.02)
    }
    let heads = 0
    for (let i = 0; i < 20_000; i++) if (p.bool()) heads++
    expect(Math.abs(heads / 20_000 - 0.5)).toBeLessThan(0.02)
  })

  it('pick() reaches every element and refuses an empty array', () => {
    const p = new Prng(5)
    const seen = new Set<string>()
    for (let i = 0; i < 200; i++) seen.add(p.pick(['a', 'b', 'c', 'd']))
    expect([...seen].sort()).toEqual(['a', 'b', 'c', 'd'])
    expect(() => p.pick([])).toThrow(InvalidArgumentError)
  })

  it('shuffle() permutes in place, uniformly over the 6 orders of 3 items', () => {
    const p = new Prng(9)
    const arr = [1, 2, 3, 4, 5, 6, 7, 8]
    const same = p.shuffle(arr)
    expect(same).toBe(arr)
    expect([...arr].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    const counts = new Map<string, number>()
    const n = 60_000
    for (let i = 0; i < n; i++) {
      const key = p.shuffle(['a', 'b', 'c']).join('')
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
    expect(counts.size).toBe(6)
    for (const c of counts.values()) expect(Math.abs(c / n - 1 / 6)).toBeLessThan(0.01)
    expect(p.shuffle([])).toEqual([])
  })

  it('fork() gives a deterministic child independent of later parent use', () => {
    const parent1 = new Prng(21)
    const child1 = parent1.fork()
    const parent2 = new Prng(21)
    const child2 = parent2.fork()
    draw(parent2, 50) // using the parent does not perturb the child
    expect(draw(child1, 10)).toEqual(draw(child2, 10))
    expect(draw(child1, 10)).not.toEqual(draw(parent1, 10))
    expect(draw(new Prng(21).fork(), 5)).not.toEqual(draw(new Prng(21), 5))
  })
})
