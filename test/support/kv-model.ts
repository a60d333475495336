/**
 * The sequential specification of the Raft KV store, for
 * {@link checkLinearizable}: string keys, string values (tests turn value
 * bytes into strings, e.g. hex or UTF-8), and the operations `get`, `put`,
 * `delete`, `cas` and `range`. Keys are ordered as JavaScript orders
 * strings (UTF-16 code units), as `KvStateMachine` orders them.
 *
 * ```ts
 * import { checkLinearizable, type Operation } from '../support/linearizability.js'
 * import { kvModel, type KvInput, type KvOutput } from '../support/kv-model.js'
 * const history: Operation<KvInput, KvOutput>[] = [
 *   { clientId: 1, input: { op: 'put', key: 'a', value: 'x' }, output: { op: 'put' }, call: 0, return: 5 },
 *   { clientId: 2, input: { op: 'get', key: 'a' }, output: { op: 'get', value: 'x' }, call: 6, return: 9 }
 * ]
 * checkLinearizable(history, kvModel) // { ok: true }
 * ```
 *
 * Without range operations the history is checked key by key; a single
 * range operation makes keys depend on each other, and the whole history
 * is then one partition.
 *
 * @module
 */
import type { Model, Operation } from './linearizability.js'
import type { KvCommand, KvResult } from '../../src/raft/kv.js'

/** A KV operation as a client issued it. */
export type KvInput =
  | { op: 'get', key: string }
  | { op: 'put', key: string, value: string }
  | { op: 'delete', key: string }
  /** Sets `key` to `next` (`null` deletes it) if its value is `expected` (`null`: absent). */
  | { op: 'cas', key: string, expected: string | null, next: string | null }
  /** Keys in `[from, to)` in ascending order (`to: null`: no upper bound), at most `limit` of them (absent or 0: no limit). */
  | { op: 'range', from: string, to: string | null, limit?: number }

/** What a KV operation answered; `op` repeats the input's. */
export type KvOutput =
  | { op: 'get', value: string | null }
  | { op: 'put' }
  /** `existed`, when recorded, says whether the key was there. */
  | { op: 'delete', existed?: boolean }
  | { op: 'cas', ok: boolean }
  | { op: 'range', entries: Array<[string, string]> }

/** The model's state: the store's contents. Never mutated; every write makes a new map. */
export type KvState = ReadonlyMap<string, string>

/** The key an operation touches, or `null` for a range. */
const keyOf = (input: KvInput): string | null => (input.op === 'range' ? null : input.key)

