/**
 * The sequence CRDT core behind the Doc's text and list containers:
 * FugueMax in its list form with left and right origins, run-length
 * encoded (see `notes/seq-core.md`).
 *
 * @module
 */
import type { JsonValue } from '../codec/value.js'
import { InvalidArgumentError } from '../errors.js'
import { type Content, isHigh, isLow, sameId } from './content.js'
import { CoreState } from './core-state.js'
import { DeltaRecorder } from './delta.js'
import { integrateRun } from './integrate.js'
import { normalizeList, pushRange } from './ranges.js'
import type { HeldSpan, CreateSequence, IdRanges, SeqDelta, SeqId, SeqKind, SeqPosition, SeqRun, SequenceCore, SequenceOptions } from './sequence-api.js'
import { applyDeleteRanges, deleteSetOf, runsSinceOf } from './sync.js'
import { Piece } from './tree.js'

const checkIndex = (i: number, max: number, what: string): void => {
  if (!Number.isInteger(i) || i < 0 || i > max) throw new InvalidArgumentError(`${what} ${i} is out of range 0…${max}`)
}

class Sequence implements SequenceCore {
  private readonly st: CoreState

  constructor (options: SequenceOptions) {
    if (options.kind !== 'text' && options.kind !== 'list') throw new InvalidArgumentError(`unknown sequence kind ${String(options.kind)}`)
    this.st = new CoreState(options.kind, options.compareReplicas)
  }

  get kind (): SeqKind { return this.st.kind }
  get length (): number { return this.st.tree.vis }

  toString (): string {
    if (this.st.kind !== 'text') return JSON.stringify(this.toArray())
    const parts: string[] = []
    for (let p = this.st.tree.first; p !== null; p = p.next) if (p.content !== null) parts.push(p.content as string)
    return parts.join('')
  }

  toArray (): JsonValue[] {
    const out: JsonValue[] = []
    for (let p = this.st.tree.first; p !== null; p = p.next) {
      const c = p.content
      if (c === null) continue
      if (typeof c === 'string') for (let i = 0; i < c.length; i++) out.push(c[i])
      else for (let i = 0; i < c.length; i++) out.push(c[i])
    }
    return out
  }

