import { describe, expect, it } from 'vitest'
import { HybridLogicalClock } from '../../../src/clock/index.js'
import { CRDT_FORMAT_VERSION, CrdtTypeTag, LWWRegister } from '../../../src/crdt/index.js'
import { DecodeError, InvalidArgumentError } from '../../../src/errors.js'

describe('LWWRegister', () => {
  it('is empty until the first write', () => {
    const r = new LWWRegister<string>('a')
    expect(r.get()).toBeUndefined()
    expect(r.value()).toBeUndefined()
    expect(r.timestamp).toBeUndefined()
    expect(r.toJSON()).toEqual({ type: 'LWWRegister', value: null, timestamp: null, node: null })
  })

  it('keeps the write with the highest HLC timestamp', () => {
    const ca = new HybridLogicalClock('a', () => 100)
    const cb = new HybridLogicalClock('b', () => 200)
    const a = new LWWRegister<string>('a')
    const b = new LWWRegister<string>('b')
    const da = a.set('from a', ca.now())
    const db = b.set('from b', cb.now())
    a.merge(db)
    b.merge(da)
    expect(a.get()).toBe('from b')
    expect(b.get()).toBe('from b')
    expect(a.writer).toBe('b')
  })

  it('a local write older than the current value loses', () => {
    const r = new LWWRegister<number>('a')
    r.set(1, 10)
    const delta = r.set(2, 5)
    expect(r.get()).toBe(1)
    expect(delta.get()).toBe(2)
  })

  it('breaks timestamp ties by node id, then by canonical value', () => {
    const x = new LWWRegister<string>()
    const y = new LWWRegister<string>()
    const d1 = x.set('one', 7, 'alice')
    const d2 = y.set('two', 7, 'bob')
    x.merge(d2)
    y.merge(d1)
    expect(x.get()).toBe('two')
    expect(y.get()).toBe('two')
    // same timestamp and node: the canonically larger value wins, in both orders
    const p = new LWWRegister<string>().merge(new LWWRegister<string>().set('a', 1, 'n')).merge(new LWWRegister<string>().set('b', 1, 'n'))
    const q = new LWWRegister<string>().merge(new LWWRegister<string>().set('b', 1, 'n')).merge(new LWWRegister<string>().set('a', 1, 'n'))
    expect(p.toJSON()).toEqual(q.toJSON())
  })

  it('stores a canonical copy', () => {
    const v = { b: 1, a: [1, 2] }
    const r = new LWWRegister('a')
    r.set(v, 1)
    v.a.push(3)
    expect(r.get()).toEqual({ a: [1, 2], b: 1 })
    expect(Object.keys(r.get() as object)).toEqual(['a', 'b'])
  })

  it('validates writes', () => {
    const r = new LWWRegister()
    expect(() => r.set(1, 1)).toThrow(InvalidArgumentError) // no writer
    const w = new LWWRegister('a')
    expect(() => w.set(1, -1)).toThrow(InvalidArgumentError)
    expect(() => w.set(1, 1.5)).toThrow(InvalidArgumentError)
    expect(() => w.set(undefined as never, 1)).toThrow(InvalidArgumentError)
    expect(() => w.set(new Date() as never, 1)).toThrow(InvalidArgumentError)
    expect(() => w.merge({} as never)).toThrow(InvalidArgumentError)
  })

  it('round-trips and rejects bad bytes', () => {
    const r = new LWWRegister('a')
    expect(LWWRegister.decode(r.encode()).toJSON()).toEqual(r.toJSON())
    r.set({ x: new Uint8Array([1, 2]), y: [null, true, 1.5] }, 123456789)
    const bytes = r.encode()
    expect(bytes[0]).toBe(CRDT_FORMAT_VERSION)
    expect(bytes[1]).toBe(CrdtTypeTag.LWWRegister)
    const back = LWWRegister.decode(bytes, 'z')
    expect(back.toJSON()).toEqual(r.toJSON())
    expect(back.nodeId).toBe('z')
    for (const bad of [new Uint8Array([1, 3, 2]), new Uint8Array([1, 4, 0]), new Uint8Array([2, 3, 0]), bytes.slice(0, -1), new Uint8Array([...bytes, 0])]) {
      expect(() => LWWRegister.decode(bad)).toThrow(DecodeError)
    }
  })

  it('clone is independent', () => {
    const r = new LWWRegister('a')
    r.set(1, 1)
    const c = r.clone()
    c.set(2, 2)
    expect(r.get()).toBe(1)
    expect(c.get()).toBe(2)
  })
})
