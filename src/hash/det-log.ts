/**
 * A natural logarithm built only from `+ - * /`, which JavaScript rounds the
 * same way everywhere (IEEE 754, no fused multiply-add). `Math.log` is not
 * required to be correctly rounded, and engines differ in the last bit, which
 * could flip a near-tie between two rendezvous scores from one runtime to
 * another. Accurate to a few units in the last place.
 *
 * Internal to `src/hash/`.
 *
 * @module
 */

const SQRT_HALF = 0.7071067811865476
const SQRT2 = 1.4142135623730951
const LN2 = 0.6931471805599453
const TWO32 = 4294967296
const TWO_M32 = 1 / TWO32

/** ln(x) for a finite x > 0 (NaN otherwise). */
export const detLog = (x: number): number => {
  if (!(x > 0) || x === Infinity) return x === Infinity ? Infinity : (x === 0 ? -Infinity : NaN)
  // x = m * 2^k with m in [sqrt(1/2), sqrt(2)); scaling by powers of two is exact
  let m = x
  let k = 0
  while (m < TWO_M32) { m *= TWO32; k -= 32 }
  while (m >= TWO32) { m *= TWO_M32; k += 32 }
  while (m < SQRT_HALF) { m *= 2; k-- }
  while (m >= SQRT2) { m *= 0.5; k++ }
  // ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), |s| <= 0.1716; m - 1 is exact
  const s = (m - 1) / (m + 1)
  const z = s * s
  const p = 1 + z * (1 / 3 + z * (1 / 5 + z * (1 / 7 + z * (1 / 9 + z * (1 / 11 + z * (1 / 13 +
    z * (1 / 15 + z * (1 / 17 + z * (1 / 19 + z * (1 / 21 + z * (1 / 23)))))))))))
  return k * LN2 + 2 * s * p
}
