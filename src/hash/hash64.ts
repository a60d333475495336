/**
 * XXH64, the 64-bit xxHash by Yann Collet
 * (https://github.com/Cyan4973/xxHash, `doc/xxhash_spec.md`), equal to the
 * reference C implementation bit for bit, checked against the official
 * sanity vectors (`cli/xsum_sanity_check.c`), so a key hashes the same in
 * every browser, worker, Node and edge runtime, and in other languages'
 * xxHash libraries. XXH32 is in `xxh32.ts`.
 *
 * Strings are hashed as their UTF-8 bytes (what `TextEncoder` gives), without
 * allocating. XXH64 runs on 32-bit halves with `Math.imul` and 16-bit limbs;
 * BigInt appears only in the convenience wrappers that return one.
 *
 * ```ts
 * import { xxh64, xxh64Hex } from 'aegis-replication'
 * xxh64('abc')    // 0x44bc2cf5ad770999n
 * xxh64Hex('abc') // '44bc2cf5ad770999'
 * ```
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import { encodeUtf8Scratch, utf8Scratch } from './utf8.js'

// XXH64 primes as (high, low) 32-bit halves
const P1H = 0x9e3779b1; const P1L = 0x85ebca87
const P2H = 0xc2b2ae3d; const P2L = 0x27d4eb4f
const P3H = 0x165667b1; const P3L = 0x9e3779f9
const P4H = 0x85ebca77; const P4L = 0xc2b2ae63
const P5H = 0x27d4eb2f; const P5L = 0x165667c5

const TWO32 = 4294967296

// 64-bit helpers on (high, low) uint32 halves: each returns the low half and
// leaves the high half in `rh`, so nothing is allocated.
let rh = 0

/** (ah, al) * (bh, bl) mod 2^64. */
const mul = (ah: number, al: number, bh: number, bl: number): number => {
  const a0 = al & 0xffff
  const a1 = al >>> 16
  const b0 = bl & 0xffff
  const b1 = bl >>> 16
  // 16 x 16 bit products are exact in a double
  const p00 = a0 * b0
  const p01 = a0 * b1
  const p10 = a1 * b0
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
  rh = (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0
  return (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0
}

/** (ah, al) + (bh, bl) mod 2^64. */
const add = (ah: number, al: number, bh: number, bl: number): number => {
  const s = al + bl
  rh = (ah + bh + (s >= TWO32 ? 1 : 0)) >>> 0
  return s >>> 0
}

/** XXH64_round: (acc + input * P2) rotl 31, times P1. */
const round64 = (ah: number, al: number, ih: number, il: number): number => {
  let l = mul(ih, il, P2H, P2L)
  l = add(ah, al, rh, l)
  const h = rh
  return mul(((h << 31) | (l >>> 1)) >>> 0, ((l << 31) | (h >>> 1)) >>> 0, P1H, P1L)
}

/** XXH64_mergeRound: (acc ^ round(0, val)) * P1 + P4. */
const merge64 = (ah: number, al: number, vh: number, vl: number): number => {
  const l = round64(0, 0, vh, vl)
  const m = mul((ah ^ rh) >>> 0, (al ^ l) >>> 0, P1H, P1L)
  return add(rh, m, P4H, P4L)
}

/** Little-endian uint32 at `b[i]`. Internal to `src/hash/`. */
export const read32 = (b: Uint8Array, i: number): number =>
  (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0

/**
 * XXH64 of `b[0, len)` with the 64-bit seed (sh, sl): returns the low half
 * and leaves the high half in `rh`.
 */
const xxh64Core = (b: Uint8Array, len: number, sh: number, sl: number): number => {
  let i = 0
  let hh: number
  let hl: number
  if (len >= 32) {
    let v1l = add(sh, sl, P1H, P1L)
    v1l = add(rh, v1l, P2H, P2L)
    let v1h = rh
    let v2l = add(sh, sl, P2H, P2L)
    let v2h = rh
    let v3h = sh
    let v3l = sl
    let v4l = add(sh, sl, 0x61c8864e, 0x7a143579) // seed - P1
    let v4h = rh
    const limit = len - 32
    do {
      v1l = round64(v1h, v1l, read32(b, i + 4), read32(b, i)); v1h = rh
      v2l = round64(v2h, v2l, read32(b, i + 12), read32(b, i + 8)); v2h = rh
      v3l = round64(v3h, v3l, read32(b, i + 20), read32(b, i + 16)); v3h = rh
      v4l = round64(v4h, v4l, read32(b, i + 28), read32(b, i + 24)); v4h = rh
      i += 32
    } while (i <= limit)
    // rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)
    hl = add(
      ((v1h << 1) | (v1l >>> 31)) >>> 0, ((v1l << 1) | (v1h >>> 31)) >>> 0,
      ((v2h << 7) | (v2l >>> 25)) >>> 0, ((v2l << 7) | (v2h >>> 25)) >>> 0
    )
    hl = add(rh, hl, ((v3h << 12) | (v3l >>> 20)) >>> 0, ((v3l << 12) | (v3h >>> 20)) >>> 0)
    hl = add(rh, hl, ((v4h << 18) | (v4l >>> 14)) >>> 0, ((v4l << 18) | (v4h >>> 14)) >>> 0)
    hl = merge64(rh, hl, v1h, v1l)
    hl = merge64(rh, hl, v2h, v2l)
    hl = merge64(rh, hl, v3h, v3l)
    hl = merge64(rh, hl, v4h, v4l)
    hh = rh
  } else {
    hl = add(sh, sl, P5H, P5L)
    hh = rh
  }
  // + len (as a 64-bit number; lengths stay below 2^53)
  hl = add(hh, hl, Math.floor(len / TWO32) >>> 0, len >>> 0)
  hh = rh
  while (i + 8 <= len) {
    const kl = round64(0, 0, read32(b, i + 4), read32(b, i))
    hh = (hh ^ rh) >>> 0
    hl = (hl ^ kl) >>> 0
    // rotl(h, 27) * P1 + P4
    const rl = mul(((hh << 27) | (hl >>> 5)) >>> 0, ((hl << 27) | (hh >>> 5)) >>> 0, P1H, P1L)
    hl = add(rh, rl, P4H, P4L)
    hh = rh
    i += 8
  }
  if (i + 4 <= len) {
    const kl = mul(0, read32(b, i), P1H, P1L)
    hh = (hh ^ rh) >>> 0
    hl = (hl ^ kl) >>> 0
    // rotl(h, 23) * P2 + P3
    const rl = mul(((hh << 23) | (hl >>> 9)) >>> 0, ((hl << 23) | (hh >>> 9)) >>> 0, P2H, P2L)
    hl = add(rh, rl, P3H, P3L)
    hh = rh
    i += 4
  }
  while (i < len) {
    const kl = mul(0, b[i], P5H, P5L)
    hh = (hh ^ rh) >>> 0
    hl = (hl ^ kl) >>> 0
    // rotl(h, 11) * P1
    hl = mul(((hh << 11) | (hl >>> 21)) >>> 0, ((hl << 11) | (hh >>> 21)) >>> 0, P1H, P1L)
    hh = rh
    i++
  }
  // avalanche
  hl = (hl ^ (hh >>> 1)) >>> 0 // h ^= h >> 33
  hl = mul(hh, hl, P2H, P2L)
  hh = rh
  hl = (hl ^ ((hl >>> 29) | (hh << 3))) >>> 0 // h ^= h >> 29
  hh = (hh ^ (hh >>> 29)) >>> 0
  hl = mul(hh, hl, P3H, P3L)
  hh = rh
  hl = (hl ^ hh) >>> 0 // h ^= h >> 32
  rh = hh
  return hl
}

/** A key to hash: a string (hashed as UTF-8) or raw bytes. */
export type HashInput = string | Uint8Array

/** A 64-bit seed: a non-negative safe integer or a bigint below 2^64. */
export type Seed64 = number | bigint

let seedHigh = 0

/** Split a 64-bit seed: returns the low half, leaves the high half in `seedHigh`. */
const splitSeed = (seed: Seed64): number => {
  if (typeof seed === 'bigint') {
    if (seed < 0n || seed >= 1n << 64n) throw new InvalidArgumentError(`seed must be in [0, 2^64), got ${seed}`)
    seedHigh = Number(seed >> 32n)
    return Number(seed & 0xffffffffn)
  }
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new InvalidArgumentError(`seed must be a non-negative safe integer or a bigint, got ${seed}`)
  }
  seedHigh = Math.floor(seed / TWO32)
  return seed >>> 0
}

/**
 * XXH64 of `input` into `out`: `out[0]` gets the high 32 bits, `out[1]` the
 * low 32 bits. Allocates nothing; the form to use on hot paths.
 *
 * @param out - at least two elements; returned for chaining.
 * @param seed - @default 0
 */
export const xxh64Into = (input: HashInput, out: Uint32Array, seed: Seed64 = 0): Uint32Array => {
  const sl = seed === 0 ? 0 : splitSeed(seed)
  const sh = seed === 0 ? 0 : seedHigh
  let lo: number
  if (typeof input === 'string') {
    const len = encodeUtf8Scratch(input)
    lo = xxh64Core(utf8Scratch(), len, sh, sl)
  } else if (input instanceof Uint8Array) {
    lo = xxh64Core(input, input.length, sh, sl)
  } else {
    throw new InvalidArgumentError(`input must be a string or a Uint8Array, got ${typeof input}`)
  }
  out[0] = rh
  out[1] = lo
  return out
}

const pair = /* @__PURE__ */ new Uint32Array(2)

/**
 * XXH64 of `input` as a bigint in [0, 2^64).
 *
 * @param seed - @default 0
 */
export const xxh64 = (input: HashInput, seed: Seed64 = 0): bigint => {
  xxh64Into(input, pair, seed)
  return (BigInt(pair[0]) << 32n) | BigInt(pair[1])
}

/**
 * XXH64 of `input` as 16 lowercase hex digits (the form `xxhsum` prints).
 *
 * @param seed - @default 0
 */
export const xxh64Hex = (input: HashInput, seed: Seed64 = 0): string => {
  xxh64Into(input, pair, seed)
  return pair[0].toString(16).padStart(8, '0') + pair[1].toString(16).padStart(8, '0')
}

/**
 * The MurmurHash3 64-bit finalizer (`fmix64`) of (hi, lo), returning its top
 * 52 bits as an integer in [0, 2^52): a well-mixed value that a double holds
 * exactly. Internal to `src/hash/` (rendezvous scores).
 */
export const mix64Top52 = (hi: number, lo: number): number => {
  lo = (lo ^ (hi >>> 1)) >>> 0 // x ^= x >> 33
  lo = mul(hi, lo, 0xff51afd7, 0xed558ccd)
  hi = rh
  lo = (lo ^ (hi >>> 1)) >>> 0
  lo = mul(hi, lo, 0xc4ceb9fe, 0x1a85ec53)
  hi = rh
  lo = (lo ^ (hi >>> 1)) >>> 0
  return hi * 1048576 + (lo >>> 12)
}
