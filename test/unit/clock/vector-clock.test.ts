import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Ordering, VectorClock, VECTOR_CLOCK_VERSION } from '../../../src/clock/index.js'
import { DecodeError, InvalidArgumentError } from '../../../src/errors.js'

const clockArb = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.nat({ max: 5 })).map(r => VectorClock.from(r))

describe('VectorClock', () => {
  it('increments and reads counters; unknown nodes are 0', () => {
    const vc = new VectorClock()
    expect(vc.get('a')).toBe(0)
    expect(vc.increment('a')).toBe(1)
    expect(vc.increment('a', 4)).toBe(5)
    expect(vc.get('a')).toBe(5)
    expect(vc.size).toBe(1)
    expect(vc.increment('b', 0)).toBe(0)
    expect(vc.size).toBe(1)
  })

  it('refuses bad node ids and amounts', () => {
    const vc = new VectorClock()
    expect(() => vc.increment('x'.repeat(65))).toThrow(InvalidArgumentError)
    expect(() => vc.increment('\ud800')).toThrow(InvalidArgumentError)
    expect(() => vc.increment('a', -1)).toThrow(InvalidArgumentError)
    expect(() => vc.increment('a', 1.5)).toThrow(InvalidArgumentError)
    expect(() => vc.set('a', Number.MAX_SAFE_INTEGER + 1)).toThrow(InvalidArgumentError)
    vc.set('a', Number.MAX_SAFE_INTEGER)
    expect(() => vc.increment('a')).toThrow(InvalidArgumentError)
  })

  it('merges by pointwise maximum', () => {
    const a = VectorClock.from({ a: 3, b: 1 })
    const b = VectorClock.from({ b: 4, c: 2 })
    expect(a.merge(b).toJSON()).toEqual({ a: 3, b: 4, c: 2 })
    expect(b.toJSON()).toEqual({ b: 4, c: 2 })
  })

  it('compares: all four orderings', () => {
    const a = VectorClock.from({ a: 1 })
    const ab = VectorClock.from({ a: 1, b: 1 })
    const b = VectorClock.from({ b: 1 })
    expect(a.compare(ab)).toBe(Ordering.Before)
    expect(ab.compare(a)).toBe(Ordering.After)
    expect(a.compare(VectorClock.from({ a: 1 }))).toBe(Ordering.Equal)
    expect(a.compare(b)).toBe(Ordering.Concurrent)
    expect(new VectorClock().compare(new VectorClock())).toBe(Ordering.Equal)
    expect(new VectorClock().compare(a)).toBe(Ordering.Before)
    expect(VectorClock.from({ a: 0 }).compare(new VectorClock())).toBe(Ordering.Equal)
    expect(VectorClock.from({ a: 2, b: 1 }).compare(VectorClock.from({ a: 1, b: 2 }))).toBe(Ordering.Concurrent)
  })

  it('compare is antisymmetric and agrees with merge', () => {
    const flip = { before: 'after', after: 'before', equal: 'equal', concurrent: 'concurrent' } as const
    fc.assert(fc.property(clockArb, clockArb, (a, b) => {
      const o = a.compare(b)
      expect(b.compare(a)).toBe(flip[o])
      expect(o === Ordering.Equal).toBe(a.equals(b))
      const m = a.clone().merge(b)
      expect([Ordering.After, Ordering.Equal]).toContain(m.compare(a))
      expect([Ordering.After, Ordering.Equal]).toContain(m.compare(b))
      if (o === Ordering.Before || o === Ordering.Equal) expect(m.equals(b)).toBe(true)
    }), { seed: 1, numRuns: 300 })
  })

  it('entries and toJSON are sorted by node id', () => {
    const vc = VectorClock.from([['c', 1], ['a', 2], ['b', 3]])
    expect(vc.entries()).toEqual([['a', 2], ['b', 3], ['c', 1]])
    expect(Object.keys(vc.toJSON())).toEqual(['a', 'b', 'c'])
  })

  it('clone is independent', () => {
    const a = VectorClock.from({ a: 1 })
    const c = a.clone()
    c.increment('a')
    expect(a.get('a')).toBe(1)
  })

  it('round-trips through encode/decode', () => {
    fc.assert(fc.property(clockArb, vc => {
      const bytes = vc.encode()
      expect(bytes[0]).toBe(VECTOR_CLOCK_VERSION)
      const back = VectorClock.decode(bytes)
      expect(back.equals(vc)).toBe(true)
      expect(back.encode()).toEqual(bytes)
    }), { seed: 2, numRuns: 200 })
    const odd = VectorClock.from({ 'ünï€😀': Number.MAX_SAFE_INTEGER, __proto__x: 1 })
    expect(VectorClock.decode(odd.encode()).toJSON()).toEqual(odd.toJSON())
  })

  it('rejects bad bytes with DecodeError', () => {
    const good = VectorClock.from({ a: 1, b: 2 }).encode()
    const bad: Uint8Array[] = [
      new Uint8Array([]),
      new Uint8Array([2, 0]), // unknown version
      good.slice(0, good.length - 1), // truncated
      new Uint8Array([...good, 0]), // trailing
      new Uint8Array([1, 2, 1, 98, 1, 1, 97, 1]), // unsorted
      new Uint8Array([1, 2, 1, 97, 1, 1, 97, 1]), // duplicate
      new Uint8Array([1, 1, 1, 97, 0]), // zero counter
      new Uint8Array([1, 0xff, 0xff, 0xff, 0xff, 0x0f]), // huge count
      new Uint8Array([1, 1, 1, 0xff, 1]) // invalid UTF-8
    ]
    for (const b of bad) expect(() => VectorClock.decode(b), String([...b])).toThrow(DecodeError)
    expect(() => VectorClock.decode('x' as unknown as Uint8Array)).toThrow(DecodeError)
  })

  it('decode fuzz: random and mutated bytes throw only DecodeError', () => {
    const good = VectorClock.from({ alice: 7, bob: 300, carol: 1 }).encode()
    const bytesArb = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.tuple(fc.nat({ max: good.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([i, v]) => { const b = good.slice(); b[i] = v; return b }),
      fc.nat({ max: good.length }).map(n => good.slice(0, n))
    )
    fc.assert(fc.property(bytesArb, bytes => {
      try {
        const vc = VectorClock.decode(bytes)
        expect(VectorClock.decode(vc.encode()).equals(vc)).toBe(true)
      } catch (err) {
        expect(err).toBeInstanceOf(DecodeError)
      }
    }), { seed: 3, numRuns: 1000 })
  })
})
