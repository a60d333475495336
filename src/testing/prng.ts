/**
 * A small, fast, seeded pseudo-random generator: sfc32 (Chris Doty-Humphrey's
 * Small Fast Counting generator, 128 bits of state) seeded through
 * splitmix32 from one 32-bit integer. Built from 32-bit integer arithmetic
 * only, so a seed yields the same sequence in every JavaScript runtime.
 *
 * ```ts
 * import { Prng } from 'aegis-replication/testing'
 * const prng = new Prng(42)
 * prng.int(1, 6) // the same roll on every machine
 * ```
 *
 * @module
 */
import type { Random } from '../components.js'
import { InvalidArgumentError } from '../errors.js'

const TWO_32 = 0x1_0000_0000

/** splitmix32's output function over a Weyl sequence (constants from Hash Prospector). */
const splitmix32 = (state: number): number => {
  let z = state
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad)
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97)
  return (z ^ (z >>> 15)) >>> 0
}

const checkSeed = (seed: number): number => {
  if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError(`a seed must be a safe integer, got ${seed}`)
  return seed >>> 0
}

/** A seeded generator; see the module documentation. */
export class Prng implements Random {
  /** The seed this generator started from, reduced to 32 bits. */
  readonly seed: number
  private a = 0
  private b = 0
  private c = 0
  private d = 0

  /** @param seed - any safe integer; only its low 32 bits matter. */
  constructor (seed: number) {
    this.seed = checkSeed(seed)
    let s = this.seed
    const nextSeed = (): number => { s = (s + 0x9e3779b9) | 0; return splitmix32(s) }
    this.a = nextSeed()
    this.b = nextSeed()
    this.c = nextSeed()
    this.d = nextSeed()
    for (let i = 0; i < 12; i++) this.uint32()
  }

  /** The next 32 random bits, as an unsigned integer. */
  uint32 (): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** A number in `[0, 1)` with 32 bits of precision. */
  next (): number {
    return this.uint32() / TWO_32
  }

  /**
   * An integer in `[min, maxInclusive]`, uniformly (rejection sampling, no
   * modulo bias for ranges up to 2^32).
   */
  int (min: number, maxInclusive: number): number {
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(maxInclusive) || min > maxInclusive) {
      throw new InvalidArgumentError(`int(min, max) needs safe integers with min <= max, got ${min}, ${maxInclusive}`)
    }
    const range = maxInclusive - min + 1
    if (range <= TWO_32) {
      const limit = TWO_32 - (TWO_32 % range)
      let u = this.uint32()
      while (u >= limit) u = this.uint32()
      return min + (u % range)
    }
    // 53 random bits for very wide ranges.
    const x = (this.uint32() * 0x20_0000 + (this.uint32() >>> 11)) / 2 ** 53
    return min + Math.floor(x * range)
  }

  /** `true` with probability `p`. */
  bool (p = 0.5): boolean {
    return this.next() < p
  }

  /**
   * One element of `array`, uniformly.
   *
   * @throws {InvalidArgumentError} if `array` is empty.
   */
  pick<T> (array: readonly T[]): T {
    if (array.length === 0) throw new InvalidArgumentError('pick() from an empty array')
    return array[this.int(0, array.length - 1)]
  }

  /** Shuffles `array` in place (Fisher–Yates) and returns it. */
  shuffle<T> (array: T[]): T[] {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(0, i)
      const t = array[i]
      array[i] = array[j]
      array[j] = t
    }
    return array
  }

  /**
   * A child generator seeded from this one's stream: the child's sequence is
   * independent of how much the parent is used afterwards.
   */
  fork (): Prng {
    return new Prng(this.uint32())
  }
}
