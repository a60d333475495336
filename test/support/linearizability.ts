/**
 * A linearizability checker for client histories recorded by tests: the
 * Wing–Gong search (Wing & Gong 1993) with Lowe's memoisation of visited
 * configurations (Lowe 2017, "Testing for linearizability") and the
 * refinements of Porcupine (Athalye 2017): P-compositionality (each
 * partition of the history, e.g. each key, is checked on its own), a doubly
 * linked entry list with `lift`/`unlift`, and a cache of
 * (linearized-set bitset, model state) pairs so no configuration is
 * explored twice.
 *
 * ```ts
 * import { checkLinearizable } from '../support/linearizability.js'
 * import { kvModel } from '../support/kv-model.js'
 * const result = checkLinearizable(history, kvModel)
 * expect(result).toEqual({ ok: true })
 * ```
 *
 * The search is bounded by a step budget, not by wall-clock time, so a
 * given history always gets the same answer on every machine.
 *
 * Conventions:
 * - An operation with `return === Infinity` never returned (its client
 *   timed out or crashed): it may have taken effect at any point after its
 *   call, or never. Its `output` should be `undefined`.
 * - An operation with a finite `return` took effect exactly once, between
 *   `call` and `return`. An `output` of `undefined` on such an operation
 *   means "not observed": the model accepts any result.
 * - Two operations whose intervals touch (`a.return === b.call`) are
 *   treated as concurrent: a real clock cannot order them.
 *
 * @module
 */

/** One client operation of a history. */
export interface Operation<I, O> {
  /** Who issued it (a client issues one operation at a time). */
  clientId: number | string
  /** What was asked. */
  input: I
  /** What came back; `undefined` for an operation that never returned. */
  output: O | undefined
  /** When it was invoked. */
  call: number
  /** When its response arrived; `Infinity` if it never did (timed out / crashed client). */
  return: number
}

/** The sequential specification a history is checked against. */
export interface Model<S, I, O> {
  /** The state before any operation. */
  init (): S
  /**
   * Applies `input` to `state` (which it must not mutate) and says whether
   * `output` is what the sequential object would answer. With `output`
   * `undefined` (unknown result) it must answer `ok: true`.
   */
  step (state: S, input: I, output: O | undefined): { ok: boolean, state: S }
  /** Splits a history into independent parts, each checked alone (P-compositionality). */
  partition? (history: Operation<I, O>[]): Operation<I, O>[][]
  /** A string equal for equal states and different for different ones (for memoisation). */
  key (state: S): string
  /** A short human-readable description of an operation, for failure reports. */
  describe? (op: Operation<I, O>): string
}

/** Options of {@link checkLinearizable}. */
export interface CheckOptions {
  /**
   * The most search steps spent on each partition before giving up with
   * `ok: 'unknown'`.
   * @default DEFAULT_TIMEOUT_STEPS (2 000 000)
   */
  timeoutSteps?: number
}

/** The answer of {@link checkLinearizable}. */
export type CheckResult =
  | { ok: true }
  | { ok: false, reason: string, partition?: number, longestPrefix?: string[] }
  | { ok: 'unknown', reason: string }

/** The default step budget per partition. */
export const DEFAULT_TIMEOUT_STEPS = 2_000_000

/**
 * Records a history as a test runs: `invoke` when a client calls, then
 * `ok(output)` when it gets an answer, `fail()` when the operation
 * certainly did not take effect (e.g. refused before it was sent), or
 * nothing if the outcome is unknown (timed out, client crashed): the
 * operation then stays pending (`return: Infinity`).
 *
 * ```ts
 * const history = new HistoryRecorder<KvInput, KvOutput>(() => clock.now())
 * const op = history.invoke(client, { op: 'get', key: 'a' })
 * op.ok({ op: 'get', value: null })
 * checkLinearizable(history.operations, kvModel)
 * ```
 */
export class HistoryRecorder<I, O> {
  private readonly ops: Array<Operation<I, O> | null> = []

  /** @param now - the test's clock (virtual time in a simulation). */
  constructor (private readonly now: () => number) {}

  /** Records a call; completes it with the returned handle. */
  invoke (clientId: number | string, input: I): { ok: (output: O) => void, fail: () => void } {
    const index = this.ops.length
    const op: Operation<I, O> = { clientId, input, output: undefined, call: this.now(), return: Infinity }
    this.ops.push(op)
    let settled = false
    const settle = (): void => {
      if (settled) throw new Error(`operation ${index} of client ${String(clientId)} completed twice`)
      settled = true
    }
    return {
      ok: (output) => { settle(); op.output = output; op.return = this.now() },
      fail: () => { settle(); this.ops[index] = null }
    }
  }

