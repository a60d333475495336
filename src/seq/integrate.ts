/**
 * Remote integration: FugueMax in its list form (Weidner & Kleppmann,
 * "The Art of the Fugue", arXiv:2305.00583; the same order as
 * josephg/reference-crdts' YjsMod), one run at a time. Only the first
 * element of a piece can conflict with a new run: the others have the
 * previous element as left origin, which lies inside the scanned range.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import { type Content, sameId, sliceContent } from './content.js'
import { type CoreState } from './core-state.js'
import type { SeqId, SeqRun } from './sequence-api.js'
import { applyPendingTo } from './sync.js'
import { Piece } from './tree.js'

/** Integrates the ids of `run` that are not held yet (its origins are held). */
export const integrateRun = (st: CoreState, run: SeqRun): void => {
  const { r, s, len, content } = run
  if (!Number.isSafeInteger(r) || r < 0 || !Number.isSafeInteger(s) || s < 0 || !Number.isSafeInteger(len) || len < 1) {
    throw new InvalidArgumentError(`bad run (${r}, ${s}, ${len})`)
  }
  if (content !== null) {
    if (st.kind === 'text' ? typeof content !== 'string' : !Array.isArray(content)) throw new InvalidArgumentError(`run content does not fit a ${st.kind}`)
    if (content.length !== len) throw new InvalidArgumentError(`run content has ${content.length} elements, len says ${len}`)
  }
  st.setCache(null, 0)
  let k = 0
  while (k < len) {
    const held = st.ids.find(r, s + k)
    if (held !== null) { k = held.s + held.len - s; continue }
    const next = st.ids.nextAfter(r, s + k)
    const e = next === null ? len : Math.min(len, next.s - s)
    const left = k === 0 ? run.left : { r, s: s + k - 1 }
    integrateOne(st, r, s + k, e - k, left, run.right, content === null ? null : sliceContent(content, k, e))
    k = e
  }
}

const integrateOne = (st: CoreState, r: number, s: number, len: number, left: SeqId | null, right: SeqId | null, content: Content | null): void => {
  const tree = st.tree
  const lp = left === null ? null : st.endingAt(left.r, left.s)
  const rp = right === null ? null : st.startingAt(right.r, right.s)
  const epoch = ++st.epoch
  let rpOrder = -1
  let o = lp === null ? tree.first : lp.next
  let dest = o
  let scanning = false
  for (;;) {
    if (!scanning) dest = o
    if (o === null || o === rp) break
    // where the other piece's left origin lies relative to ours
    const ol = o.left
    let cl: number
    if (sameId(ol, left)) cl = 0
    else if (ol === null) cl = -1
    else cl = st.ids.find(ol.r, ol.s)!.mark === epoch ? 1 : -1
    if (cl < 0) break
    if (cl === 0) {
      // where the other piece's right origin lies relative to ours
      const or = o.right
      let cr: number
      if (sameId(or, right)) cr = 0
      else if (right === null) cr = -1
      else if (or === null) cr = 1
      else {
        const op = st.ids.find(or.r, or.s)!
        if (op === rp) cr = 1
        else {
          if (rpOrder < 0) rpOrder = tree.orderOf(rp!)
          cr = tree.orderOf(op) < rpOrder ? -1 : 1
        }
      }
      if (cr < 0) scanning = true
      else if (cr === 0) {
        const c = st.compareReplicas(r, o.r) || (s - o.s)
        if (c < 0) break
        scanning = false
      } else scanning = false
    }
    o.mark = epoch
    o = o.next
  }
  const after = dest === null ? tree.last : dest.prev
  const placed = st.place(after, new Piece(r, s, len, left, right, content))
  if (content !== null && st.recorder !== null) {
    st.recorder.insert(tree.visibleBefore(placed) + placed.len - len, content)
  }
  applyPendingTo(st, r, s, s + len - 1)
}
