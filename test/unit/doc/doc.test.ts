import { describe, expect, it } from 'vitest'
import { Doc } from '../../../src/doc/index.js'
import { DecodeError, InvalidArgumentError } from '../../../src/errors.js'

/** A deterministic clock: every call advances one millisecond. */
const fakeNow = (start = 1_700_000_000_000): (() => number) => { let t = start; return () => t++ }
const mk = (id: string, now = fakeNow()): Doc => new Doc({ replicaId: id, now })

/** Connects docs both ways through their update events. */
const link = (...docs: Doc[]): void => {
  for (const a of docs) {
    a.on('update', (u, origin) => {
      for (const b of docs) if (b !== a && origin !== b) b.applyUpdate(u, a)
    })
  }
}

const syncVia = (from: Doc, to: Doc): number => {
  const u = from.encodeStateAsUpdate(to.encodeStateVector())
  to.applyUpdate(u)
  return u.length
}

describe('Doc map', () => {
  it('sets, gets, deletes and lists keys', () => {
    const d = mk('a')
    const m = d.map('m')
    m.set('x', 1)
    m.set('y', { nested: [1, 'two', null, true] })
    expect(m.get('x')).toBe(1)
    expect(m.get('y')).toEqual({ nested: [1, 'two', null, true] })
    expect(m.has('x')).toBe(true)
    expect(m.keys().sort()).toEqual(['x', 'y'])
    expect(m.size).toBe(2)
    expect(m.delete('x')).toBe(true)
    expect(m.delete('x')).toBe(false)
    expect(m.has('x')).toBe(false)
    expect(d.toJSON()).toEqual({ m: { y: { nested: [1, 'two', null, true] } } })
  })

  it('a "__proto__" key is plain data in toJSON, not a prototype', () => {
    const a = mk('a')
    a.map('m').set('__proto__', { polluted: true })
    a.map('m').set('x', 1)
    const json = a.map('m').toJSON()
    expect(Object.getPrototypeOf(json)).toBe(Object.prototype)
    expect(Object.keys(json)).toEqual(['__proto__', 'x'])
    expect((json as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('stores a copy: later mutation of the caller’s object does not leak in', () => {
    const d = mk('a')
    const v = { a: [1] }
    d.map('m').set('k', v)
    v.a.push(2)
    expect(d.map('m').get('k')).toEqual({ a: [1] })
  })

  it('holds Uint8Array values and round-trips them', () => {
    const a = mk('a'); const b = mk('b')
    a.map('m').set('bin', new Uint8Array([1, 2, 3]))
    syncVia(a, b)
    expect(b.map('m').get('bin')).toEqual(new Uint8Array([1, 2, 3]))
  })

  it('rejects values that are not JSON-like with a typed error', () => {
    const m = mk('a').map('m')
    expect(() => m.set('k', NaN)).toThrow(InvalidArgumentError)
    expect(() => m.set('k', new Date() as never)).toThrow(InvalidArgumentError)
    expect(() => m.set('k', (() => 1) as never)).toThrow(InvalidArgumentError)
  })

  it('nests counters, sets, registers and maps by key', () => {
    const a = mk('a'); const b = mk('b')
    link(a, b)
    const tasks = a.map('tasks')
    tasks.map('t1').set('title', 'Write docs')
    tasks.map('t1').counter('votes').increment(3)
    tasks.map('t1').orSet('tags').add('docs')
    tasks.map('t1').register('owner').set('ann')
    expect(b.toJSON()).toEqual({ tasks: { t1: { owner: 'ann', tags: ['docs'], title: 'Write docs', votes: 3 } } })
    expect(b.map('tasks').map('t1').counter('votes').value()).toBe(3)
    expect(b.map('tasks').has('t1')).toBe(true)
  })

  it('concurrent set of one key resolves last-writer-wins, ties by replica id', () => {
    const now = (): number => 1_700_000_000_000 // same wall clock everywhere: tie on time
    const a = new Doc({ replicaId: 'a', now }); const b = new Doc({ replicaId: 'b', now })
    a.map('m').set('k', 'from a')
    b.map('m').set('k', 'from b')
    syncVia(a, b); syncVia(b, a)
    expect(a.map('m').get('k')).toBe('from b')
    expect(b.map('m').get('k')).toBe('from b')
  })

  it('a later write wins even from the replica with the smaller id', () => {
    const a = mk('a', fakeNow(2_000_000_000_000)); const b = mk('b', fakeNow(1_000_000_000_000))
    b.map('m').set('k', 'old')
    a.map('m').set('k', 'new')
    syncVia(a, b); syncVia(b, a)
    expect(a.toJSON()).toEqual({ m: { k: 'new' } })
    expect(b.toJSON()).toEqual({ m: { k: 'new' } })
  })

  it('a nested update concurrent with a delete of its key survives (add-wins)', () => {
    const a = mk('a'); const b = mk('b')
    link(a, b)
    a.map('m').map('task').set('title', 'x')
    a.map('m').map('task').counter('votes').increment()
    // go offline: no more link, edit concurrently
    const a2 = mk('a2'); void a2
    const offA: Uint8Array[] = []; const offB: Uint8Array[] = []
    const ua = (u: Uint8Array): void => { offA.push(u) }
    const ub = (u: Uint8Array): void => { offB.push(u) }
    a.off('update', (a as any)._observers.get('update').values().next().value)
    b.off('update', (b as any)._observers.get('update').values().next().value)
    a.on('update', ua); b.on('update', ub)
    a.map('m').delete('task')
    b.map('m').map('task').counter('votes').increment(2)
    for (const u of offA) b.applyUpdate(u)
    for (const u of offB) a.applyUpdate(u)
    expect(a.toJSON()).toEqual(b.toJSON())
    expect(a.map("m").map("task").counter("votes").value()).toBe(2)
    expect(a.map("m").get("task")).toEqual({ votes: 2 })
  })

  it('a plain set replaces a nested container at the key', () => {
    const a = mk('a'); const b = mk('b')
    link(a, b)
    a.map('m').map('k').set('inner', 1)
    a.map('m').set('k', 'plain')
    expect(b.map('m').get('k')).toBe('plain')
    b.map('m').counter('k').increment()
    expect(a.map('m').get('k')).toBe(1)
    expect(a.toJSON()).toEqual(b.toJSON())
  })
})

describe('Doc counter, register, set', () => {
  it('counters add up across replicas', () => {
    const a = mk('a'); const b = mk('b'); const c = mk('c')
    a.counter('n').increment(5)
    b.counter('n').decrement(2)
    c.counter('n').increment()
    for (const x of [a, b, c]) for (const y of [a, b, c]) if (x !== y) syncVia(x, y)
    for (const x of [a, b, c]) expect(x.counter('n').value()).toBe(4)
  })

  it('rejects bad counter amounts', () => {
    const c = mk('a').counter('n')
    expect(() => c.increment(-1)).toThrow(InvalidArgumentError)
    expect(() => c.increment(1.5)).toThrow(InvalidArgumentError)
  })

  it('register: get, set, converge', () => {
    const a = mk('a'); const b = mk('b')
    link(a, b)
    expect(a.register('title').get()).toBeUndefined()
    a.register<string>('title').set('Board')
    expect(b.register('title').get()).toBe('Board')
  })

  it('set is add-wins and compares values by content', () => {
    const a = mk('a'); const b = mk('b')
    link(a, b)
    a.set('tags').add({ x: 1, y: 2 })
    expect(b.set('tags').has({ y: 2, x: 1 })).toBe(true)
    // concurrent remove and add of one element: the add wins
    const pa: Uint8Array[] = []; const pb: Uint8Array[] = []
    const a2 = mk('a'); const b2 = mk('b')
    a2.on('update', u => pa.push(u)); b2.on('update', u => pb.push(u))
    a2.set('s').add('x')
    b2.applyUpdate(pa[0])
    b2.set('s').remove('x')
    a2.set('s').add('x')
    for (const u of pb) a2.applyUpdate(u)
    for (const u of pa) b2.applyUpdate(u)
    expect(a2.set('s').values()).toEqual(['x'])
    expect(b2.set('s').values()).toEqual(['x'])
    expect(b2.set('s').size).toBe(1)
  })
})

describe('Doc transactions and events', () => {
  it('batches a transaction into one update with the origin', () => {
    const a = mk('a'); const b = mk('b')
    const seen: Array<[Uint8Array, unknown]> = []
    a.on('update', (u, o) => seen.push([u, o]))
    a.transact(() => {
      for (let i = 0; i < 100; i++) a.map('m').set('k' + i, i)
      a.counter('c').increment()
    }, 'my-origin')
    expect(seen.length).toBe(1)
    expect(seen[0][1]).toBe('my-origin')
    b.applyUpdate(seen[0][0])
    expect(b.map('m').size).toBe(100)
    expect(b.counter('c').value()).toBe(1)
  })

  it('emits change events with paths, keys and isLocal', () => {
    const a = mk('a'); const b = mk('b')
    link(a, b)
    const events: unknown[] = []
    b.on('change', (changes, _origin, isLocal) => events.push({ changes, isLocal }))
    a.map('m').map('inner').set('k', 1)
    b.counter('c').increment()
    expect(events).toEqual([
      { changes: [{ path: ['m', 'inner'], type: 'map', keys: ['k'] }], isLocal: false },
      { changes: [{ path: ['c'], type: 'counter' }], isLocal: true }
    ])
  })

  it('applying an update twice integrates nothing the second time', () => {
    const a = mk('a'); const b = mk('b')
    let u: Uint8Array | undefined
    a.on('update', x => { u = x })
    a.map('m').set('k', 1)
    let events = 0
    b.on('update', () => events++)
    b.applyUpdate(u!)
    b.applyUpdate(u!)
    expect(events).toBe(1)
  })

  it('updates may arrive in any order and duplicated', () => {
    const a = mk('a'); const b = mk('b')
    const us: Uint8Array[] = []
    a.on('update', u => us.push(u))
    const m = a.map('m')
    m.set('k', 1); m.set('k', 2); m.delete('k'); m.set('j', 3)
    a.set('s').add('x'); a.set('s').remove('x'); a.set('s').add('y')
    a.counter('c').increment(); a.counter('c').increment(4)
    for (const u of [...us].reverse()) b.applyUpdate(u)
    for (const u of us) b.applyUpdate(u)
    expect(b.toJSON()).toEqual(a.toJSON())
    expect(b.encodeStateVector()).toEqual(a.encodeStateVector())
  })

  it('version() counts contiguous changes per replica', () => {
    const a = mk('a')
    a.map('m').set('x', 1)
    a.counter('c').increment()
    expect(a.version().get('a')).toBe(2)
  })
})

describe('Doc state-vector sync', () => {
  it('sends only what the other side lacks', () => {
    const a = mk('a'); const b = mk('b')
    for (let i = 0; i < 1000; i++) a.map('m').set('key-' + i, i)
    const first = syncVia(a, b)
    a.map('m').set('key-1000', 1000)
    const second = syncVia(a, b)
    expect(second).toBeLessThan(first / 20)
    expect(b.toJSON()).toEqual(a.toJSON())
    expect(syncVia(a, b)).toBeLessThan(8) // nothing left to send
  })

  it('keeps every timestamp through the state encoding (runs of equal and of counting timestamps)', () => {
    // a frozen wall clock makes the HLC count its logical part: per-set
    // transactions give timestamps that rise by one, a transaction repeats one
    const a = mk('a', () => 1_000)
    const x = mk('x', () => 1_000)
    for (let i = 0; i < 300; i++) a.map('m').set('key-' + i, 'a')
    a.transact(() => { for (let i = 300; i < 350; i++) a.map('m').set('key-' + i, 'a') })
    for (let i = 349; i >= 0; i--) x.map('m').set('key-' + i, 'x') // reverse order: rising timestamps meet falling ones
    const b = mk('b')
    b.applyUpdate(a.encodeStateAsUpdate()) // b holds a's values with decoded timestamps
    const fromX = x.encodeStateAsUpdate()
    a.applyUpdate(fromX)
    b.applyUpdate(fromX)
    expect(b.toJSON()).toEqual(a.toJSON())
    const m = a.map('m')
    const winners = new Set(Array.from({ length: 300 }, (_, i) => m.get('key-' + i)))
    expect(winners).toEqual(new Set(['a', 'x'])) // the comparison really depended on each timestamp
  })

  it('carries removals the other side has not seen, with no tombstones', () => {
    const a = mk('a'); const b = mk('b')
    for (let i = 0; i < 100; i++) a.map('m').set('k' + i, i)
    syncVia(a, b)
    for (let i = 0; i < 100; i += 2) a.map('m').delete('k' + i)
    a.set('s').add('gone'); syncVia(a, b); a.set('s').remove('gone')
    syncVia(a, b)
    expect(b.toJSON()).toEqual(a.toJSON())
    expect(b.map('m').size).toBe(50)
    expect(b.set('s').size).toBe(0)
  })

  it('memory stays bounded: state size does not grow with overwrites and removals', () => {
    const a = mk('a')
    a.map('m').set('k', 0)
    const small = a.encodeStateAsUpdate().length
    for (let i = 0; i < 10_000; i++) {
      a.map('m').set('k', i)
      a.set('s').add(i); a.set('s').remove(i)
      a.map('m').map('tmp').counter('c').increment(); a.map('m').delete('tmp')
    }
    expect(a.encodeStateAsUpdate().length).toBeLessThan(small + 40)
  })
})

describe('Doc rejects bad input without changing', () => {
  it('throws DecodeError for a wrong version, truncation and garbage', () => {
    const a = mk('a'); const b = mk('b')
    b.map('m').set('keep', 'me')
    a.map('m').set('k', 'v'.repeat(50))
    const good = a.encodeStateAsUpdate()
    const before = JSON.stringify(b.toJSON())
    const sv = b.encodeStateVector()
    const bad = [new Uint8Array([]), new Uint8Array([99]), good.slice(0, good.length - 3), new Uint8Array([1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f])]
    const wrongVersion = good.slice(); wrongVersion[0] = 2
    bad.push(wrongVersion)
    for (const u of bad) {
      expect(() => b.applyUpdate(u)).toThrow(DecodeError)
    }
    expect(JSON.stringify(b.toJSON())).toBe(before)
    expect(b.encodeStateVector()).toEqual(sv)
  })

  it('names the problem in the message', () => {
    const b = mk('b')
    expect(() => b.applyUpdate(new Uint8Array([7]))).toThrow(/format version 7/)
  })

  it('rejects a replicaId that is too long', () => {
    expect(() => new Doc({ replicaId: 'x'.repeat(65) })).toThrow(InvalidArgumentError)
  })
})