  /** The history so far: completed and pending operations, without failed ones. */
  get operations (): Operation<I, O>[] {
    return this.ops.filter((op): op is Operation<I, O> => op !== null)
  }
}

/** One call or return event in the doubly linked entry list. */
interface Entry {
  /** Index of the operation in its partition. */
  readonly op: number
  /** The matching return entry, for a call entry; `null` for a return entry. */
  readonly match: Entry | null
  prev: Entry | null
  next: Entry | null
}

type PartitionResult =
  | { ok: true }
  | { ok: false, prefix: number[] }
  | { ok: 'unknown', steps: number }

const defaultDescribe = (op: Operation<unknown, unknown>): string => {
  const json = (x: unknown): string => {
    try {
      return JSON.stringify(x, (_k, v: unknown) => (v instanceof Uint8Array ? `0x${Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('')}` : typeof v === 'bigint' ? v.toString() : v)) ?? String(x)
    } catch {
      return String(x)
    }
  }
  const out = op.return === Infinity ? 'pending' : op.output === undefined ? '?' : json(op.output)
  return `client ${String(op.clientId)}: ${json(op.input)} -> ${out} [${op.call}, ${op.return}]`
}

const validate = (history: Operation<unknown, unknown>[]): void => {
  history.forEach((op, i) => {
    if (typeof op.call !== 'number' || !Number.isFinite(op.call)) {
      throw new TypeError(`operation ${i}: call must be a finite number, got ${String(op.call)}`)
    }
    if (typeof op.return !== 'number' || Number.isNaN(op.return) || op.return < op.call) {
      throw new TypeError(`operation ${i}: return must be >= call (or Infinity), got [${op.call}, ${String(op.return)}]`)
    }
  })
}

/**
 * Builds the entry list of `ops`: events sorted by time, a call before a
 * return at the same time (touching intervals overlap), ties broken by
 * operation index so the order is deterministic. Returns the head sentinel.
 */
const buildEntries = (ops: Operation<unknown, unknown>[]): Entry => {
  const events: Array<{ time: number, isCall: boolean, op: number }> = []
  ops.forEach((op, i) => {
    events.push({ time: op.call, isCall: true, op: i })
    events.push({ time: op.return, isCall: false, op: i })
  })
  events.sort((a, b) => (a.time !== b.time ? (a.time < b.time ? -1 : 1) : a.isCall !== b.isCall ? (a.isCall ? -1 : 1) : a.op - b.op))
  const returns = new Map<number, Entry>()
  for (const ev of events) if (!ev.isCall) returns.set(ev.op, { op: ev.op, match: null, prev: null, next: null })
  const head: Entry = { op: -1, match: null, prev: null, next: null }
  let last = head
  for (const ev of events) {
    const e: Entry = ev.isCall ? { op: ev.op, match: returns.get(ev.op)!, prev: null, next: null } : returns.get(ev.op)!
    e.prev = last
    last.next = e
    last = e
  }
  return head
}

/** Takes a call entry and its return out of the list. */
const lift = (call: Entry): void => {
  call.prev!.next = call.next
  if (call.next !== null) call.next.prev = call.prev
  const ret = call.match!
  ret.prev!.next = ret.next
  if (ret.next !== null) ret.next.prev = ret.prev
}

/** Puts back a call entry and its return, undoing {@link lift}. */
const unlift = (call: Entry): void => {
  const ret = call.match!
  ret.prev!.next = ret
  if (ret.next !== null) ret.next.prev = ret
  call.prev!.next = call
  if (call.next !== null) call.next.prev = call
}

/** The bitset as a compact string: 16 operations per UTF-16 code unit. */
const bitsKey = (bits: Uint16Array): string => {
  let s = ''
  for (let i = 0; i < bits.length; i += 4096) {
    s += String.fromCharCode.apply(null, bits.subarray(i, i + 4096) as unknown as number[])
  }
  return s
}