const rangeOf = (state: KvState, from: string, to: string | null, limit: number | undefined): Array<[string, string]> => {
  const keys = [...state.keys()].filter((k) => k >= from && (to === null || k < to)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const n = limit !== undefined && limit > 0 ? Math.min(limit, keys.length) : keys.length
  return keys.slice(0, n).map((k): [string, string] => [k, state.get(k)!])
}

const withValue = (state: KvState, key: string, value: string | null): KvState => {
  const next = new Map(state)
  if (value === null) next.delete(key)
  else next.set(key, value)
  return next
}

const sameEntries = (a: Array<[string, string]>, b: Array<[string, string]>): boolean =>
  a.length === b.length && a.every(([k, v], i) => b[i][0] === k && b[i][1] === v)

/**
 * Runs one operation on the store, sequentially: the next state and the
 * output the store gives (`delete` reports `existed`). Tests use it to
 * compute the outputs of a history they generate.
 */
export const kvApply = (state: KvState, input: KvInput): { state: KvState, output: KvOutput } => {
  switch (input.op) {
    case 'get':
      return { state, output: { op: 'get', value: state.get(input.key) ?? null } }
    case 'put':
      return { state: withValue(state, input.key, input.value), output: { op: 'put' } }
    case 'delete': {
      const existed = state.has(input.key)
      return { state: existed ? withValue(state, input.key, null) : state, output: { op: 'delete', existed } }
    }
    case 'cas': {
      const ok = (state.get(input.key) ?? null) === input.expected
      return { state: ok ? withValue(state, input.key, input.next) : state, output: { op: 'cas', ok } }
    }
    case 'range':
      return { state, output: { op: 'range', entries: rangeOf(state, input.from, input.to, input.limit) } }
  }
}

/** Whether `got` is what the store answered (`want`); an unrecorded `existed` matches either. */
const sameOutput = (want: KvOutput, got: KvOutput): boolean => {
  switch (want.op) {
    case 'get': return want.value === (got as { value: string | null }).value
    case 'put': return true
    case 'delete': {
      const existed = (got as { existed?: boolean }).existed
      return existed === undefined || existed === want.existed
    }
    case 'cas': return want.ok === (got as { ok: boolean }).ok
    case 'range': return sameEntries(want.entries, (got as { entries: Array<[string, string]> }).entries)
  }
}

const str = (s: string | null): string => (s === null ? 'null' : JSON.stringify(s))

/** The KV model; see the module documentation. */
export const kvModel: Model<KvState, KvInput, KvOutput> = {
  init: () => new Map(),

  step (state, input, output) {
    if (output !== undefined && output.op !== input.op) {
      throw new TypeError(`kv model: output of a ${input.op} is recorded as a ${output.op}`)
    }
    const r = kvApply(state, input)
    return { ok: output === undefined || sameOutput(r.output, output), state: r.state }
  },

  partition (history: Operation<KvInput, KvOutput>[]): Operation<KvInput, KvOutput>[][] {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>()
    for (const op of history) {
      const key = keyOf(op.input)
      if (key === null) return [history]
      let ops = byKey.get(key)
      if (ops === undefined) byKey.set(key, (ops = []))
      ops.push(op)
    }
    return [...byKey.values()]
  },

  key (state) {
    return JSON.stringify([...state].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)))
  },

  describe (op) {
    const i = op.input
    const call = i.op === 'get' || i.op === 'delete'
      ? `${i.op}(${str(i.key)})`
      : i.op === 'put'
        ? `put(${str(i.key)}, ${str(i.value)})`
        : i.op === 'cas'
          ? `cas(${str(i.key)}, ${str(i.expected)}, ${str(i.next)})`
          : `range(${str(i.from)}, ${str(i.to)}${i.limit !== undefined ? `, ${i.limit}` : ''})`
    const o = op.output
    const result = op.return === Infinity
      ? 'pending'
      : o === undefined
        ? '?'
        : o.op === 'get'
          ? str(o.value)
          : o.op === 'cas'
            ? String(o.ok)
            : o.op === 'delete'
              ? (o.existed === undefined ? 'ok' : `existed=${o.existed}`)
              : o.op === 'range'
                ? JSON.stringify(o.entries)
                : 'ok'
    return `client ${String(op.clientId)}: ${call} -> ${result} [${op.call}, ${op.return}]`
  }
}

/** Bytes as the model's string values: lowercase hex, lossless. */
export const hex = (bytes: Uint8Array): string => {
  let s = ''
  for (let i = 0; i < bytes.length; i++) s += bytes[i].toString(16).padStart(2, '0')
  return s
}

const hexOrNull = (bytes: Uint8Array | null): string | null => (bytes === null ? null : hex(bytes))

/** A `KvStateMachine` command as the model's input (values in {@link hex}). */
export const kvInputOf = (cmd: KvCommand): KvInput => {
  switch (cmd.type) {
    case 'get': return { op: 'get', key: cmd.key }
    case 'put': return { op: 'put', key: cmd.key, value: hex(cmd.value) }
    case 'delete': return { op: 'delete', key: cmd.key }
    case 'cas': return { op: 'cas', key: cmd.key, expected: hexOrNull(cmd.expected), next: hexOrNull(cmd.next) }
    case 'range': return { op: 'range', from: cmd.start, to: cmd.end, limit: cmd.limit }
  }
}

/**
 * A `KvStateMachine` result as the model's output (values in {@link hex}).
 *
 * @throws {TypeError} for an `error` result: such an operation took no
 * effect and belongs out of the history (`fail()` it).
 */
export const kvOutputOf = (result: KvResult): KvOutput => {
  switch (result.type) {
    case 'get': return { op: 'get', value: hexOrNull(result.value) }
    case 'put': return { op: 'put' }
    case 'delete': return { op: 'delete', existed: result.existed }
    case 'cas': return { op: 'cas', ok: result.ok }
    case 'range': return { op: 'range', entries: result.entries.map((e): [string, string] => [e.key, hex(e.value)]) }
    case 'error': throw new TypeError(`kv model: an error result (${result.message}) is not an output`)
  }
}
