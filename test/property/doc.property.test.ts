import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Doc } from '../../src/doc/index.js'
import { DecodeError } from '../../src/errors.js'

const KEYS = ['a', 'b', 'c']
const value = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom('x', 'y', ''),
  fc.boolean(),
  fc.constant(null),
  fc.constant({ o: [1, 2] })
)

type Op =
  | { t: 'mapSet', k: string, v: unknown }
  | { t: 'mapDel', k: string }
  | { t: 'nestedSet', k: string, k2: string, v: unknown }
  | { t: 'nestedCounter', k: string, n: number }
  | { t: 'nestedSetAdd', k: string, v: unknown }
  | { t: 'nestedSetRemove', k: string, v: unknown }
  | { t: 'counter', n: number }
  | { t: 'setAdd', v: unknown }
  | { t: 'setRemove', v: unknown }
  | { t: 'register', v: unknown }
  | { t: 'txn', ops: Op[] }

const key = fc.constantFrom(...KEYS)
const simpleOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('mapSet' as const), k: key, v: value }),
  fc.record({ t: fc.constant('mapDel' as const), k: key }),
  fc.record({ t: fc.constant('nestedSet' as const), k: key, k2: key, v: value }),
  fc.record({ t: fc.constant('nestedCounter' as const), k: key, n: fc.integer({ min: -3, max: 3 }) }),
  fc.record({ t: fc.constant('nestedSetAdd' as const), k: key, v: fc.constantFrom(1, 2, 'x') }),
  fc.record({ t: fc.constant('nestedSetRemove' as const), k: key, v: fc.constantFrom(1, 2, 'x') }),
  fc.record({ t: fc.constant('counter' as const), n: fc.integer({ min: -5, max: 5 }) }),
  fc.record({ t: fc.constant('setAdd' as const), v: fc.constantFrom(1, 2, 'x', { a: 1 }) }),
  fc.record({ t: fc.constant('setRemove' as const), v: fc.constantFrom(1, 2, 'x', { a: 1 }) }),
  fc.record({ t: fc.constant('register' as const), v: value })
)
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: simpleOp },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('txn' as const), ops: fc.array(simpleOp, { minLength: 1, maxLength: 5 }) }) }
)

const apply = (d: Doc, o: Op): void => {
  switch (o.t) {
    case 'mapSet': d.map('m').set(o.k, o.v as never); break
    case 'mapDel': d.map('m').delete(o.k); break
    case 'nestedSet': d.map('m').map(o.k).set(o.k2, o.v as never); break
    case 'nestedCounter': if (o.n >= 0) d.map('m').counter(o.k).increment(o.n); else d.map('m').counter(o.k).decrement(-o.n); break
    case 'nestedSetAdd': d.map('m').orSet(o.k).add(o.v as never); break
    case 'nestedSetRemove': d.map('m').orSet(o.k).remove(o.v as never); break
    case 'counter': if (o.n >= 0) d.counter('c').increment(o.n); else d.counter('c').decrement(-o.n); break
    case 'setAdd': d.set('s').add(o.v as never); break
    case 'setRemove': d.set('s').remove(o.v as never); break
    case 'register': d.register('r').set(o.v as never); break
    case 'txn': d.transact(() => { for (const x of o.ops) apply(d, x) }); break
  }
}

type Step =
  | { s: 'op', replica: number, op: Op }
  | { s: 'deliver', msg: number, to: number }
  | { s: 'sync', from: number, to: number }
  | { s: 'tick', ms: number }

const step = (n: number): fc.Arbitrary<Step> => fc.oneof(
  { weight: 5, arbitrary: fc.record({ s: fc.constant('op' as const), replica: fc.nat(n - 1), op }) },
  { weight: 4, arbitrary: fc.record({ s: fc.constant('deliver' as const), msg: fc.nat(), to: fc.nat(n - 1) }) },
  { weight: 1, arbitrary: fc.record({ s: fc.constant('sync' as const), from: fc.nat(n - 1), to: fc.nat(n - 1) }) },
  { weight: 1, arbitrary: fc.record({ s: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 5 }) }) }
)

const scenario = fc.integer({ min: 3, max: 5 }).chain(n => fc.record({
  n: fc.constant(n),
  steps: fc.array(step(n), { maxLength: 60 }),
  order: fc.array(fc.nat(), { maxLength: 400 }),
  sameClock: fc.boolean()
}))

