/**
 * Jump consistent hash (Lamping & Veach, "A Fast, Minimal Memory, Consistent
 * Hash Algorithm", 2014): maps a key to one of `buckets` numbered buckets
 * with no state at all. When `buckets` grows from n to n + 1, exactly the keys
 * that land in the new bucket n move (about 1/(n + 1) of them); nothing moves
 * between old buckets. Buckets can only be added or removed at the end, so it
 * suits numbered shards rather than named nodes (use {@link HashRing} or
 * {@link Rendezvous} for those).
 *
 * ```ts
 * import { JumpHash } from 'aegis-replication'
 * JumpHash.hash('user:42', 16) // a shard in [0, 16)
 * JumpHash.hash(42, 16)        // the reference C function of the 64-bit key 42
 * ```
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import { xxh64Into } from './hash64.js'

/** The largest bucket count: the reference takes an `int32_t`. */
const MAX_BUCKETS = 0x7fffffff
const TWO32 = 4294967296
const TWO64 = 18446744073709551616

/**
 * The reference loop on the 64-bit key (hi, lo). The LCG step
 * `key = key * 2862933555777941757 + 1 (mod 2^64)` is done on 16-bit limbs
 * (the multiplier is 0x27bb2ee6_87b0b0fd), so every step equals the C one.
 */
const jump = (hi: number, lo: number, buckets: number): number => {
  let b = -1
  let j = 0
  while (j < buckets) {
    b = j
    // (hi, lo) * (0x27bb2ee6, 0x87b0b0fd) + 1
    const l0 = lo & 0xffff
    const l1 = lo >>> 16
    const p00 = l0 * 0xb0fd + 1 // + 1 folded in: stays below 2^32
    const p01 = l0 * 0x87b0
    const p10 = l1 * 0xb0fd
    const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
    const nlo = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0
    hi = (l1 * 0x87b0 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) +
      Math.imul(hi, 0x87b0b0fd) + Math.imul(lo, 0x27bb2ee6)) >>> 0
    lo = nlo
    // j = (b + 1) * (double(1 << 31) / double((key >> 33) + 1)), truncated
    j = Math.floor((b + 1) * (2147483648 / ((hi >>> 1) + 1)))
  }
  return b
}

const pair = /* @__PURE__ */ new Uint32Array(2)

const checkBuckets = (buckets: number): void => {
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > MAX_BUCKETS) {
    throw new InvalidArgumentError(`buckets must be an integer in [1, ${MAX_BUCKETS}], got ${String(buckets)}`)
  }
}

/** A key for {@link JumpHash.hash}: a string, or a 64-bit integer. */
export type JumpKey = string | number | bigint

/** Jump consistent hash. See the module documentation. */
export const JumpHash = {
  /**
   * The bucket in `[0, buckets)` for `key`.
   *
   * A string key is hashed to 64 bits with XXH64 (seed 0) of its UTF-8
   * bytes first. A number or bigint key is the 64-bit key itself, exactly as
   * the reference `JumpConsistentHash(uint64_t key, int32_t num_buckets)`
   * takes it: integers in [-2^63, 2^64), negatives in two's complement.
   * Numbers must be integers (any integer a double holds exactly is fine).
   *
   * @throws {InvalidArgumentError} if `buckets` is not an integer in
   *   [1, 2^31 - 1], or a numeric key is not an integer in range.
   */
  hash (key: JumpKey, buckets: number): number {
    checkBuckets(buckets)
    let hi: number
    let lo: number
    if (typeof key === 'string') {
      xxh64Into(key, pair)
      hi = pair[0]
      lo = pair[1]
    } else if (typeof key === 'number') {
      if (!Number.isInteger(key) || key < -(TWO64 / 2) || key >= TWO64) {
        throw new InvalidArgumentError(`key must be a string or an integer in [-2^63, 2^64), got ${key}`)
      }
      const u = key < 0 ? -key : key
      hi = Math.floor(u / TWO32) >>> 0
      lo = (u % TWO32) >>> 0
      if (key < 0) { // two's complement: ~u + 1
        lo = (~lo + 1) >>> 0
        hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0
      }
    } else if (typeof key === 'bigint') {
      if (key < -(1n << 63n) || key >= 1n << 64n) {
        throw new InvalidArgumentError(`key must be in [-2^63, 2^64), got ${key}`)
      }
      const u = BigInt.asUintN(64, key)
      hi = Number(u >> 32n)
      lo = Number(u & 0xffffffffn)
    } else {
      throw new InvalidArgumentError(`key must be a string, number or bigint, got ${typeof key}`)
    }
    return jump(hi, lo, buckets)
  }
} as const
