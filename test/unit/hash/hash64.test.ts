import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { xxh32, xxh64, xxh64Hex, xxh64Into } from '../../../src/hash/index.js'
import { InvalidArgumentError } from '../../../src/errors.js'

const SEED = Number(process.env.FC_SEED ?? 0x5eed)
const PRIME32 = 2654435761
const PRIME64 = 11400714785074694797n

/** The sanity buffer of xxHash's `cli/xsum_sanity_check.c`. */
const sanityBuffer = (len: number): Uint8Array => {
  const b = new Uint8Array(len)
  let gen = BigInt(PRIME32)
  for (let i = 0; i < len; i++) {
    b[i] = Number(gen >> 56n)
    gen = (gen * PRIME64) & 0xffffffffffffffffn
  }
  return b
}
const buffer = sanityBuffer(2367)

// [length, seed, expected], from xxHash's tests/sanity_test_vectors.h
const XXH32: Array<[number, number, number]> = [
  [0, 0, 0x02cc5d05], [0, PRIME32, 0x36b78ae7],
  [1, 0, 0xcf65b03e], [1, PRIME32, 0xb4545aa4],
  [4, 0, 0xa9de7ce9], [4, PRIME32, 0x2baafe83],
  [14, 0, 0x1208e7e2], [14, PRIME32, 0x6af1d1fe],
  [16, 0, 0x93ba3759], [16, PRIME32, 0xa94fc1e1],
  [17, 0, 0x89fdc23e], [17, PRIME32, 0xc9910739],
  [32, 0, 0xd89829ec], [32, PRIME32, 0xa5c44467],
  [222, 0, 0x5bd11dbd], [222, PRIME32, 0x58803c5f],
  [2367, 0, 0x4c8a9773], [2367, PRIME32, 0x6d5366f6]
]
const XXH64: Array<[number, number, bigint]> = [
  [0, 0, 0xef46db3751d8e999n], [0, PRIME32, 0xac75fda2929b17efn],
  [1, 0, 0xe934a84adb052768n], [1, PRIME32, 0x5014607643a9b4c3n],
  [3, 0, 0xff7e1959cb50794an], [3, PRIME32, 0xaa8584e83660f7d1n],
  [4, 0, 0x9136a0dca57457een], [4, PRIME32, 0xcaab286bd8e9fdb5n],
  [8, 0, 0xcdbcf538e71d1348n], [8, PRIME32, 0xfe0c047a5353cdacn],
  [14, 0, 0x8282dcc4994e35c8n], [14, PRIME32, 0xc3bd6bf63deb6df0n],
  [16, 0, 0x98c90b57fdfcb55cn], [16, PRIME32, 0xc900ad2d536b607en],
  [17, 0, 0x0d39a2d051a30c2cn], [17, PRIME32, 0x495cd68a647c7a22n],
  [24, 0, 0xf75a6dea42dc5bf4n], [24, PRIME32, 0x8b7c67eb59778e22n],
  [32, 0, 0x18b216492bb44b70n], [32, PRIME32, 0xb3f33bdf93ade409n],
  [222, 0, 0xb641ae8cb691c174n], [222, PRIME32, 0x20cb8ab7ae10c14an],
  [2367, 0, 0xa82418ddec0ea581n], [2367, PRIME32, 0xa36a93c18052673an]
]

describe('xxh32', () => {
  it.each(XXH32)('matches the reference on %i bytes with seed %i', (len, seed, expected) => {
    expect(xxh32(buffer.subarray(0, len), seed)).toBe(expected)
  })

  it('hashes strings as UTF-8', () => {
    expect(xxh32('')).toBe(0x02cc5d05)
    expect(xxh32('abc')).toBe(0x32d153ff)
    const enc = new TextEncoder()
    for (const s of ['é', 'ёлка', '日本語のキー', '😀', 'a\ud800b', 'x'.repeat(40) + 'ü', 'ascii-then-ü-in-the-middle-of-a-longer-key']) {
      expect(xxh32(s)).toBe(xxh32(enc.encode(s)))
    }
  })

  it('equals the hash of TextEncoder bytes for any string', () => {
    const enc = new TextEncoder()
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 80 }), fc.nat(), (s, seed) => {
      expect(xxh32(s, seed)).toBe(xxh32(enc.encode(s), seed))
    }), { seed: SEED, numRuns: 500 })
  })

  it('rejects bad seeds and inputs', () => {
    expect(() => xxh32('a', NaN)).toThrow(InvalidArgumentError)
    expect(() => xxh32('a', 1.5)).toThrow(InvalidArgumentError)
    expect(() => xxh32(42 as unknown as string)).toThrow(InvalidArgumentError)
  })
})

describe('xxh64', () => {
  it.each(XXH64)('matches the reference on %i bytes with seed %i', (len, seed, expected) => {
    expect(xxh64(buffer.subarray(0, len), seed)).toBe(expected)
    expect(xxh64(buffer.subarray(0, len), BigInt(seed))).toBe(expected)
  })

  it('hashes strings as UTF-8', () => {
    expect(xxh64('')).toBe(0xef46db3751d8e999n)
    expect(xxh64('abc')).toBe(0x44bc2cf5ad770999n)
    expect(xxh64Hex('abc')).toBe('44bc2cf5ad770999')
    expect(xxh64Hex('')).toBe('ef46db3751d8e999')
    const enc = new TextEncoder()
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (s) => {
      expect(xxh64(s)).toBe(xxh64(enc.encode(s)))
    }), { seed: SEED, numRuns: 300 })
  })

  it('xxh64Into gives the high and low halves', () => {
    const out = new Uint32Array(2)
    expect(xxh64Into('abc', out)).toBe(out)
    expect([...out]).toEqual([0x44bc2cf5, 0xad770999])
  })

  it('takes 64-bit seeds as numbers or bigints', () => {
    const seed = 2 ** 40 + 12345
    expect(xxh64('key', seed)).toBe(xxh64('key', BigInt(seed)))
    expect(xxh64('key', 2n ** 64n - 1n)).not.toBe(xxh64('key'))
  })

  it('rejects bad seeds and inputs', () => {
    expect(() => xxh64('a', -1)).toThrow(InvalidArgumentError)
    expect(() => xxh64('a', 0.5)).toThrow(InvalidArgumentError)
    expect(() => xxh64('a', 2n ** 64n)).toThrow(InvalidArgumentError)
    expect(() => xxh64('a', -1n)).toThrow(InvalidArgumentError)
    expect(() => xxh64(null as unknown as string)).toThrow(InvalidArgumentError)
  })
})
