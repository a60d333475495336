import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  CRDT_FORMAT_VERSION, CrdtTypeTag, GCounter, LWWRegister, MVRegister, ORMap, type ORMapView, ORSet, PNCounter
} from '../../src/crdt/index.js'
import type { JsonValue } from '../../src/codec/value.js'
import { DecodeError, InvalidArgumentError } from '../../src/errors.js'
import { Prng } from '../../src/testing/index.js'

/** What every CRDT under test offers. */
interface Crdt {
  merge (other: this): this
  clone (): this
  toJSON (): unknown
  value (): unknown
  encode (): Uint8Array
}

interface Spec<C extends Crdt, Op> {
  name: keyof typeof CrdtTypeTag
  make: (node: string) => C
  op: fc.Arbitrary<Op>
  /** Applies a local op and returns its delta (undefined if the op was refused). */
  apply: (c: C, op: Op, node: string) => C | undefined
  decode: (bytes: Uint8Array, node?: string) => C
}

const NODES = ['n0', 'n1', 'n2', 'n3', 'n4']
const SEED = Number(process.env.AEGIS_SEED ?? 20240601)

const smallValue: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constantFrom<JsonValue>(1, 2, -0, 0, 'x', 'y', null, true, { a: 1, b: 2 }, { b: 2, a: 1 }, [1, 'x']),
  fc.constant(new Uint8Array([1, 2]))
)

type CounterOp = { t: 'inc' | 'dec', n: number }
const counterOp = fc.record({ t: fc.constantFrom<'inc' | 'dec'>('inc', 'dec'), n: fc.nat({ max: 5 }) })

const gCounter: Spec<GCounter, CounterOp> = {
  name: 'GCounter',
  make: node => new GCounter(node),
  op: counterOp,
  apply: (c, o) => c.increment(o.n),
  decode: (b, n) => GCounter.decode(b, n)
}

const pnCounter: Spec<PNCounter, CounterOp> = {
  name: 'PNCounter',
  make: node => new PNCounter(node),
  op: counterOp,
  apply: (c, o) => o.t === 'inc' ? c.increment(o.n) : c.decrement(o.n),
  decode: (b, n) => PNCounter.decode(b, n)
}

type LwwOp = { v: JsonValue, ts: number }
const lww: Spec<LWWRegister, LwwOp> = {
  name: 'LWWRegister',
  make: node => new LWWRegister(node),
  op: fc.record({ v: smallValue, ts: fc.nat({ max: 6 }) }), // few timestamps: many ties
  apply: (c, o) => c.set(o.v, o.ts),
  decode: (b, n) => LWWRegister.decode(b, n)
}

type MvOp = { t: 'set', v: JsonValue } | { t: 'clear' }
const mv: Spec<MVRegister, MvOp> = {
  name: 'MVRegister',
  make: node => new MVRegister(node),
  op: fc.oneof(
    { weight: 4, arbitrary: fc.record({ t: fc.constant('set' as const), v: smallValue }) },
    { weight: 1, arbitrary: fc.constant({ t: 'clear' as const }) }
  ),
  apply: (c, o) => o.t === 'set' ? c.set(o.v) : c.clear(),
  decode: (b, n) => MVRegister.decode(b, n)
}

type SetOp = { t: 'add' | 'remove', v: JsonValue } | { t: 'clear' }
const orSet: Spec<ORSet, SetOp> = {
  name: 'ORSet',
  make: node => new ORSet(node),
  op: fc.oneof(
    { weight: 5, arbitrary: fc.record({ t: fc.constantFrom<'add' | 'remove'>('add', 'remove'), v: smallValue }) },
    { weight: 1, arbitrary: fc.constant({ t: 'clear' as const }) }
  ),
  apply: (c, o) => o.t === 'clear' ? c.clear() : o.t === 'add' ? c.add(o.v) : c.remove(o.v),
  decode: (b, n) => ORSet.decode(b, n)
}

