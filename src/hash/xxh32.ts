/**
 * XXH32, the 32-bit xxHash (https://github.com/Cyan4973/xxHash,
 * `doc/xxhash_spec.md`), equal to the reference C implementation bit for bit
 * (checked against the official sanity vectors). Strings are hashed as their
 * UTF-8 bytes; ASCII strings are read straight from their char codes, so
 * hashing a typical key touches no buffer at all.
 *
 * ```ts
 * import { xxh32 } from 'aegis-replication'
 * xxh32('abc') // 0x32d153ff
 * ```
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import { read32, type HashInput } from './hash64.js'
import { encodeUtf8Scratch, utf8Scratch } from './utf8.js'

const Q1 = 0x9e3779b1
const Q2 = 0x85ebca77
const Q3 = 0xc2b2ae3d
const Q4 = 0x27d4eb2f
const Q5 = 0x165667b1

const rotl32 = (x: number, r: number): number => (x << r) | (x >>> (32 - r))

/** The XXH32 avalanche. */
const avalanche = (h: number): number => {
  h ^= h >>> 15
  h = Math.imul(h, Q2)
  h ^= h >>> 13
  h = Math.imul(h, Q3)
  h ^= h >>> 16
  return h >>> 0
}

/** XXH32 of `b[0, len)` with a 32-bit seed, as an unsigned number. */
const xxh32Bytes = (b: Uint8Array, len: number, seed: number): number => {
  let i = 0
  let h: number
  if (len >= 16) {
    let v1 = (seed + Q1 + Q2) | 0
    let v2 = (seed + Q2) | 0
    let v3 = seed | 0
    let v4 = (seed - Q1) | 0
    const limit = len - 16
    do {
      v1 = Math.imul(rotl32((v1 + Math.imul(read32(b, i), Q2)) | 0, 13), Q1)
      v2 = Math.imul(rotl32((v2 + Math.imul(read32(b, i + 4), Q2)) | 0, 13), Q1)
      v3 = Math.imul(rotl32((v3 + Math.imul(read32(b, i + 8), Q2)) | 0, 13), Q1)
      v4 = Math.imul(rotl32((v4 + Math.imul(read32(b, i + 12), Q2)) | 0, 13), Q1)
      i += 16
    } while (i <= limit)
    h = (rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18)) | 0
  } else {
    h = (seed + Q5) | 0
  }
  h = (h + len) | 0
  for (; i + 4 <= len; i += 4) h = Math.imul(rotl32((h + Math.imul(read32(b, i), Q3)) | 0, 17), Q4)
  for (; i < len; i++) h = Math.imul(rotl32((h + Math.imul(b[i], Q5)) | 0, 11), Q1)
  return avalanche(h)
}

/** The OR of every char code {@link str32} has read since it was reset. */
let seen = 0

/** Four char codes as a little-endian word (their UTF-8 bytes while all are ASCII). */
const str32 = (s: string, i: number): number => {
  const a = s.charCodeAt(i)
  const b = s.charCodeAt(i + 1)
  const c = s.charCodeAt(i + 2)
  const d = s.charCodeAt(i + 3)
  seen |= a | b | c | d
  return a | (b << 8) | (c << 16) | (d << 24)
}

/**
 * XXH32 of an ASCII string read from its char codes (which then equal its
 * UTF-8 bytes), or -1 if a char code is 0x80 or above.
 */
const xxh32Ascii = (s: string, seed: number): number => {
  const len = s.length
  let i = 0
  let h: number
  seen = 0
  if (len >= 16) {
    let v1 = (seed + Q1 + Q2) | 0
    let v2 = (seed + Q2) | 0
    let v3 = seed | 0
    let v4 = (seed - Q1) | 0
    const limit = len - 16
    do {
      const a = str32(s, i)
      const b = str32(s, i + 4)
      const c = str32(s, i + 8)
      const d = str32(s, i + 12)
      v1 = Math.imul(rotl32((v1 + Math.imul(a, Q2)) | 0, 13), Q1)
      v2 = Math.imul(rotl32((v2 + Math.imul(b, Q2)) | 0, 13), Q1)
      v3 = Math.imul(rotl32((v3 + Math.imul(c, Q2)) | 0, 13), Q1)
      v4 = Math.imul(rotl32((v4 + Math.imul(d, Q2)) | 0, 13), Q1)
      i += 16
    } while (i <= limit)
    h = (rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18)) | 0
  } else {
    h = (seed + Q5) | 0
  }
  h = (h + len) | 0
  for (; i + 4 <= len; i += 4) {
    h = Math.imul(rotl32((h + Math.imul(str32(s, i), Q3)) | 0, 17), Q4)
  }
  for (; i < len; i++) {
    const c = s.charCodeAt(i)
    seen |= c
    h = Math.imul(rotl32((h + Math.imul(c, Q5)) | 0, 11), Q1)
  }
  return seen > 0x7f ? -1 : avalanche(h)
}

/**
 * XXH32 of `input` (a string is hashed as its UTF-8 bytes) as an unsigned
 * 32-bit number. Several times faster than {@link xxh64}; good for positions
 * on a 32-bit hash ring.
 *
 * @param seed - a 32-bit seed, an integer taken modulo 2^32. @default 0
 * @throws {InvalidArgumentError} if `input` is neither a string nor a
 *   `Uint8Array`, or `seed` is not a safe integer.
 */
export const xxh32 = (input: HashInput, seed = 0): number => {
  if (seed !== 0 && !Number.isSafeInteger(seed)) {
    throw new InvalidArgumentError(`seed must be a safe integer, got ${String(seed)}`)
  }
  const s32 = seed >>> 0
  if (typeof input === 'string') {
    const h = xxh32Ascii(input, s32)
    if (h >= 0) return h
    const len = encodeUtf8Scratch(input)
    return xxh32Bytes(utf8Scratch(), len, s32)
  }
  if (!(input instanceof Uint8Array)) {
    throw new InvalidArgumentError(`input must be a string or a Uint8Array, got ${typeof input}`)
  }
  return xxh32Bytes(input, input.length, s32)
}

/**
 * A 32-bit finalizer (MurmurHash3 `fmix32`): a bijection on uint32 whose
 * output bits each depend on every input bit. Derives further well-spread
 * values from one hash cheaply. Internal to `src/hash/`.
 */
export const mix32 = (x: number): number => {
  x ^= x >>> 16
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  x ^= x >>> 16
  return x >>> 0
}
