import { describe, expect, it } from 'vitest'
import { MAX_MAP_DEPTH, ORMap } from '../../../src/crdt/index.js'
import { DecodeError, InvalidArgumentError } from '../../../src/errors.js'

const sync = (...maps: ORMap[]): void => {
  const all = new ORMap()
  for (const m of maps) all.merge(m)
  for (const m of maps) m.merge(all)
}

describe('ORMap', () => {
  it('holds nested counters, registers, sets and maps', () => {
    const a = new ORMap('a')
    const b = new ORMap('b')
    b.merge(a.counter('votes').increment(3))
    b.merge(a.counter('votes').decrement())
    b.merge(a.register('title').set('Ship it'))
    b.merge(a.orSet<string>('tags').add('docs'))
    b.merge(a.map('task').map('meta').counter('n').increment(2))
    expect(b.value()).toEqual({ tags: ['docs'], task: { meta: { n: 2 } }, title: ['Ship it'], votes: 2 })
    expect(b.keys()).toEqual(['tags', 'task', 'title', 'votes'])
    expect(b.counter('votes').value()).toBe(2)
    expect(b.register('title').values()).toEqual(['Ship it'])
    expect(b.orSet('tags').has('docs')).toBe(true)
    expect(b.orSet('tags').size).toBe(1)
    expect(b.map('task').keys()).toEqual(['meta'])
    expect(b.get('votes')).toBe(2)
    expect(b.get('missing')).toBeUndefined()
    expect(b.kind('task')).toBe('map')
    expect(b.size).toBe(4)
    expect(b.toJSON()).toEqual(a.toJSON())
  })

  it('counters sum every node’s share', () => {
    const a = new ORMap('a')
    const b = new ORMap('b')
    const d1 = a.counter('c').increment(5)
    const d2 = b.counter('c').decrement(2)
    a.merge(d2)
    b.merge(d1)
    expect(a.counter('c').value()).toBe(3)
    expect(b.counter('c').value()).toBe(3)
    // a share is replaced, not accumulated: one dot per node
    for (let i = 0; i < 100; i++) b.merge(a.counter('c').increment())
    expect(b.counter('c').value()).toBe(103)
    expect((b.toJSON().entries[0][1] as { shares: unknown[] }).shares).toHaveLength(2)
  })

  it('concurrent registers keep both values', () => {
    const a = new ORMap('a')
    const b = new ORMap('b')
    const da = a.register('r').set(1)
    const db = b.register('r').set(2)
    a.merge(db)
    b.merge(da)
    expect(a.register('r').values()).toEqual([1, 2])
    expect(b.get('r')).toEqual([1, 2])
  })

  it('update of a nested value wins over a concurrent remove of its key', () => {
    const a = new ORMap('a')
    const b = new ORMap('b')
    b.merge(a.map('task').register('title').set('draft'))
    b.merge(a.counter('votes').increment(2))
    b.merge(a.orSet('tags').add('x'))
    // concurrently: b removes the keys, a updates inside them
    const removes = [b.remove('task'), b.remove('votes'), b.remove('tags')]
    const updates = [a.map('task').counter('edits').increment(), a.counter('votes').increment(), a.orSet('tags').add('y')]
    for (const d of removes) a.merge(d)
    for (const d of updates) b.merge(d)
    expect(a.toJSON()).toEqual(b.toJSON())
    // the removed register is gone; the concurrent updates survive
    expect(a.value()).toEqual({ tags: ['y'], task: { edits: 1 }, votes: 3 })
    expect(b.value()).toEqual(a.value())
  })

  it('an observed remove deletes the key everywhere', () => {
    const a = new ORMap('a')
    const b = new ORMap('b')
    b.merge(a.map('m').orSet('s').add(1))
    const rm = b.remove('m')
    expect(b.has('m')).toBe(false)
    a.merge(rm)
    expect(a.has('m')).toBe(false)
    expect(a.value()).toEqual({})
    const nested = new ORMap('c')
    nested.merge(a.map('x').map('y').counter('z').increment())
    const d = nested.map('x').map('y').remove('z')
    expect(nested.has('x')).toBe(false) // empty parents are pruned
    a.merge(d)
    expect(a.value()).toEqual({})
  })

  it('removing one set element or resetting a counter through a remove', () => {
    const a = new ORMap('a')
    a.orSet('s').add(1)
    a.orSet('s').add(2)
    const d = a.orSet('s').remove(1)
    expect(a.orSet('s').values()).toEqual([2])
    expect(new ORMap('b').merge(a.clone()).merge(d).orSet('s').values()).toEqual([2])
    a.orSet('s').remove(2)
    expect(a.has('s')).toBe(false)
    a.counter('c').increment(4)
    a.remove('c')
    a.counter('c').increment(1)
    expect(a.counter('c').value()).toBe(1) // an observed remove resets the counter
  })

  it('refuses a kind other than the one a key holds', () => {
    const a = new ORMap('a')
    a.counter('k').increment()
    expect(() => a.register('k')).toThrow(InvalidArgumentError)
    expect(() => a.map('k')).toThrow(InvalidArgumentError)
    expect(() => a.orSet('k')).toThrow(InvalidArgumentError)
    a.remove('k')
    expect(() => a.register('k').set(1)).not.toThrow()
    expect(() => a.map(5 as never)).toThrow(InvalidArgumentError)
  })

  it('concurrent different kinds at one key: precedence, then the next write heals', () => {
    const a = new ORMap('a')
    const b = new ORMap('b')
    const da = a.counter('k').increment(7)
    const db = b.register('k').set('text')
    a.merge(db)
    b.merge(da)
    expect(a.get('k')).toBe(7) // counter before register
    expect(b.get('k')).toBe(7)
    expect(a.register('k').values()).toEqual(['text']) // both kinds are reachable
    const heal = b.register('k').set('again')
    expect(b.get('k')).toEqual(['again'])
    a.merge(heal)
    expect(a.value()).toEqual({ k: ['again'] })
    expect(a.toJSON()).toEqual(b.toJSON())
  })

  it('needs a nodeId to write and validates values', () => {
    const ro = new ORMap()
    expect(() => ro.counter('c').increment()).toThrow(InvalidArgumentError)
    expect(() => ro.orSet('s').remove(1)).toThrow(InvalidArgumentError)
    const a = new ORMap('a')
    expect(() => a.register('r').set(undefined as never)).toThrow(InvalidArgumentError)
    expect(() => a.counter('c').increment(-1)).toThrow(InvalidArgumentError)
    expect(a.counter('c').increment(0).value()).toEqual({})
    expect(a.has('c')).toBe(false)
  })

  it('limits nesting depth', () => {
    let v = new ORMap('a').map('0')
    for (let i = 1; i < MAX_MAP_DEPTH; i++) v = v.map(String(i))
    expect(() => v.map('deep')).toThrow(InvalidArgumentError)
    const m = new ORMap('a')
    let w = m.map('0')
    for (let i = 1; i < MAX_MAP_DEPTH; i++) w = w.map(String(i))
    w.counter('c').increment()
    expect(ORMap.decode(m.encode()).toJSON()).toEqual(m.toJSON())
  })

  it('round-trips and rejects bad bytes', () => {
    const a = new ORMap('a')
    const b = new ORMap('b')
    a.map('m').register('r').set({ z: [1, 'two', null] })
    b.map('m').orSet('s').add(new Uint8Array([1]))
    b.counter('c').decrement(9)
    a.register('__proto__').set(1)
    sync(a, b)
    const bytes = a.encode()
    const back = ORMap.decode(bytes, 'a')
    expect(back.toJSON()).toEqual(a.toJSON())
    expect(back.value()).toEqual(a.value())
    expect(back.encode()).toEqual(bytes)
    expect(Object.keys(back.value())).toContain('__proto__')
    for (let n = 0; n < bytes.length; n++) expect(() => ORMap.decode(bytes.slice(0, n))).toThrow(DecodeError)
    // an empty nested map is refused
    expect(() => ORMap.decode(new Uint8Array([1, 6, 0, 0, 1, 0, 1, 107, 0]))).toThrow(DecodeError)
    // an unknown kind is refused
    expect(() => ORMap.decode(new Uint8Array([1, 6, 0, 0, 1, 9, 1, 107, 0]))).toThrow(DecodeError)
  })

  it('clone is independent', () => {
    const a = new ORMap('a')
    a.counter('c').increment()
    const c = a.clone()
    c.counter('c').increment()
    c.map('m').counter('x').increment()
    expect(a.value()).toEqual({ c: 1 })
    expect(c.value()).toEqual({ c: 2, m: { x: 1 } })
  })
})
