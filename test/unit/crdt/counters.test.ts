import { describe, expect, it } from 'vitest'
import { GCounter, PNCounter } from '../../../src/crdt/index.js'
import { DecodeError, InvalidArgumentError } from '../../../src/errors.js'

describe('GCounter', () => {
  it('increments, merges deltas, round-trips', () => {
    const a = new GCounter('a')
    const b = new GCounter('b')
    b.merge(a.increment(2))
    b.increment()
    a.merge(b)
    expect(a.value()).toBe(3)
    expect(a.get('a')).toBe(2)
    expect(GCounter.decode(a.encode()).toJSON()).toEqual(a.toJSON())
    expect(() => a.increment(-1)).toThrow(InvalidArgumentError)
    expect(() => new GCounter().increment()).toThrow(InvalidArgumentError)
    expect(() => GCounter.decode(new PNCounter().encode())).toThrow(DecodeError)
    expect(a.increment(0).value()).toBe(0)
  })
})

describe('PNCounter', () => {
  it('goes up and down and converges', () => {
    const a = new PNCounter('a')
    const b = new PNCounter('b')
    const d1 = a.decrement(3)
    const d2 = b.increment(5)
    a.merge(d2).merge(d2)
    b.merge(d1)
    expect(a.value()).toBe(2)
    expect(b.value()).toBe(2)
    expect(a.toJSON()).toEqual(b.toJSON())
    expect(PNCounter.decode(b.encode(), 'b').toJSON()).toEqual(b.toJSON())
    expect(() => PNCounter.decode(new Uint8Array([1, 2, 0]))).toThrow(DecodeError)
    const c = a.clone()
    c.increment()
    expect(a.value()).toBe(2)
  })
})
