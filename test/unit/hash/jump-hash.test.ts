import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { JumpHash } from '../../../src/hash/index.js'
import { InvalidArgumentError } from '../../../src/errors.js'

const SEED = Number(process.env.FC_SEED ?? 0x5eed)

describe('JumpHash', () => {
  // [key, buckets, bucket] of the reference C function (Lamping & Veach), as
  // used by go-jump, python-jump-consistent-hash and others
  it.each([
    [1, 1, 0], [42, 57, 43], [0xdead10cc, 1, 0], [0xdead10cc, 666, 361], [256, 1024, 520],
    [1, 128, 55], [129, 128, 120], [128, 100000000, 38172097], [0, 2, 0], [4, 2, 1], [7, 2, 0],
    [-42, 57, 8]
  ])('hash(%d, %d) = %d as the reference', (key, buckets, expected) => {
    expect(JumpHash.hash(key, buckets)).toBe(expected)
    expect(JumpHash.hash(BigInt(key), buckets)).toBe(expected)
  })

  it('takes the full 64-bit range as bigints', () => {
    expect(JumpHash.hash(2n ** 64n - 1n, 128)).toBe(92)
    expect(JumpHash.hash(-1n, 128)).toBe(92)
  })

  it('hashes string keys with XXH64 (stable across runtimes)', () => {
    expect(JumpHash.hash('abc', 1000)).toBe(JumpHash.hash(0x44bc2cf5ad770999n, 1000))
    expect(['user:1', 'user:2', 'doc:42', 'ёлка'].map((k) => JumpHash.hash(k, 16))).toEqual(STABLE)
  })

  it('when buckets grow n → n + 1 a key stays or moves to bucket n', () => {
    fc.assert(fc.property(fc.string(), fc.integer({ min: 1, max: 5000 }), (key, n) => {
      const before = JumpHash.hash(key, n)
      const after = JumpHash.hash(key, n + 1)
      expect(before).toBeGreaterThanOrEqual(0)
      expect(before).toBeLessThan(n)
      expect(after === before || after === n).toBe(true)
    }), { seed: SEED, numRuns: 2000 })
  })

  it('balances keys and moves about 1/(n + 1) of them', () => {
    const keys = Array.from({ length: 50_000 }, (_, i) => `key-${i}`)
    const counts = new Array<number>(10).fill(0)
    let moved = 0
    for (const k of keys) {
      const b = JumpHash.hash(k, 10)
      counts[b]++
      if (JumpHash.hash(k, 11) !== b) moved++
    }
    expect(Math.max(...counts) / (keys.length / 10)).toBeLessThan(1.1)
    expect(moved / keys.length).toBeLessThan(1.5 / 11)
    expect(moved / keys.length).toBeGreaterThan(0.5 / 11)
  })

  it('rejects bad bucket counts and keys', () => {
    for (const b of [0, -1, NaN, 1.5, Infinity, 2 ** 31]) {
      expect(() => JumpHash.hash('k', b)).toThrow(InvalidArgumentError)
    }
    expect(() => JumpHash.hash('k', 0)).toThrow(/buckets must be an integer/)
    expect(() => JumpHash.hash(1.5, 4)).toThrow(InvalidArgumentError)
    expect(() => JumpHash.hash(2n ** 64n, 4)).toThrow(InvalidArgumentError)
    expect(() => JumpHash.hash({} as unknown as string, 4)).toThrow(InvalidArgumentError)
  })
})

/** Pinned: a change here changes where every stored key lives. */
const STABLE = [2, 0, 9, 12]
