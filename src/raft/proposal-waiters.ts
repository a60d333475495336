/**
 * The driver's pending proposals, keyed by (term, index): a leader that
 * lost its uncommitted tail and was elected again may propose at an index
 * it had used before, so one index can have waiters of several terms.
 * Each settles exactly once: with the apply result when the entry at its
 * index commits with its term, with {@link ProposalDroppedError} when
 * another term's entry commits there, or through `settleThrough`,
 * `remove` (timeouts) and `rejectAll` (stop).
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
  timer: TimerHandle | undefined
}

/** What applying an entry gave its proposer. */
export type ApplyOutcome = { result: Uint8Array } | { error: Error }

/** See the module documentation. */
export class ProposalWaiters {
  private readonly byIndex = new Map<number, PendingProposal[]>()

  constructor (private readonly clock: Clock) {}

  /** Proposals pending. */
  get size (): number {
    let n = 0
    for (const l of this.byIndex.values()) n += l.length
    return n
  }

  /** Registers `p`; it rejects with `onTimeout()` after `ms` unless settled before. */
  add (p: Omit<PendingProposal, 'timer'>, ms: number, onTimeout: () => Error): void {
    const w: PendingProposal = { ...p, timer: undefined }
    w.timer = this.clock.setTimeout(() => { if (this.remove(w)) w.reject(onTimeout()) }, ms)
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
      this.clock.clearTimeout(w.timer!)
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
      for (const w of list) { this.clock.clearTimeout(w.timer!); w.reject(error(w)) }
    }
  }

  /** Forgets `w` (without settling it); returns whether it was pending. */
  remove (w: PendingProposal): boolean {
    const list = this.byIndex.get(w.index)
    const i = list?.indexOf(w) ?? -1
    if (list === undefined || i < 0) return false
    list.splice(i, 1)
    if (list.length === 0) this.byIndex.delete(w.index)
    this.clock.clearTimeout(w.timer!)
    return true
  }

  /** Rejects everything pending with `err`. */
  rejectAll (err: Error): void {
    const all = [...this.byIndex.values()].flat()
    this.byIndex.clear()
    for (const w of all) { this.clock.clearTimeout(w.timer!); w.reject(err) }
  }
}