describe('Doc convergence (property)', () => {
  it('replicas converge for any delivery order with duplicates, forwarding and state syncs', () => {
    fc.assert(fc.property(scenario, ({ n, steps, order, sameClock }) => {
      let time = 1_700_000_000_000
      const now = (): number => sameClock ? time : time++
      const docs = Array.from({ length: n }, (_, i) => new Doc({ replicaId: 'r' + i, now }))
      const pool: Uint8Array[] = []
      docs.forEach(d => d.on('update', u => pool.push(u)))
      for (const st of steps) {
        if (st.s === 'op') apply(docs[st.replica], st.op)
        else if (st.s === 'deliver' && pool.length > 0) docs[st.to].applyUpdate(pool[st.msg % pool.length])
        else if (st.s === 'sync' && st.from !== st.to) {
          docs[st.to].applyUpdate(docs[st.from].encodeStateAsUpdate(docs[st.to].encodeStateVector()))
        } else if (st.s === 'tick') time += st.ms
      }
      // deliver everything everywhere, in a random order, with duplicates
      const all = pool.slice()
      for (let i = 0; i < order.length && all.length > 0; i++) {
        docs[order[i] % n].applyUpdate(all[(order[i] >> 3) % all.length])
      }
      for (const d of docs) for (let i = all.length - 1; i >= 0; i--) d.applyUpdate(all[i])
      const json = JSON.stringify(docs[0].toJSON())
      const sv = docs[0].encodeStateVector()
      for (const d of docs) {
        expect(JSON.stringify(d.toJSON())).toBe(json)
        expect(d.encodeStateVector()).toEqual(sv)
      }
    }), { numRuns: 300 })
  })

  it('state-vector sync alone converges (anti-entropy)', () => {
    fc.assert(fc.property(scenario, fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 30 }), ({ n, steps }, syncs) => {
      let time = 1_700_000_000_000
      const now = (): number => time++
      const docs = Array.from({ length: n }, (_, i) => new Doc({ replicaId: 'r' + i, now }))
      let k = 0
      for (const st of steps) {
        if (st.s === 'op') apply(docs[st.replica], st.op)
        if (k < syncs.length) {
          const [x, y] = syncs[k++]
          const a = docs[x % n]; const b = docs[y % n]
          if (a !== b) b.applyUpdate(a.encodeStateAsUpdate(b.encodeStateVector()))
        }
      }
      for (let round = 0; round < 2; round++) {
        for (const a of docs) for (const b of docs) if (a !== b) b.applyUpdate(a.encodeStateAsUpdate(b.encodeStateVector()))
      }
      const json = JSON.stringify(docs[0].toJSON())
      for (const d of docs) expect(JSON.stringify(d.toJSON())).toBe(json)
    }), { numRuns: 200 })
  })

  it('full state round-trips: decode(encode(doc)) has the same JSON and state vector', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 40 }), ops => {
      const a = new Doc({ replicaId: 'a' })
      for (const o of ops) apply(a, o)
      const b = new Doc({ replicaId: 'b' })
      b.applyUpdate(a.encodeStateAsUpdate())
      expect(b.toJSON()).toEqual(a.toJSON())
      expect(b.encodeStateVector()).toEqual(a.encodeStateVector())
      expect(b.encodeStateAsUpdate()).toEqual(a.encodeStateAsUpdate())
    }), { numRuns: 200 })
  })
})

describe('Doc decoder fuzz (property)', () => {
  const sample = (): { doc: Doc, updates: Uint8Array[] } => {
    const a = new Doc({ replicaId: 'a', now: () => 1_700_000_000_000 })
    const updates: Uint8Array[] = []
    a.on('update', u => updates.push(u))
    a.map('m').set('k', { x: [1, 'y', new Uint8Array([1])] })
    a.map('m').map('n').counter('c').increment(3)
    a.set('s').add('x'); a.set('s').remove('x'); a.set('s').add(7)
    a.register('r').set(1.5)
    a.map('m').delete('k')
    updates.push(a.encodeStateAsUpdate())
    return { doc: a, updates }
  }

  const checkApply = (bytes: Uint8Array): void => {
    const b = new Doc({ replicaId: 'b' })
    b.map('own').set('x', 1)
    const json = JSON.stringify(b.toJSON())
    const sv = b.encodeStateVector()
    try {
      b.applyUpdate(bytes)
    } catch (err) {
      expect(err).toBeInstanceOf(DecodeError)
      expect(JSON.stringify(b.toJSON())).toBe(json)
      expect(b.encodeStateVector()).toEqual(sv)
      return
    }
    // accepted: the doc must still work and encode
    b.map('own').set('y', 2)
    b.encodeStateAsUpdate()
    b.toJSON()
  }

  it('random bytes give DecodeError or a consistent apply, never a crash', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), bytes => { checkApply(bytes) }), { numRuns: 2000 })
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), bytes => {
      const withHeader = new Uint8Array(bytes.length + 2); withHeader[0] = 1; withHeader.set(bytes, 2)
      checkApply(withHeader)
    }), { numRuns: 2000 })
  })

  it('mutated valid updates give DecodeError or a consistent apply', () => {
    const { updates } = sample()
    fc.assert(fc.property(
      fc.nat(updates.length - 1),
      fc.array(fc.tuple(fc.constantFrom('flip', 'insert', 'delete', 'truncate'), fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      (which, mutations) => {
        let bytes = Array.from(updates[which])
        for (const [kind, pos, byte] of mutations) {
          const p = bytes.length === 0 ? 0 : pos % bytes.length
          if (kind === 'flip') bytes[p] = byte
          else if (kind === 'insert') bytes.splice(p, 0, byte)
          else if (kind === 'delete') bytes.splice(p, 1)
          else bytes = bytes.slice(0, p)
        }
        checkApply(new Uint8Array(bytes))
      }), { numRuns: 3000 })
  })

  it('a huge declared length does not allocate it', () => {
    const b = new Doc({ replicaId: 'b' })
    // version 1, flags 0, replica table of 2^35 entries
    const bytes = new Uint8Array([1, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
    expect(() => b.applyUpdate(bytes)).toThrow(/declares/)
  })
})