type MapOp = {
  path: string[]
  key: string
  t: 'inc' | 'dec' | 'reg' | 'add' | 'del' | 'remove'
  v: JsonValue
  n: number
}
const orMap: Spec<ORMap, MapOp> = {
  name: 'ORMap',
  make: node => new ORMap(node),
  op: fc.record({
    path: fc.array(fc.constantFrom('a', 'b'), { maxLength: 2 }),
    key: fc.constantFrom('x', 'y', 'a'),
    t: fc.constantFrom<MapOp['t']>('inc', 'dec', 'reg', 'add', 'del', 'remove'),
    v: smallValue,
    n: fc.nat({ max: 4 })
  }),
  apply: (c, o) => {
    try {
      let view: ORMap | ORMapView = c
      for (const k of o.path) view = view.map(k)
      switch (o.t) {
        case 'inc': return view.counter(o.key).increment(o.n)
        case 'dec': return view.counter(o.key).decrement(o.n)
        case 'reg': return view.register(o.key).set(o.v)
        case 'add': return view.orSet(o.key).add(o.v)
        case 'del': return view.orSet(o.key).remove(o.v)
        default: return view.remove(o.key)
      }
    } catch (err) {
      if (err instanceof InvalidArgumentError) return undefined // key holds another kind
      throw err
    }
  },
  decode: (b, n) => ORMap.decode(b, n)
}

interface Step<Op> { replica: number, op: Op }

/** Random ops on `n` replicas with random (duplicated, reordered) delta delivery and full-state merges. */
const simulate = <C extends Crdt, Op>(spec: Spec<C, Op>, n: number, steps: Array<Step<Op>>, seed: number, fullState: boolean): C[] => {
  const prng = new Prng(seed)
  const replicas = NODES.slice(0, n).map(spec.make)
  const deltas: C[] = []
  for (const s of steps) {
    const r = s.replica % n
    const d = spec.apply(replicas[r], s.op, NODES[r])
    if (d !== undefined) deltas.push(d)
    // deliver a few random past deltas (duplicates and reordering included)
    for (let k = prng.int(0, 2); k > 0 && deltas.length > 0; k--) replicas[prng.int(0, n - 1)].merge(prng.pick(deltas))
    if (fullState && prng.bool(0.2)) replicas[prng.int(0, n - 1)].merge(replicas[prng.int(0, n - 1)].clone())
  }
  // finally every replica gets every delta, shuffled, some twice
  for (const rep of replicas) {
    const order = prng.shuffle([...deltas, ...deltas.filter(() => prng.bool(0.3))])
    for (const d of order) rep.merge(d)
  }
  return replicas
}

const specs = [gCounter, pnCounter, lww, mv, orSet, orMap] as unknown as Array<Spec<Crdt, unknown>>

const stepsArb = <Op>(op: fc.Arbitrary<Op>): fc.Arbitrary<Array<Step<Op>>> =>
  fc.array(fc.record({ replica: fc.nat({ max: 4 }), op }), { maxLength: 30 })

/** Three states from one random run (so they are valid states of one system). */
const statesArb = <C extends Crdt, Op>(spec: Spec<C, Op>): fc.Arbitrary<C[]> =>
  fc.tuple(stepsArb(spec.op), fc.integer()).map(([steps, seed]) => {
    const prng = new Prng(seed)
    const replicas = NODES.slice(0, 3).map(spec.make)
    for (const s of steps) {
      const r = s.replica % 3
      const d = spec.apply(replicas[r], s.op, NODES[r])
      if (d !== undefined && prng.bool(0.5)) replicas[prng.int(0, 2)].merge(d)
    }
    return replicas
  })

const json = (c: Crdt): unknown => c.toJSON()