/** The Wing–Gong–Lowe search over one partition. */
const checkPartition = <S, I, O>(ops: Operation<I, O>[], model: Model<S, I, O>, budget: number): PartitionResult => {
  if (ops.length === 0) return { ok: true }
  const head = buildEntries(ops as Operation<unknown, unknown>[])
  const bits = new Uint16Array(Math.ceil(ops.length / 16))
  const seen = new Set<string>()
  const calls: Array<{ entry: Entry, state: S }> = []
  let best: number[] = []
  let state = model.init()
  let entry: Entry | null = head.next
  let steps = 0
  while (head.next !== null) {
    if (++steps > budget) return { ok: 'unknown', steps: budget }
    if (entry === null) throw new Error('linearizability checker: ran off the entry list (unreachable)')
    if (entry.match !== null) {
      // a call: try to linearize it here
      const op = ops[entry.op]
      const pending = op.return === Infinity
      const r = model.step(state, op.input, pending ? undefined : op.output)
      if (r.ok) {
        const w = entry.op >>> 4
        const bit = 1 << (entry.op & 15)
        bits[w] |= bit
        const key = bitsKey(bits) + '\u0000' + model.key(r.state)
        if (!seen.has(key)) {
          seen.add(key)
          calls.push({ entry, state })
          state = r.state
          lift(entry)
          if (calls.length > best.length) best = calls.map((c) => c.entry.op)
          entry = head.next
          continue
        }
        bits[w] &= ~bit
      }
      entry = entry.next
    } else {
      // a return: its operation is not linearized yet
      if (ops[entry.op].return === Infinity) {
        // every finite event lies before this one, and everything between
        // the head and here is a call that is itself pending: all completed
        // operations are linearized, the rest may simply never take effect
        return { ok: true }
      }
      const top = calls.pop()
      if (top === undefined) return { ok: false, prefix: best }
      entry = top.entry
      state = top.state
      bits[entry.op >>> 4] &= ~(1 << (entry.op & 15))
      unlift(entry)
      entry = entry.next
    }
  }
  return { ok: true }
}

/**
 * Checks whether `history` is linearizable with respect to `model`: whether
 * each completed operation can be given one instant between its call and
 * its return (and each pending one an instant after its call, or none) such
 * that the operations, run one by one in that order from `model.init()`,
 * give the recorded outputs.
 *
 * Each partition (see {@link Model.partition}) is searched separately with
 * its own budget of `opts.timeoutSteps` steps. The answer is `ok: false` if
 * any partition is not linearizable (with that partition's index and the
 * longest linearizable prefix found, described with `model.describe`),
 * `ok: 'unknown'` if none failed but one ran out of steps, and `ok: true`
 * otherwise.
 *
 * @throws {TypeError} if an operation has a non-finite call time or returns before its call.
 */
export function checkLinearizable<S, I, O> (
  history: Operation<I, O>[],
  model: Model<S, I, O>,
  opts: CheckOptions = {}
): { ok: true } | { ok: false, reason: string, partition?: number, longestPrefix?: string[] } | { ok: 'unknown', reason: string } {
  const budget = opts.timeoutSteps ?? DEFAULT_TIMEOUT_STEPS
  if (!(budget > 0)) throw new TypeError(`timeoutSteps must be positive, got ${budget}`)
  validate(history as Operation<unknown, unknown>[])
  const partitions = model.partition !== undefined ? model.partition(history) : [history]
  const describe = (op: Operation<I, O>): string =>
    model.describe !== undefined ? model.describe(op) : defaultDescribe(op as Operation<unknown, unknown>)
  const unknown: string[] = []
  for (let p = 0; p < partitions.length; p++) {
    const ops = partitions[p]
    const r = checkPartition(ops, model, budget)
    if (r.ok === false) {
      const inPrefix = new Set(r.prefix)
      const completed = ops.filter((op) => op.return !== Infinity).length
      const linearizedCompleted = r.prefix.filter((i) => ops[i].return !== Infinity).length
      // the completed operation that returned first among those the prefix leaves out: no order got past it
      let stuck: Operation<I, O> | undefined
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]
        if (inPrefix.has(i) || op.return === Infinity) continue
        if (stuck === undefined || op.return < stuck.return) stuck = op
      }
      const reason = `partition ${p} (${ops.length} operations) is not linearizable: ` +
        `the longest linearizable prefix holds ${r.prefix.length} operations (${linearizedCompleted} of ${completed} completed); ` +
        `the first completed operation it leaves out is ${stuck !== undefined ? describe(stuck) : '(none)'}`
      return { ok: false, reason, partition: p, longestPrefix: r.prefix.map((i) => describe(ops[i])) }
    }
    if (r.ok === 'unknown') unknown.push(`partition ${p} (${ops.length} operations) exceeded ${r.steps} steps`)
  }
  if (unknown.length > 0) return { ok: 'unknown', reason: unknown.join('; ') }
  return { ok: true }
}
