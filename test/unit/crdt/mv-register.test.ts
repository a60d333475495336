import { describe, expect, it } from 'vitest'
import { MVRegister } from '../../../src/crdt/index.js'
import { DecodeError, InvalidArgumentError } from '../../../src/errors.js'

describe('MVRegister', () => {
  it('keeps concurrent values, sorted canonically', () => {
    const a = new MVRegister<string>('a')
    const b = new MVRegister<string>('b')
    const da = a.set('tea')
    const db = b.set('coffee')
    a.merge(db)
    b.merge(da)
    expect(a.values()).toEqual(['coffee', 'tea'])
    expect(b.values()).toEqual(['coffee', 'tea'])
    expect(a.hasConflict).toBe(true)
    expect(a.toJSON()).toEqual(b.toJSON())
  })

  it('a later write replaces every value it saw', () => {
    const a = new MVRegister<string>('a')
    const b = new MVRegister<string>('b')
    b.merge(a.set('x'))
    const d = b.set('y')
    expect(b.values()).toEqual(['y'])
    a.merge(d)
    expect(a.values()).toEqual(['y'])
    a.set('z')
    expect(a.values()).toEqual(['z'])
  })

  it('equal concurrent values show once', () => {
    const a = new MVRegister('a')
    const b = new MVRegister('b')
    a.merge(b.set({ k: 1 }))
    a.merge(new MVRegister('c').set({ k: 1 }))
    expect(a.values()).toEqual([{ k: 1 }])
  })

  it('old deltas arriving late are ignored', () => {
    const a = new MVRegister('a')
    const d1 = a.set(1)
    const d2 = a.set(2)
    const b = new MVRegister('b').merge(d2).merge(d1)
    expect(b.values()).toEqual([2])
    expect(b.toJSON()).toEqual(a.toJSON())
  })

  it('clear removes observed values only', () => {
    const a = new MVRegister('a')
    const b = new MVRegister('b')
    b.merge(a.set(1))
    const clr = b.clear()
    const concurrent = a.set(2)
    a.merge(clr)
    b.merge(concurrent)
    expect(a.values()).toEqual([2])
    expect(b.values()).toEqual([2])
  })

  it('needs a nodeId to write', () => {
    expect(() => new MVRegister().set(1)).toThrow(InvalidArgumentError)
    expect(() => new MVRegister('a').set((() => 1) as never)).toThrow(InvalidArgumentError)
  })

  it('round-trips and rejects bad bytes', () => {
    const a = new MVRegister('a')
    a.merge(new MVRegister('b').set('x'))
    a.merge(new MVRegister('c').set([1, { y: null }]))
    const bytes = a.encode()
    const back = MVRegister.decode(bytes, 'a')
    expect(back.toJSON()).toEqual(a.toJSON())
    expect(back.encode()).toEqual(bytes)
    back.set(3)
    expect(back.values()).toEqual([3])
    expect(() => MVRegister.decode(bytes.slice(0, -1))).toThrow(DecodeError)
    expect(() => MVRegister.decode(new Uint8Array([1, 5, 0, 0, 0]))).toThrow(DecodeError) // ORSet tag
    // a value whose dot is not in the context
    expect(() => MVRegister.decode(new Uint8Array([1, 4, 1, 1, 97, 1, 0, 1, 0, 2, 0]))).toThrow(DecodeError)
  })
})
