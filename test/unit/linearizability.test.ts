import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { checkLinearizable, type Model, type Operation } from '../support/linearizability.js'
import { kvApply, kvModel, type KvInput, type KvOutput, type KvState } from '../support/kv-model.js'
import { Prng, runSeeds } from '../../src/testing/index.js'

const SEED = Number(process.env.FC_SEED ?? 0x11ea7)

type KvOp = Operation<KvInput, KvOutput>

/** A completed operation. */
const op = <I, O>(clientId: number, input: I, output: O, call: number, ret: number): Operation<I, O> =>
  ({ clientId, input, output, call, return: ret })
/** An operation that never returned. */
const pending = <I, O>(clientId: number, input: I, call: number): Operation<I, O> =>
  ({ clientId, input, output: undefined, call, return: Infinity })

const get = (c: number, key: string, value: string | null, call: number, ret: number): KvOp => op(c, { op: 'get', key }, { op: 'get', value }, call, ret)
const put = (c: number, key: string, value: string, call: number, ret: number): KvOp => op(c, { op: 'put', key, value }, { op: 'put' }, call, ret)
const del = (c: number, key: string, call: number, ret: number, existed?: boolean): KvOp => op(c, { op: 'delete', key }, { op: 'delete', existed }, call, ret)
const cas = (c: number, key: string, expected: string | null, next: string | null, ok: boolean, call: number, ret: number): KvOp =>
  op(c, { op: 'cas', key, expected, next }, { op: 'cas', ok }, call, ret)
const range = (c: number, from: string, to: string | null, entries: Array<[string, string]>, call: number, ret: number, limit?: number): KvOp =>
  op(c, { op: 'range', from, to, limit }, { op: 'range', entries }, call, ret)

// -- the models of the Porcupine README and of Herlihy & Wing's paper --------

type RegisterInput = { write: true, value: number } | { write: false }
/** Porcupine's README register: writes return nothing, reads the value; starts at 0. */
const registerModel: Model<number, RegisterInput, number> = {
  init: () => 0,
  step: (state, input, output) => input.write
    ? { ok: true, state: input.value }
    : { ok: output === undefined || output === state, state },
  key: (state) => String(state)
}

type QueueInput = { enq: string } | { deq: true }
/** A FIFO queue: `deq` answers the head, or null when empty. */
const queueModel: Model<readonly string[], QueueInput, string | null> = {
  init: () => [],
  step: (state, input, output) => {
    if ('enq' in input) return { ok: true, state: [...state, input.enq] }
    const head = state.length > 0 ? state[0] : null
    return { ok: output === undefined || output === head, state: state.slice(1) }
  },
  key: (state) => JSON.stringify(state)
}

describe('checkLinearizable: literature examples', () => {
  it('Porcupine README, register: a concurrent read may see the old or the new value', () => {
    const history = [
      op(0, { write: true, value: 100 } as RegisterInput, 0, 0, 100),
      op(1, { write: false } as RegisterInput, 100, 25, 75),
      op(2, { write: false } as RegisterInput, 0, 30, 60)
    ]
    expect(checkLinearizable(history, registerModel)).toEqual({ ok: true })
  })

  it('Porcupine README, register: a read of 0 after a read of the new value is not linearizable', () => {
    const history = [
      op(0, { write: true, value: 200 } as RegisterInput, 0, 0, 100),
      op(1, { write: false } as RegisterInput, 200, 10, 30),
      op(2, { write: false } as RegisterInput, 0, 40, 90)
    ]
    const r = checkLinearizable(history, registerModel)
    expect(r.ok).toBe(false)
  })

  it('Herlihy & Wing: concurrent enqueues may be dequeued in either order', () => {
    const history = [
      op(1, { enq: 'x' } as QueueInput, null, 0, 10),
      op(2, { enq: 'y' } as QueueInput, null, 5, 15),
      op(2, { deq: true } as QueueInput, 'y', 20, 30),
      op(1, { deq: true } as QueueInput, 'x', 25, 35)
    ]
    expect(checkLinearizable(history, queueModel)).toEqual({ ok: true })
  })

  it('Herlihy & Wing: an enqueue that finished first must be dequeued first', () => {
    const history = [
      op(1, { enq: 'x' } as QueueInput, null, 0, 10),
      op(2, { enq: 'y' } as QueueInput, null, 11, 15),
      op(2, { deq: true } as QueueInput, 'y', 20, 30)
    ]
    expect(checkLinearizable(history, queueModel).ok).toBe(false)
  })

  it('Herlihy & Wing: one value cannot be dequeued twice', () => {
    const history = [
      op(1, { enq: 'x' } as QueueInput, null, 0, 10),
      op(2, { enq: 'y' } as QueueInput, null, 0, 10),
      op(1, { deq: true } as QueueInput, 'x', 20, 30),
      op(2, { deq: true } as QueueInput, 'x', 20, 30)
    ]
    expect(checkLinearizable(history, queueModel).ok).toBe(false)
  })

  it('Knossos cas-register: of two concurrent cas from the same value, only one wins', () => {
    const history = [
      put(0, 'r', '0', 0, 1),
      cas(1, 'r', '0', '1', true, 2, 10),
      cas(2, 'r', '0', '2', true, 3, 11)
    ]
    expect(checkLinearizable(history, kvModel).ok).toBe(false)
    const fixed = [history[0], history[1], cas(2, 'r', '0', '2', false, 3, 11)]
    expect(checkLinearizable(fixed, kvModel)).toEqual({ ok: true })
  })
})

