/**
 * What travels between replicas: remote deletes (remembered until their
 * ids arrive), the runs another replica lacks in an integrable order, and
 * the delete set.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import { sliceContent, concatContent } from './content.js'
import type { CoreState } from './core-state.js'
import { normalizeList, pushRange, subtractRange } from './ranges.js'
import type { HeldSpan, IdRanges, SeqRun } from './sequence-api.js'
import type { Piece } from './tree.js'

/** Deletes the held ids of `[a, b]` of replica `r`; returns the parts not held. */
const deleteHeld = (st: CoreState, r: number, a: number, b: number): number[] => {
  const missing: number[] = []
  let x = a
  for (let p of st.ids.overlapping(r, a, b)) {
    const pend = p.s + p.len - 1
    if (p.s > x) missing.push(x, p.s - 1)
    x = pend + 1
    if (p.content === null || p.leaf === null) continue
    if (a > p.s) p = st.split(p, a - p.s)
    if (b < p.s + p.len - 1) st.split(p, b - p.s + 1)
    st.deletePiece(p)
  }
  if (x <= b) missing.push(x, b)
  return missing
}

export const applyDeleteRanges = (st: CoreState, ids: IdRanges): void => {
  if (!Array.isArray(ids)) throw new InvalidArgumentError('delete ranges must be an array')
  for (let r = 0; r < ids.length; r++) {
    const arr = ids[r]
    if (arr === undefined || arr === null) continue
    for (let i = 0; i < arr.length; i += 2) {
      const a = arr[i]
      const b = arr[i + 1]
      if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || a < 0 || b < a) throw new InvalidArgumentError(`bad delete range [${a}, ${b}] of replica ${r}`)
    }
  }
  st.setCache(null, 0)
  for (let r = 0; r < ids.length; r++) {
    const arr = ids[r]
    if (arr === undefined || arr === null) continue
    for (let i = 0; i < arr.length; i += 2) {
      const missing = deleteHeld(st, r, arr[i], arr[i + 1])
      if (missing.length > 0) st.pending[r] = normalizeList((st.pending[r] ?? []).concat(missing))
    }
  }
}

/** Applies remembered deletes to ids `[a, b]` of replica `r` that just arrived. */
export const applyPendingTo = (st: CoreState, r: number, a: number, b: number): void => {
  let list = st.pending[r]
  if (list === undefined || list.length === 0) return
  for (let i = 0; i < list.length; i += 2) {
    const x = Math.max(a, list[i])
    const y = Math.min(b, list[i + 1])
    if (x > y) continue
    deleteHeld(st, r, x, y)
    list = subtractRange(list, x, y)
    i -= 2
  }
  st.pending[r] = list
}

/** Every deleted id, merged, with the remembered deletes of ids not held yet. */
export const deleteSetOf = (st: CoreState): IdRanges => {
  const out: IdRanges = []
  const n = Math.max(st.ids.byReplica.length, st.pending.length)
  for (let r = 0; r < n; r++) {
    for (const p of st.ids.pieces(r)) if (p.content === null) pushRange(out, r, p.s, p.s + p.len - 1)
    const pend = st.pending[r]
    if (pend !== undefined && pend.length > 0) out[r] = normalizeList((out[r] ?? []).concat(pend))
  }
  return out
}

/** The runs holding ids `held` says the other side lacks, origins first. */
export const runsSinceOf = (st: CoreState, held: (r: number, s: number) => boolean, span?: HeldSpan): SeqRun[] => {
  const out: SeqRun[] = []
  const epoch = ++st.epoch
  const stack: Piece[] = []
  const dep = (id: { r: number, s: number } | null): Piece | null => {
    if (id === null) return null
    const p = st.ids.find(id.r, id.s)!
    return p.mark === epoch ? null : p
  }
  for (let r = 0; r < st.ids.byReplica.length; r++) {
    for (const start of st.ids.pieces(r)) {
      if (start.mark === epoch) continue
      stack.push(start)
      while (stack.length > 0) {
        const p = stack[stack.length - 1]
        if (p.mark === epoch) { stack.pop(); continue }
        const d = dep(p.left) ?? dep(p.right)
        if (d !== null) {
          // origins are older than the elements that name them: the graph has no cycle
          if (stack.length > st.tree.count) throw new Error('seq: origin cycle in runsSince')
          stack.push(d)
          continue
        }
        p.mark = epoch
        stack.pop()
        emit(out, p, held, span)
      }
    }
  }
  return out
}

/** The end (exclusive, piece offset) of the stretch from offset `k` held alike. */
const stretch = (p: Piece, k: number, held: (r: number, s: number) => boolean, span: HeldSpan | undefined): number => {
  const last = p.s + p.len - 1
  if (span !== undefined) {
    const e = span(p.r, p.s + k, last)
    if (!Number.isSafeInteger(e) || e < p.s + k || e > last) throw new Error(`seq: span(${p.r}, ${p.s + k}, ${last}) returned ${e}`)
    return e - p.s + 1
  }
  const h = held(p.r, p.s + k)
  let e = k + 1
  while (e < p.len && held(p.r, p.s + e) === h) e++
  return e
}

const emit = (out: SeqRun[], p: Piece, held: (r: number, s: number) => boolean, span: HeldSpan | undefined): void => {
  let k = 0
  while (k < p.len) {
    if (held(p.r, p.s + k)) { k = stretch(p, k, held, span); continue }
    const e = stretch(p, k, held, span)
    const s = p.s + k
    const content = p.content === null ? null : sliceContent(p.content, k, e)
    const last = out.length > 0 ? out[out.length - 1] : null
    const left = k === 0 ? p.left : { r: p.r, s: s - 1 }
    if (last !== null && last.r === p.r && last.s + last.len === s && left !== null && left.r === p.r && left.s === s - 1 &&
      (last.content === null) === (content === null) && sameOrigin(last.right, p.right)) {
      last.len += e - k
      if (content !== null) last.content = concatContent(last.content!, content)
    } else {
      out.push({ r: p.r, s, len: e - k, left, right: p.right, content })
    }
    k = e
  }
}

const sameOrigin = (a: { r: number, s: number } | null, b: { r: number, s: number } | null): boolean =>
  a === b || (a !== null && b !== null && a.r === b.r && a.s === b.s)