  get (index: number): string | JsonValue | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) return undefined
    const { piece, offset } = this.st.locate(index)
    return piece.content![offset]
  }

  slice (start: number, end = this.length): string | JsonValue[] {
    start = Math.max(0, Math.min(start, this.length))
    end = Math.max(start, Math.min(end, this.length))
    const text = this.st.kind === 'text'
    const parts: Content[] = []
    let n = end - start
    if (n > 0) {
      let { piece: p, offset } = this.st.locate(start) as { piece: Piece | null, offset: number }
      while (n > 0 && p !== null) {
        if (p.content !== null) {
          const take = Math.min(n, p.len - offset)
          parts.push(p.content.slice(offset, offset + take))
          n -= take
          offset = 0
        }
        p = p.next
      }
    }
    return text ? (parts as string[]).join('') : ([] as JsonValue[]).concat(...(parts as JsonValue[][]))
  }

  /** Throws when a boundary at visible index `i` would split a surrogate pair (text only). */
  private checkBoundary (i: number): void {
    if (!this.st.surrogates || i <= 0 || i >= this.length) return
    const a = (this.get(i - 1) as string).charCodeAt(0)
    const b = (this.get(i) as string).charCodeAt(0)
    if (isHigh(a) && isLow(b)) throw new InvalidArgumentError(`index ${i} splits a surrogate pair`)
  }

  insert (index: number, content: string | JsonValue[], r: number, s: number): SeqRun {
    const st = this.st
    checkIndex(index, this.length, 'insert index')
    if (st.kind === 'text' ? typeof content !== 'string' : !Array.isArray(content)) {
      throw new InvalidArgumentError(`a ${st.kind} takes ${st.kind === 'text' ? 'a string' : 'an array'}`)
    }
    const n = content.length
    if (n === 0) throw new InvalidArgumentError('empty insert (allocate no ids and skip it)')
    if (!Number.isSafeInteger(r) || r < 0 || !Number.isSafeInteger(s) || s < 0) throw new InvalidArgumentError(`bad id (${r}, ${s})`)
    this.checkBoundary(index)
    st.noteContent(content)
    const own: Content = typeof content === 'string' ? content : content.slice()
    // the insertion point: after any tombstones, before visible element `index`
    let leftP: Piece | null
    let rightP: Piece | null
    if (index === this.length) {
      leftP = st.tree.last
      rightP = null
    } else {
      const { piece, offset } = st.locate(index)
      if (offset > 0) {
        leftP = piece
        rightP = st.split(piece, offset)
      } else {
        leftP = piece.prev
        rightP = piece
      }
    }
    const left: SeqId | null = leftP === null ? null : { r: leftP.r, s: leftP.s + leftP.len - 1 }
    const right: SeqId | null = rightP === null ? null : { r: rightP.r, s: rightP.s }
    const run: SeqRun = { r, s, len: n, left, right, content }
    let placed: Piece
    if (leftP !== null && leftP.content !== null && leftP.r === r && leftP.s + leftP.len === s && sameId(leftP.right, right)) {
      // typing on: extend the previous run in place
      if (typeof own === 'string') {
        const c = (leftP.content as string) + own
        // one-character appends build a deep rope; flatten it now and then (amortised O(1) per char)
        if (++leftP.appends >= 64 + (c.length >> 3)) {
          leftP.appends = 0
          c.charCodeAt(0)
        }
        leftP.content = c
      } else for (const v of own) (leftP.content as JsonValue[]).push(v)
      leftP.len += n
      st.tree.addVis(leftP, n)
      placed = leftP
    } else placed = st.place(leftP, new Piece(r, s, n, left, right, own))
    st.setCache(placed, index + n - placed.len)
    if (st.recorder !== null) st.recorder.insert(index, own)
    return run
  }

  delete (index: number, length: number): IdRanges {
    const st = this.st
    checkIndex(index, this.length, 'delete index')
    checkIndex(length, this.length - index, 'delete length')
    const out: IdRanges = []
    if (length === 0) return out
    this.checkBoundary(index)
    this.checkBoundary(index + length)
    let { piece: p, offset } = st.locate(index) as { piece: Piece | null, offset: number }
    if (offset > 0) p = st.split(p!, offset)
    let n = length
    let last: Piece | null = null
    while (n > 0 && p !== null) {
      if (p.content === null) { p = p.next; continue }
      if (p.len > n) st.split(p, n)
      n -= p.len
      pushRange(out, p.r, p.s, p.s + p.len - 1)
      last = st.deletePiece(p)
      p = last.next
    }
    st.setCache(last, index)
    return normalize(out)
  }

  canIntegrate (run: SeqRun): boolean {
    const { r, s, len, left, right } = run
    // only the first new element needs `left`: later ones follow a held element of the run
    if (left !== null && !this.has(r, s) && !this.has(left.r, left.s)) return false
    if (right !== null && !this.has(right.r, right.s)) return this.allHeld(r, s, len)
    return true
  }

  private allHeld (r: number, s: number, len: number): boolean {
    for (let k = 0; k < len;) {
      const p = this.st.ids.find(r, s + k)
      if (p === null) return false
      k = p.s + p.len - s
    }
    return true
  }

  integrate (run: SeqRun): void {
    if (!this.canIntegrate(run)) throw new InvalidArgumentError(`run (${run.r}, ${run.s}) has an origin that is not held`)
    integrateRun(this.st, run)
  }

  applyDeletes (ids: IdRanges): void { applyDeleteRanges(this.st, ids) }

  has (r: number, s: number): boolean { return this.st.ids.find(r, s) !== null }

  runsSince (held: (r: number, s: number) => boolean, span?: HeldSpan): SeqRun[] { return runsSinceOf(this.st, held, span) }

  deleteSet (): IdRanges { return deleteSetOf(this.st) }

  beginDelta (): void { this.st.recorder = new DeltaRecorder() }

  takeDelta (): SeqDelta | null {
    const rec = this.st.recorder
    this.st.recorder = null
    return rec === null ? null : rec.take()
  }

  relativePosition (index: number, assoc: 'before' | 'after' = 'before'): SeqPosition {
    checkIndex(index, this.length, 'position index')
    if (assoc === 'before') {
      if (index === this.length) return { kind: 'end' }
      const { piece, offset } = this.st.locate(index)
      return { kind: 'id', r: piece.r, s: piece.s + offset, assoc }
    }
    if (index === 0) return { kind: 'start' }
    const { piece, offset } = this.st.locate(index - 1)
    return { kind: 'id', r: piece.r, s: piece.s + offset, assoc: 'after' }
  }

  resolve (position: SeqPosition): number | null {
    if (position.kind === 'start') return 0
    if (position.kind === 'end') return this.length
    const p = this.st.ids.find(position.r, position.s)
    if (p === null) return null
    const base = this.st.tree.visibleBefore(p)
    if (p.content === null) return base
    return base + position.s - p.s + (position.assoc === 'after' ? 1 : 0)
  }
}

const normalize = (ids: IdRanges): IdRanges => {
  // the common case: one range of one replica
  if (ids.length === 1 && ids[0] !== undefined && ids[0].length === 2) return ids
  for (let r = 0; r < ids.length; r++) if (ids[r] !== undefined) ids[r] = normalizeList(ids[r]!)
  return ids
}

/** Creates an empty sequence core. */
export const createSequence: CreateSequence = (options) => new Sequence(options)