describe('checkLinearizable: KV histories', () => {
  it('accepts the empty history and a sequential one', () => {
    expect(checkLinearizable([], kvModel)).toEqual({ ok: true })
    const history = [
      get(1, 'a', null, 0, 1), put(1, 'a', 'x', 2, 3), get(2, 'a', 'x', 4, 5), del(1, 'a', 6, 7, true),
      get(2, 'a', null, 8, 9), del(2, 'a', 10, 11, false), cas(1, 'a', null, 'y', true, 12, 13), get(2, 'a', 'y', 14, 15)
    ]
    expect(checkLinearizable(history, kvModel)).toEqual({ ok: true })
  })

  it('accepts a read concurrent with a write seeing either value', () => {
    for (const seen of ['old', 'new']) {
      const history = [put(1, 'k', 'old', 0, 1), put(1, 'k', 'new', 2, 10), get(2, 'k', seen, 3, 9)]
      expect(checkLinearizable(history, kvModel)).toEqual({ ok: true })
    }
  })

  it('treats touching intervals as concurrent', () => {
    const history = [put(1, 'k', 'v', 0, 5), get(2, 'k', null, 5, 8)]
    expect(checkLinearizable(history, kvModel)).toEqual({ ok: true })
    expect(checkLinearizable([put(1, 'k', 'v', 0, 5), get(2, 'k', null, 6, 8)], kvModel).ok).toBe(false)
  })

  it('rejects a stale read after a completed write', () => {
    const history = [put(1, 'k', 'a', 0, 1), put(1, 'k', 'b', 2, 3), get(2, 'k', 'a', 4, 5)]
    const r = checkLinearizable(history, kvModel)
    expect(r.ok).toBe(false)
    if (r.ok !== false) return
    expect(r.partition).toBe(0)
    expect(r.longestPrefix).toEqual(['client 1: put("k", "a") -> ok [0, 1]', 'client 1: put("k", "b") -> ok [2, 3]'])
    expect(r.reason).toContain('get("k") -> "a"')
  })

  it('rejects a lost write: a later read misses an acknowledged put', () => {
    const history = [
      put(1, 'k', 'a', 0, 1),
      put(2, 'k', 'b', 2, 4), put(3, 'k', 'c', 3, 5), // both acknowledged, concurrent
      get(1, 'k', 'b', 6, 7), get(2, 'k', 'a', 8, 9)
    ]
    expect(checkLinearizable(history, kvModel).ok).toBe(false)
    // without the last read, 'c' then 'b' is a valid order
    expect(checkLinearizable(history.slice(0, 4), kvModel)).toEqual({ ok: true })
  })

  it('rejects a cas double win even when the cas calls are concurrent with a write', () => {
    const history = [
      cas(1, 'seat', null, 'alice', true, 0, 10),
      cas(2, 'seat', null, 'bob', true, 1, 11),
      get(3, 'seat', 'bob', 12, 13)
    ]
    expect(checkLinearizable(history, kvModel).ok).toBe(false)
    // a delete in between makes both wins possible
    expect(checkLinearizable([...history, del(4, 'seat', 2, 9)], kvModel)).toEqual({ ok: true })
  })

  it('lets a pending operation take effect late, or never', () => {
    const late = [put(1, 'k', 'a', 0, 1), pending<KvInput, KvOutput>(2, { op: 'put', key: 'k', value: 'b' }, 2), get(3, 'k', 'a', 10, 11), get(3, 'k', 'b', 100, 101)]
    expect(checkLinearizable(late, kvModel)).toEqual({ ok: true })
    const never = [put(1, 'k', 'a', 0, 1), pending<KvInput, KvOutput>(2, { op: 'put', key: 'k', value: 'b' }, 2), get(3, 'k', 'a', 100, 101)]
    expect(checkLinearizable(never, kvModel)).toEqual({ ok: true })
    // but not before its call
    const early = [pending<KvInput, KvOutput>(2, { op: 'put', key: 'k', value: 'b' }, 50), get(3, 'k', 'b', 10, 11)]
    expect(checkLinearizable(early, kvModel).ok).toBe(false)
    // and not twice: a pending put cannot explain two different reads with a write between them
    const twice = [
      pending<KvInput, KvOutput>(2, { op: 'put', key: 'k', value: 'b' }, 0),
      get(3, 'k', 'b', 10, 11), put(1, 'k', 'a', 12, 13), get(3, 'k', 'b', 14, 15)
    ]
    expect(checkLinearizable(twice, kvModel).ok).toBe(false)
  })

  it('lets a pending cas win or lose, whichever the later reads need', () => {
    const wins = [put(1, 'k', 'a', 0, 1), pending<KvInput, KvOutput>(2, { op: 'cas', key: 'k', expected: 'a', next: 'z' }, 2), get(3, 'k', 'z', 5, 6)]
    expect(checkLinearizable(wins, kvModel)).toEqual({ ok: true })
    const cannot = [put(1, 'k', 'a', 0, 1), pending<KvInput, KvOutput>(2, { op: 'cas', key: 'k', expected: 'q', next: 'z' }, 2), get(3, 'k', 'z', 5, 6)]
    expect(checkLinearizable(cannot, kvModel).ok).toBe(false)
  })

  it('checks keys separately, and names the failing partition', () => {
    const history = [
      put(1, 'a', '1', 0, 1), get(2, 'a', '1', 2, 3),
      put(1, 'b', '1', 4, 5), put(1, 'b', '2', 6, 7), get(2, 'b', '1', 8, 9)
    ]
    expect(kvModel.partition!(history).map((p) => p.length)).toEqual([2, 3])
    const r = checkLinearizable(history, kvModel)
    expect(r).toMatchObject({ ok: false, partition: 1 })
  })

  it('checks ranges against all keys at once', () => {
    const ok = [
      put(1, 'a', '1', 0, 1), put(2, 'b', '2', 0, 1), put(3, 'c', '3', 0, 10),
      range(4, 'a', 'c', [['a', '1'], ['b', '2']], 2, 3),
      range(4, 'a', null, [['a', '1'], ['b', '2'], ['c', '3']], 4, 5),
      range(5, '', null, [['a', '1']], 4, 5, 1),
      del(1, 'a', 11, 12), range(4, 'a', null, [['b', '2'], ['c', '3']], 13, 14)
    ]
    expect(kvModel.partition!(ok)).toHaveLength(1)
    expect(checkLinearizable(ok, kvModel)).toEqual({ ok: true })
    // a range cannot see c's put before b's if c's put started after b's finished
    const bad = [
      put(1, 'b', '2', 0, 1), put(2, 'c', '3', 2, 3), range(3, 'a', null, [['c', '3']], 0, 10)
    ]
    expect(checkLinearizable(bad, kvModel).ok).toBe(false)
  })

  it('answers unknown when the step budget runs out, deterministically', () => {
    // many concurrent writes and no way to order the final read: the search has to try them all
    const history: KvOp[] = []
    for (let c = 0; c < 12; c++) history.push(put(c, 'k', `v${c}`, 0, 100))
    history.push(get(99, 'k', 'never', 200, 201))
    const r1 = checkLinearizable(history, kvModel, { timeoutSteps: 50 })
    const r2 = checkLinearizable(history, kvModel, { timeoutSteps: 50 })
    expect(r1.ok).toBe('unknown')
    expect(r2).toEqual(r1)
    // with enough steps the memoised search proves it wrong
    expect(checkLinearizable(history, kvModel).ok).toBe(false)
  })

  it('refuses malformed operations', () => {
    expect(() => checkLinearizable([put(1, 'k', 'v', 5, 4)], kvModel)).toThrow(TypeError)
    expect(() => checkLinearizable([put(1, 'k', 'v', NaN, 4)], kvModel)).toThrow(TypeError)
    expect(() => checkLinearizable([op(1, { op: 'put', key: 'k', value: 'v' } as KvInput, { op: 'get', value: null } as KvOutput, 0, 1)], kvModel)).toThrow(/recorded as a get/)
  })
})

