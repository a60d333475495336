/**
 * CRC-32C arithmetic on checksums alone (zlib's `crc32_combine`, in
 * GF(2)[x] modulo the Castagnoli polynomial): the checksum of `A ‖ B` from
 * those of `A` and `B`, and of a middle range from two prefix checksums —
 * in O(log length), without the bytes.
 *
 * ```ts
 * crc32cCombine(crc32c(a), crc32c(b), b.length) === crc32c(concat(a, b))
 * crc32cRange(crc32c(x), crc32c(concat(x, d)), d.length) === crc32c(d)
 * ```
 *
 * @module
 */

const POLY = 0x82f63b78

/** `a * b mod P`, both reflected (bit 31 is x^0). */
const multModP = (a: number, b: number): number => {
  let m = 0x80000000
  let p = 0
  let bb = b
  for (;;) {
    if ((a & m) !== 0) {
      p ^= bb
      if ((a & (m - 1)) === 0) break
    }
    m >>>= 1
    bb = (bb & 1) !== 0 ? (bb >>> 1) ^ POLY : bb >>> 1
  }
  return p >>> 0
}

/** `X2N[k]` = x^(2^k) mod P. */
const X2N = /* @__PURE__ */ ((): Uint32Array => {
  const t = new Uint32Array(32)
  let p = 1 << 30 // x^1
  t[0] = p
  for (let k = 1; k < 32; k++) t[k] = p = multModP(p, p)
  return t
})()

/** x^(8 * bytes) mod P: what shifting a checksum past `bytes` bytes multiplies it by. */
const shiftFactor = (bytes: number): number => {
  let p = 0x80000000 // x^0
  let k = 3
  for (let n = bytes; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) p = multModP(X2N[k & 31], p)
  }
  return p
}

/** The CRC-32C of `A ‖ B`, given `crc32c(A)`, `crc32c(B)` and `B`'s length. */
export const crc32cCombine = (crcA: number, crcB: number, lengthB: number): number =>
  (multModP(shiftFactor(lengthB), crcA) ^ crcB) >>> 0

/** The CRC-32C of `D`, given `crc32c(X)`, `crc32c(X ‖ D)` and `D`'s length. */
export const crc32cRange = (crcX: number, crcXD: number, lengthD: number): number =>
  (multModP(shiftFactor(lengthD), crcX) ^ crcXD) >>> 0
