import { describe, expect, it } from 'vitest'
import { ORSet } from '../../../src/crdt/index.js'
import { DecodeError, InvalidArgumentError } from '../../../src/errors.js'

describe('ORSet', () => {
  it('adds, removes and reports membership', () => {
    const s = new ORSet('a')
    s.add('x')
    s.add(2)
    s.add({ b: 1, a: 2 })
    expect(s.has('x')).toBe(true)
    expect(s.has({ a: 2, b: 1 })).toBe(true) // equal by canonical key
    expect(s.size).toBe(3)
    s.remove({ a: 2, b: 1 })
    expect(s.has({ b: 1, a: 2 })).toBe(false)
    expect(s.values()).toEqual([2, 'x'])
    expect(s.value()).toEqual(s.values())
  })

  it('add wins over a concurrent remove', () => {
    const a = new ORSet<string>('a')
    const b = new ORSet<string>('b')
    b.merge(a.add('x'))
    const rm = b.remove('x')
    const add = a.add('x')
    a.merge(rm)
    b.merge(add)
    expect(a.has('x')).toBe(true)
    expect(b.has('x')).toBe(true)
    expect(a.toJSON()).toEqual(b.toJSON())
  })

  it('a remove delta carries only a context', () => {
    const a = new ORSet<string>('a')
    a.add('x')
    const rm = a.remove('x')
    expect(rm.size).toBe(0)
    expect(rm.toJSON().context).toEqual({ vv: { a: 1 }, cloud: {} })
    expect(a.remove('never').toJSON().context).toEqual({ vv: {}, cloud: {} })
  })

  it('an observed remove wins over the add it saw, in any delivery order', () => {
    const a = new ORSet<string>('a')
    const add = a.add('x')
    const rm = a.remove('x')
    const b = new ORSet<string>('b').merge(rm).merge(add)
    expect(b.has('x')).toBe(false)
    expect(b.toJSON()).toEqual(a.toJSON())
  })

  it('metadata stays bounded over 10k add/remove cycles', () => {
    const a = new ORSet<string>('a')
    const b = new ORSet<string>('b')
    for (let i = 0; i < 10_000; i++) {
      b.merge(a.add('item' + (i % 7)))
      b.merge(a.remove('item' + (i % 7)))
    }
    a.add('kept')
    expect(a.values()).toEqual(['kept'])
    expect(a.encode().length).toBeLessThan(32)
    expect(b.encode().length).toBeLessThan(32)
    expect(b.toJSON().context.cloud).toEqual({})
  })

  it('clear removes what was seen', () => {
    const a = new ORSet('a')
    a.add(1)
    a.add(2)
    const d = a.clear()
    const b = new ORSet('b').merge(a.clone().merge(d))
    expect(a.size).toBe(0)
    expect(b.size).toBe(0)
  })

  it('validates elements', () => {
    const a = new ORSet('a')
    expect(() => a.add(undefined as never)).toThrow(InvalidArgumentError)
    expect(() => a.add(new Map() as never)).toThrow(InvalidArgumentError)
    expect(() => new ORSet().add(1)).toThrow(InvalidArgumentError)
  })

  it('round-trips and rejects bad bytes', () => {
    const a = new ORSet('a')
    const b = new ORSet('b')
    a.add('x')
    a.add(new Uint8Array([9]))
    b.add('x')
    b.add(null)
    a.merge(b)
    a.remove(null)
    const bytes = a.encode()
    const back = ORSet.decode(bytes, 'a')
    expect(back.toJSON()).toEqual(a.toJSON())
    expect(back.encode()).toEqual(bytes)
    expect(back).toEqual(a)
    for (let n = 0; n < bytes.length; n++) expect(() => ORSet.decode(bytes.slice(0, n))).toThrow(DecodeError)
    // a huge declared element count must not allocate
    expect(() => ORSet.decode(new Uint8Array([1, 5, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]))).toThrow(DecodeError)
  })
})