describe.each(specs.map(s => [s.name, s] as const))('%s', (_name, spec) => {
  it('replicas converge under reordered, duplicated deltas', () => {
    fc.assert(fc.property(fc.integer({ min: 3, max: 5 }), stepsArb(spec.op), fc.integer(), (n, steps, seed) => {
      const rs = simulate(spec, n, steps, seed, false)
      for (const r of rs.slice(1)) {
        expect(json(r)).toEqual(json(rs[0]))
        expect(r.value()).toEqual(rs[0].value())
      }
    }), { seed: SEED, numRuns: 150 })
  })

  it('replicas converge with full-state merges mixed in', () => {
    fc.assert(fc.property(fc.integer({ min: 3, max: 5 }), stepsArb(spec.op), fc.integer(), (n, steps, seed) => {
      const rs = simulate(spec, n, steps, seed, true)
      for (const r of rs.slice(1)) expect(json(r)).toEqual(json(rs[0]))
      // a fresh replica fed only full states agrees too
      const fresh = spec.make('fresh')
      for (const r of rs) fresh.merge(r)
      expect(json(fresh)).toEqual(json(rs[0]))
    }), { seed: SEED + 1, numRuns: 100 })
  })

  it('merge is idempotent, commutative and associative', () => {
    fc.assert(fc.property(statesArb(spec), ([x, y, z]) => {
      expect(json(x.clone().merge(x))).toEqual(json(x))
      expect(json(x.clone().merge(y))).toEqual(json(y.clone().merge(x)))
      expect(json(x.clone().merge(y).merge(z))).toEqual(json(x.clone().merge(y.clone().merge(z))))
      // merge leaves its argument alone
      const before = json(y)
      x.clone().merge(y)
      expect(json(y)).toEqual(before)
    }), { seed: SEED + 2, numRuns: 150 })
  })

  it('decode(encode(x)) equals x', () => {
    fc.assert(fc.property(statesArb(spec), states => {
      for (const x of states) {
        const bytes = x.encode()
        expect(bytes[0]).toBe(CRDT_FORMAT_VERSION)
        expect(bytes[1]).toBe(CrdtTypeTag[spec.name])
        const back = spec.decode(bytes, (x as unknown as { nodeId: string }).nodeId)
        expect(back).toEqual(x)
        expect(json(back)).toEqual(json(x))
        expect(back.encode()).toEqual(bytes)
      }
    }), { seed: SEED + 3, numRuns: 100 })
  })

  it('decoding random or mutated bytes throws DecodeError only', () => {
    const mutated = statesArb(spec).chain(states => {
      const good = states[0].clone().merge(states[1]).encode()
      return fc.oneof(
        fc.tuple(fc.nat({ max: good.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([i, v]) => { const b = good.slice(); b[i] = v; return b }),
        fc.tuple(fc.nat({ max: good.length }), fc.uint8Array({ minLength: 1, maxLength: 4 })).map(([i, ins]) => new Uint8Array([...good.slice(0, i), ...ins, ...good.slice(i)])),
        fc.nat({ max: good.length - 1 }).map(i => new Uint8Array([...good.slice(0, i), ...good.slice(i + 1)])),
        fc.nat({ max: good.length - 1 }).map(i => good.slice(0, i))
      )
    })
    const random = fc.oneof(
      fc.uint8Array({ maxLength: 48 }),
      fc.uint8Array({ maxLength: 48 }).map(b => new Uint8Array([CRDT_FORMAT_VERSION, CrdtTypeTag[spec.name], ...b])),
      fc.array(fc.constantFrom(0xff, 0x7f, 0x80, 0, 1, 2), { maxLength: 24 }).map(b => new Uint8Array([CRDT_FORMAT_VERSION, CrdtTypeTag[spec.name], ...b]))
    )
    fc.assert(fc.property(fc.oneof(mutated, random), bytes => {
      let decoded: Crdt | undefined
      try {
        decoded = spec.decode(bytes)
      } catch (err) {
        expect(err).toBeInstanceOf(DecodeError)
        return
      }
      // whatever decodes is a usable state
      const again = spec.decode(decoded.encode())
      expect(json(again)).toEqual(json(decoded))
      again.merge(decoded)
      decoded.value()
    }), { seed: SEED + 4, numRuns: 1000 })
  })

  it('refuses other CRDT types', () => {
    for (const other of specs) {
      if (other === spec) continue
      expect(() => spec.decode(other.make('n').encode())).toThrow(DecodeError)
    }
  })
})
