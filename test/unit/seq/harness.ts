/**
 * Simulated Docs around sequence cores for tests: each replica has its own
 * replica table (same replica id strings, different local indices), a dot
 * counter, and a buffer of runs that cannot integrate yet. Messages carry
 * replica id strings, as an update would.
 */
import type { JsonValue } from '../../../src/codec/value.js'
import { createSequence, type IdRanges, type SeqKind, type SeqRun, type SequenceCore } from '../../../src/seq/index.js'

export interface WireRun { r: string, s: number, len: number, left: { r: string, s: number } | null, right: { r: string, s: number } | null, content: SeqRun['content'] }
export interface Message { runs: WireRun[], deletes: Array<[string, number[]]> }

export class Replica {
  readonly table: string[] = []
  readonly core: SequenceCore
  private seq = 0
  buffer: SeqRun[] = []

  constructor (readonly id: string, kind: SeqKind, others: string[] = []) {
    this.table.push(id)
    for (const o of others) this.index(o)
    this.core = createSequence({ kind, compareReplicas: (a, b) => this.table[a] < this.table[b] ? -1 : this.table[a] > this.table[b] ? 1 : 0 })
  }

  index (id: string): number {
    const i = this.table.indexOf(id)
    if (i >= 0) return i
    this.table.push(id)
    return this.table.length - 1
  }

  insert (index: number, content: string | JsonValue[]): SeqRun {
    const run = this.core.insert(index, content, 0, this.seq)
    this.seq += content.length
    return run
  }

  delete (index: number, length: number): IdRanges { return this.core.delete(index, length) }

  /** What `other` lacks (by its `has`), as a message. */
  messageFor (other: Replica | null): Message {
    const held = other === null
      ? () => false
      : (r: number, s: number) => other.table.includes(this.table[r]) && other.core.has(other.index(this.table[r]), s)
    return { runs: this.core.runsSince(held).map(run => this.toWire(run)), deletes: this.wireRanges(this.core.deleteSet()) }
  }

  toWire (run: SeqRun): WireRun {
    const id = (x: { r: number, s: number } | null): { r: string, s: number } | null => x === null ? null : { r: this.table[x.r], s: x.s }
    return { r: this.table[run.r], s: run.s, len: run.len, left: id(run.left), right: id(run.right), content: run.content }
  }

  wireRanges (ids: IdRanges): Array<[string, number[]]> {
    const out: Array<[string, number[]]> = []
    ids.forEach((a, r) => { if (a !== undefined && a.length > 0) out.push([this.table[r], a.slice()]) })
    return out
  }

  /** Receives runs and deletes (in any order, with duplicates); buffers what cannot integrate yet. */
  receive (m: Message): void {
    const id = (x: { r: string, s: number } | null): { r: number, s: number } | null => x === null ? null : { r: this.index(x.r), s: x.s }
    for (const w of m.runs) this.buffer.push({ r: this.index(w.r), s: w.s, len: w.len, left: id(w.left), right: id(w.right), content: w.content })
    this.drain()
    const ranges: IdRanges = []
    for (const [r, a] of m.deletes) ranges[this.index(r)] = a
    this.core.applyDeletes(ranges)
  }

  drain (): void {
    let progress = true
    while (progress) {
      progress = false
      const rest: SeqRun[] = []
      for (const run of this.buffer) {
        if (this.core.canIntegrate(run)) { this.core.integrate(run); progress = true } else rest.push(run)
      }
      this.buffer = rest
    }
  }

  text (): string | JsonValue[] { return this.core.kind === 'text' ? this.core.toString() : this.core.toArray() }
}

/** Syncs every pair until nothing moves. */
export const syncAll = (rs: Replica[]): void => {
  for (let round = 0; round < 3; round++) {
    for (const a of rs) for (const b of rs) if (a !== b) b.receive(a.messageFor(b))
  }
}
