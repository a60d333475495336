/**
 * Records the visible changes of a transaction as a Quill delta against
 * the state before it: a list of retain / insert / delete operations over
 * the current state (a delete is zero-wide), composed one change at a time
 * and normalised when taken.
 *
 * @module
 */
import type { JsonValue } from '../codec/value.js'
import type { SeqDelta } from './sequence-api.js'

type Content = string | JsonValue[]

const RETAIN = 0
const INSERT = 1
const DELETE = 2

interface Op { t: number, n: number, c: Content | null }

/** Insert ops are split into chunks of about this many elements. */
const CHUNK = 256

const width = (op: Op): number => op.t === DELETE ? 0 : op.n

const spliceContent = (c: Content, at: number, del: number, ins: Content | null): Content => {
  if (typeof c === 'string') return c.slice(0, at) + ((ins as string | null) ?? '') + c.slice(at + del)
  const out = c.slice()
  if (ins === null) out.splice(at, del)
  else out.splice(at, del, ...(ins as JsonValue[]))
  return out
}

const concat = (a: Content, b: Content): Content =>
  typeof a === 'string' ? a + (b as string) : (a).concat(b as JsonValue[])

export class DeltaRecorder {
  private ops: Op[] = []

  /** `content` inserted at current visible index `index`. */
  insert (index: number, content: Content): void {
    // a list piece may grow in place later: keep a copy
    if (typeof content !== 'string') content = content.slice()
    const ops = this.ops
    let pos = 0
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]
      if (op.t === DELETE) {
        if (index === pos) { ops.splice(i, 0, { t: INSERT, n: content.length, c: content }); return }
        continue
      }
      const w = op.n
      if (op.t === INSERT && index <= pos + w) {
        const c = spliceContent(op.c!, index - pos, 0, content)
        if (c.length <= CHUNK * 2) {
          op.c = c
          op.n = c.length
          return
        }
        // keep insert ops small, so a large remote update costs O(changes × ops), not O(changes × its size)
        const parts: Op[] = []
        for (let k = 0; k < c.length; k += CHUNK) {
          const part = c.slice(k, k + CHUNK)
          parts.push({ t: INSERT, n: part.length, c: part })
        }
        ops.splice(i, 1, ...parts)
        return
      }
      if (op.t === RETAIN && index < pos + w) {
        const off = index - pos
        const parts: Op[] = []
        if (off > 0) parts.push({ t: RETAIN, n: off, c: null })
        parts.push({ t: INSERT, n: content.length, c: content })
        parts.push({ t: RETAIN, n: w - off, c: null })
        ops.splice(i, 1, ...parts)
        return
      }
      pos += w
    }
    if (index > pos) ops.push({ t: RETAIN, n: index - pos, c: null })
    ops.push({ t: INSERT, n: content.length, c: content })
  }

  /** `n` visible elements deleted at current visible index `index`. */
  delete (index: number, n: number): void {
    const ops = this.ops
    let pos = 0
    let i = 0
    while (n > 0) {
      if (i >= ops.length) {
        if (index > pos) ops.push({ t: RETAIN, n: index - pos, c: null })
        ops.push({ t: DELETE, n, c: null })
        return
      }
      const op = ops[i]
      const w = width(op)
      if (index >= pos + w) { pos += w; i++; continue }
      const off = index - pos
      const take = Math.min(n, w - off)
      n -= take
      if (op.t === INSERT) {
        op.c = spliceContent(op.c!, off, take, null)
        op.n = op.c.length
        if (op.n === 0) ops.splice(i, 1)
        continue
      }
      // a retain: [retain off] [delete take] [retain rest]
      const parts: Op[] = []
      if (off > 0) parts.push({ t: RETAIN, n: off, c: null })
      parts.push({ t: DELETE, n: take, c: null })
      if (w - off - take > 0) parts.push({ t: RETAIN, n: w - off - take, c: null })
      ops.splice(i, 1, ...parts)
      i += off > 0 ? 2 : 1
      pos = index
    }
  }

  /** The normalised delta, or `null` when nothing visible changed. */
  take (): SeqDelta | null {
    const out: SeqDelta = []
    let retain = 0
    let ins: Content | null = null
    let del = 0
    const flush = (): void => {
      if (ins === null && del === 0) return
      if (retain > 0) out.push({ retain })
      retain = 0
      if (ins !== null) out.push({ insert: ins })
      if (del > 0) out.push({ delete: del })
      ins = null
      del = 0
    }
    for (const op of this.ops) {
      if (op.t === RETAIN) {
        if (ins !== null || del > 0) flush()
        retain += op.n
      } else if (op.t === INSERT) ins = ins === null ? op.c! : concat(ins, op.c!)
      else del += op.n
    }
    flush()
    this.ops = []
    return out.length === 0 ? null : out
  }
}