// -- generated histories ------------------------------------------------------

interface Planned { clientId: number, input: KvInput, call: number, point: number, ret: number, pending: boolean, applies: boolean }

/**
 * Runs the planned operations one by one in the order of their
 * linearization points and records what each returned: a linearizable
 * history by construction.
 */
const execute = (planned: Planned[]): KvOp[] => {
  let state: KvState = kvModel.init()
  const outputs = new Map<Planned, KvOutput>()
  for (const p of [...planned].sort((a, b) => a.point - b.point)) {
    if (!p.applies) continue
    const r = kvApply(state, p.input)
    state = r.state
    outputs.set(p, r.output)
  }
  return planned.map((p) => p.pending
    ? { clientId: p.clientId, input: p.input, output: undefined, call: p.call, return: Infinity }
    : { clientId: p.clientId, input: p.input, output: outputs.get(p), call: p.call, return: p.ret })
}

const randomInput = (prng: Prng, keys: string[], values: string[], ranges: boolean): KvInput => {
  const key = prng.pick(keys)
  const value = (): string | null => (prng.bool(0.2) ? null : prng.pick(values))
  switch (prng.int(0, ranges ? 5 : 4)) {
    case 0: case 1: return { op: 'get', key }
    case 2: return { op: 'put', key, value: prng.pick(values) }
    case 3: return prng.bool(0.5) ? { op: 'delete', key } : { op: 'cas', key, expected: value(), next: value() }
    case 4: return { op: 'cas', key, expected: value(), next: prng.pick(values) }
    default: {
      const [a, b] = [prng.pick(keys), prng.pick(keys)].sort()
      return { op: 'range', from: a, to: prng.bool(0.3) ? null : b, limit: prng.bool(0.3) ? prng.int(1, 3) : undefined }
    }
  }
}

