/**
 * "Did you mean …?" for misspelt config keys.
 *
 * @module
 */

const normalize = (s: string): string => s.toLowerCase().replace(/[-_]/g, '')

/** Edit distance with adjacent transpositions (optimal string alignment), or `limit + 1` once past `limit`. */
const distance = (a: string, b: string, limit: number): number => {
  if (Math.abs(a.length - b.length) > limit) return limit + 1
  let prev2: number[] = []
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    let best = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1)
      row.push(d)
      best = Math.min(best, d)
    }
    if (best > limit) return limit + 1
    prev2 = prev
    prev = row
  }
  return prev[b.length]
}

/**
 * The candidate `name` most likely meant: the same word in another case or
 * with other separators (`shardCount` for `shard_count`), else the nearest
 * within 1 edit (names up to 4 letters) or 2 edits; `undefined` if none.
 */
export const closest = (name: string, candidates: readonly string[]): string | undefined => {
  const n = normalize(name)
  let best: string | undefined
  let bestDistance = n.length <= 4 ? 2 : 3
  for (const c of candidates) {
    const d = distance(n, normalize(c), bestDistance - 1)
    if (d < bestDistance) { best = c; bestDistance = d }
  }
  return best
}
