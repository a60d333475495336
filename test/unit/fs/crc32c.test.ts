import { describe, expect, it } from 'vitest'
import { crc32c } from '../../../adapters/fs/crc32c.js'
import { crc32cCombine, crc32cRange } from '../../../adapters/fs/crc32c-combine.js'
import { Prng } from '../../../src/testing/index.js'

/** Bit-at-a-time CRC-32C, the definition the table-driven code must match. */
const reference = (bytes: Uint8Array): number => {
  let c = ~0
  for (const b of bytes) {
    c ^= b
    for (let i = 0; i < 8; i++) c = (c & 1) !== 0 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
  }
  return ~c >>> 0
}

describe('crc32c', () => {
  it('matches the check value and the RFC 3720 (iSCSI) test vectors', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283)
    expect(crc32c(new Uint8Array(0))).toBe(0)
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa)
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43)
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e)
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c)
  })

  it('matches the bitwise definition at every length and alignment, and chains', () => {
    const prng = new Prng(0xc5c)
    for (let n = 0; n < 200; n++) {
      const buf = Uint8Array.from({ length: n + 7 }, () => prng.int(0, 255))
      const bytes = buf.subarray(n % 7, n % 7 + n)
      expect(crc32c(bytes)).toBe(reference(bytes))
      const cut = prng.int(0, n)
      expect(crc32c(bytes.subarray(cut), crc32c(bytes.subarray(0, cut)))).toBe(reference(bytes))
    }
  })
})

describe('crc32cCombine / crc32cRange', () => {
  it('combine two checksums, and take one of a range from two prefix checksums', () => {
    const prng = new Prng(0xc0b)
    for (let round = 0; round < 100; round++) {
      const bytes = Uint8Array.from({ length: prng.int(0, 3000) }, () => prng.int(0, 255))
      const a = prng.int(0, bytes.length)
      const b = prng.int(a, bytes.length)
      const whole = crc32c(bytes.subarray(0, b))
      expect(crc32cCombine(crc32c(bytes.subarray(0, a)), crc32c(bytes.subarray(a, b)), b - a)).toBe(whole)
      expect(crc32cRange(crc32c(bytes.subarray(0, a)), whole, b - a)).toBe(crc32c(bytes.subarray(a, b)))
    }
    expect(crc32cCombine(0x12345678, 0, 0)).toBe(0x12345678)
  })
})
