/**
 * Helpers for {@link IdRanges}: per replica index, sorted inclusive
 * `[start, end, …]` pairs.
 *
 * @module
 */
import type { IdRanges } from './sequence-api.js'

/** Appends `[a, b]` to `out[r]`, joining it with the last range when they touch. */
export const pushRange = (out: IdRanges, r: number, a: number, b: number): void => {
  let arr = out[r]
  if (arr === undefined) arr = out[r] = []
  const n = arr.length
  if (n > 0 && arr[n - 1] + 1 >= a && arr[n - 2] <= a) {
    if (b > arr[n - 1]) arr[n - 1] = b
    return
  }
  arr.push(a, b)
}

/** Sorts and merges the pairs of one replica. */
export const normalizeList = (arr: number[]): number[] => {
  const pairs: Array<[number, number]> = []
  for (let i = 0; i < arr.length; i += 2) pairs.push([arr[i], arr[i + 1]])
  pairs.sort((x, y) => x[0] - y[0])
  const out: number[] = []
  for (const [a, b] of pairs) {
    const n = out.length
    if (n > 0 && out[n - 1] + 1 >= a) {
      if (b > out[n - 1]) out[n - 1] = b
    } else out.push(a, b)
  }
  return out
}

/** Removes `[a, b]` from a normalized list; returns the new list. */
export const subtractRange = (arr: number[], a: number, b: number): number[] => {
  const out: number[] = []
  for (let i = 0; i < arr.length; i += 2) {
    const x = arr[i]
    const y = arr[i + 1]
    if (y < a || x > b) { out.push(x, y); continue }
    if (x < a) out.push(x, a - 1)
    if (y > b) out.push(b + 1, y)
  }
  return out
}
