/**
 * The driver's pending proposals, keyed by (term, index): a leader that
 * lost its uncommitted tail and was elected again may propose at an index
 * it had used before, so one index can have waiters of several terms.
 * Each settles exactly once: with the apply result when the entry at its
 * index commits with its term, with {@link ProposalDroppedError} when
 * another term's entry commits there, or through `settleThrough`,
 * `remove` (timeouts) and `rejectAll` (stop).
 *
 * Deadlines are grouped by the millisecond (rounded up): one clock timer
 * per millisecond of deadlines, not one per proposal (at tens of
 * thousands of proposals a second, arming and clearing a timer each was a
 * measurable share of the work); a proposal times out at most 1 ms late.
 *
 * @module
 */
import type { Clock, TimerHandle } from '../components.js'
import { ProposalDroppedError } from './errors.js'

/** One pending proposal. */
export interface PendingProposal {
  term: number
  index: number
  resolve: (v: Uint8Array) => void
  reject: (e: Error) => void
  /** The deadline bucket it waits in (see {@link ProposalWaiters}). */
  bucket: number
  onTimeout: () => Error
}

/** The waiters whose deadline falls in one millisecond, and their one timer. */
interface Bucket { waiters: Set<PendingProposal>, timer: TimerHandle }

/** What applying an entry gave its proposer. */
export type ApplyOutcome = { result: Uint8Array } | { error: Error }

/** See the module documentation. */
export class ProposalWaiters {
  private readonly byIndex = new Map<number, PendingProposal[]>()
  private readonly buckets = new Map<number, Bucket>()

  constructor (private readonly clock: Clock) {}

  /** Proposals pending. */
  get size (): number {
    let n = 0
    for (const l of this.byIndex.values()) n += l.length
    return n
  }

  /** Registers `p`; it rejects with `onTimeout()` after `ms` unless settled before. */
  add (p: Omit<PendingProposal, 'bucket' | 'onTimeout'>, ms: number, onTimeout: () => Error): void {
    const now = this.clock.now()
    const at = Math.ceil(now + ms)
    const w: PendingProposal = { term: p.term, index: p.index, resolve: p.resolve, reject: p.reject, bucket: at, onTimeout }
    let b = this.buckets.get(at)
    if (b === undefined) {
      const waiters = new Set<PendingProposal>()
      b = { waiters, timer: this.clock.setTimeout(() => this.expire(at), at - now) }
      this.buckets.set(at, b)
    }
    b.waiters.add(w)
    const list = this.byIndex.get(p.index)
    if (list === undefined) this.byIndex.set(p.index, [w])
    else list.push(w)
  }

  /** The entry (`term`, `index`) was applied with `outcome`: settles every waiter at `index`. */
  settle (index: number, term: number, outcome: () => ApplyOutcome): void {
    const list = this.byIndex.get(index)
    if (list === undefined) return
    this.byIndex.delete(index)
    for (const w of list) {
      this.unbucket(w)
      if (w.term !== term) { w.reject(new ProposalDroppedError()); continue }
      const o = outcome()
      if ('error' in o) w.reject(o.error)
      else w.resolve(o.result)
    }
  }

  /** Rejects every waiter at an index `<= index` with `error()` (a snapshot skipped over them). */
  settleThrough (index: number, error: (w: PendingProposal) => Error): void {
    for (const [i, list] of this.byIndex) {
      if (i > index) continue
      this.byIndex.delete(i)
      for (const w of list) { this.unbucket(w); w.reject(error(w)) }
    }
  }

  /** Forgets `w` (without settling it); returns whether it was pending. */
  remove (w: PendingProposal): boolean {
    const list = this.byIndex.get(w.index)
    const i = list?.indexOf(w) ?? -1
    if (list === undefined || i < 0) return false
    list.splice(i, 1)
    if (list.length === 0) this.byIndex.delete(w.index)
    this.unbucket(w)
    return true
  }

  /** Rejects everything pending with `err`. */
  rejectAll (err: Error): void {
    const all = [...this.byIndex.values()].flat()
    this.byIndex.clear()
    for (const b of this.buckets.values()) this.clock.clearTimeout(b.timer)
    this.buckets.clear()
    for (const w of all) w.reject(err)
  }

  /** The deadline `at` passed: every waiter still in its bucket times out. */
  private expire (at: number): void {
    const b = this.buckets.get(at)
    if (b === undefined) return
    this.buckets.delete(at)
    for (const w of b.waiters) {
      const list = this.byIndex.get(w.index)
      const i = list?.indexOf(w) ?? -1
      if (list === undefined || i < 0) continue
      list.splice(i, 1)
      if (list.length === 0) this.byIndex.delete(w.index)
      w.reject(w.onTimeout())
    }
  }

  private unbucket (w: PendingProposal): void {
    const b = this.buckets.get(w.bucket)
    if (b === undefined || !b.waiters.delete(w) || b.waiters.size > 0) return
    this.buckets.delete(w.bucket)
    this.clock.clearTimeout(b.timer)
  }
}
