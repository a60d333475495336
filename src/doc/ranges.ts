/**
 * Dot-range helpers of the Doc's sync paths (fresh dots of an update,
 * unions of range sets).
 *
 * @module
 */
import type { DotClock } from './dot-clock.js'
import type { Ranges } from './update-codec.js'

/** Same replica ids in the same order (decoded ids repeat as the same strings: mostly an identity check). */
export const sameIds = (a: readonly string[], b: readonly string[]): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Appends to `out` the sub-ranges of [a, b] not in `cc` for replica r. */
export const freshRanges = (cc: DotClock, r: number, a: number, b: number, out: number[]): void => {
  const start = Math.max(a, (cc.vv[r] ?? 0) + 1)
  if (start > b) return
  const cloud = cc.cloudRanges(r)
  let from = start
  for (let i = 0; i < cloud.length && from <= b; i += 2) {
    if (cloud[i + 1] < from) continue
    if (cloud[i] > b) break
    if (cloud[i] > from) out.push(from, cloud[i] - 1)
    from = cloud[i + 1] + 1
  }
  if (from <= b) out.push(from, b)
}

/** Whether any replica has a range. */
export const hasDots = (ranges: Ranges): boolean => ranges.some(a => a !== undefined && a.length > 0)

/** The union of two sets of dot ranges (each per replica, in any order). */
export const joinRanges = (a: Ranges, b: Ranges): Ranges => {
  const out: Ranges = []
  for (let r = 0; r < Math.max(a.length, b.length); r++) {
    const x = a[r]
    const y = b[r]
    if (x === undefined && y === undefined) continue
    out[r] = coalesce(x === undefined ? y! : y === undefined ? x : x.concat(y))
  }
  return out
}

/** Dot ranges `[start, end, …]` of one replica, in any order, as sorted ranges with adjacent and overlapping ones joined. */
export const coalesce = (a: number[]): number[] => {
  let src = a
  for (let i = 2; i < a.length; i += 2) {
    if (a[i] > a[i - 1]) continue
    const pairs: Array<[number, number]> = []
    for (let j = 0; j < a.length; j += 2) pairs.push([a[j], a[j + 1]])
    pairs.sort((x, y) => x[0] - y[0])
    src = pairs.flat()
    break
  }
  const out: number[] = []
  for (let i = 0; i < src.length; i += 2) {
    const n = out.length
    if (n > 0 && src[i] <= out[n - 1] + 1) {
      if (src[i + 1] > out[n - 1]) out[n - 1] = src[i + 1]
    } else {
      out.push(src[i], src[i + 1])
    }
  }
  return out
}

/** The causal context as ranges per replica (the version vector as `[1, v]`, then the cloud). */
export const ccRanges = (cc: DotClock, nReplicas: number): Ranges => {
  const out: Ranges = []
  for (let r = 0; r < nReplicas; r++) {
    const v = cc.vv[r] ?? 0
    const cloud = cc.cloudRanges(r)
    if (v === 0 && cloud.length === 0) continue
    const a: number[] = v > 0 ? [1, v] : []
    for (let i = 0; i < cloud.length; i += 2) a.push(cloud[i], cloud[i + 1])
    out[r] = a
  }
  return out
}

/** Whether `remote` has every dot of `cc` (replicas 0 … nReplicas - 1). */
export const covers = (cc: DotClock, remote: DotClock, nReplicas: number): boolean => {
  for (let r = 0; r < nReplicas; r++) {
    const v = cc.vv[r] ?? 0
    const rv = remote.vv[r] ?? 0
    if (v > rv) for (let s = rv + 1; s <= v; s++) if (!remote.has(r, s)) return false
    const cloud = cc.cloudRanges(r)
    for (let i = 0; i < cloud.length; i += 2) for (let s = cloud[i]; s <= cloud[i + 1]; s++) if (!remote.has(r, s)) return false
  }
  return true
}

/** Appends to `fresh` the dots of u's causal context `cc` has not seen yet (wire indices mapped by `rmap`); true if that is all of them. */
export const collectFresh = (cc: DotClock, u: { cc: Ranges }, rmap: readonly number[], fresh: Ranges): boolean => {
  let all = true
  for (let w = 0; w < u.cc.length; w++) {
    const a = u.cc[w]
    if (a === undefined) continue
    const r = rmap[w]
    const out = (fresh[r] ??= [])
    const from = out.length
    for (let i = 0; i < a.length; i += 2) freshRanges(cc, r, a[i], a[i + 1], out)
    if (!all) continue
    if (out.length - from !== a.length) all = false
    else for (let i = 0; i < a.length; i++) if (out[from + i] !== a[i]) { all = false; break }
  }
  return all
}