/**
 * `clients` clients, each issuing `perClient` operations one after another
 * with random durations; each takes effect at a random point of its
 * interval. A few never return (some of those never take effect).
 */
const concurrentHistory = (prng: Prng, clients: number, perClient: number, keys: string[], ranges: boolean, pendingRate = 0.01): KvOp[] => {
  const values = Array.from({ length: 6 }, (_, i) => `v${i}`)
  const planned: Planned[] = []
  for (let c = 0; c < clients; c++) {
    let t = prng.int(0, 10)
    for (let i = 0; i < perClient; i++) {
      const call = t
      const ret = call + prng.int(0, 30)
      const isPending = prng.bool(pendingRate)
      planned.push({
        clientId: c, input: randomInput(prng, keys, values, ranges), call,
        point: call + prng.next() * (ret - call), ret, pending: isPending, applies: !isPending || prng.bool(0.5)
      })
      if (isPending) break // a crashed client issues nothing more
      t = ret + prng.int(0, 5)
    }
  }
  return execute(planned)
}

/** Sets one completed get's output to a value no one wrote; false if the history has no completed get. */
const corruptOneRead = (history: KvOp[], pick: number): boolean => {
  const reads = history.filter((o) => o.input.op === 'get' && o.return !== Infinity)
  if (reads.length === 0) return false
  const victim = reads[pick % reads.length]
  victim.output = { op: 'get', value: 'never-written' }
  return true
}

describe('checkLinearizable: generated histories', () => {
  const arbHistory = fc.record({
    seed: fc.integer(),
    clients: fc.integer({ min: 1, max: 5 }),
    perClient: fc.integer({ min: 1, max: 12 }),
    keyCount: fc.integer({ min: 1, max: 3 }),
    ranges: fc.boolean(),
    pick: fc.nat()
  })

  it('accepts every history recorded from a real execution', () => {
    fc.assert(fc.property(arbHistory, ({ seed, clients, perClient, keyCount, ranges }) => {
      const keys = ['a', 'b', 'c'].slice(0, keyCount)
      const history = concurrentHistory(new Prng(seed), clients, perClient, keys, ranges, 0.1)
      expect(checkLinearizable(history, kvModel)).toEqual({ ok: true })
    }), { seed: SEED, numRuns: 300 })
  })

  it('rejects it once one read returns a value never written', () => {
    fc.assert(fc.property(arbHistory, ({ seed, clients, perClient, keyCount, ranges, pick }) => {
      const keys = ['a', 'b', 'c'].slice(0, keyCount)
      const history = concurrentHistory(new Prng(seed), clients, perClient, keys, ranges, 0.1)
      fc.pre(corruptOneRead(history, pick))
      const r = checkLinearizable(history, kvModel)
      expect(r.ok).toBe(false)
    }), { seed: SEED + 1, numRuns: 300 })
  })

  it('checks 10 clients × 200 operations over 5 keys within the default budget', () => {
    runSeeds(3, (_seed, prng) => {
      const keys = ['k0', 'k1', 'k2', 'k3', 'k4']
      const history = concurrentHistory(prng, 10, 200, keys, false, 0.0005)
      expect(history.length).toBeGreaterThan(1000)
      expect(checkLinearizable(history, kvModel)).toEqual({ ok: true })
      corruptOneRead(history, prng.int(0, 1000))
      expect(checkLinearizable(history, kvModel).ok).toBe(false)
    }, { env: process.env })
  })

  it('checks 4 clients × 60 operations with ranges (one partition) within the default budget', () => {
    runSeeds(3, (_seed, prng) => {
      const history = concurrentHistory(prng, 4, 60, ['a', 'b', 'c', 'd'], true, 0.005)
      expect(checkLinearizable(history, kvModel)).toEqual({ ok: true })
    }, { env: process.env })
  })
})
