import { describe, expect, it } from 'vitest'
import { Doc, type DocChange } from '../../../src/doc/index.js'
import { encodeUpdate } from '../../../src/doc/update-codec.js'
import { DecodeError, InvalidArgumentError } from '../../../src/errors.js'
import { type Prng, runSeeds } from '../../../src/testing/index.js'

const T0 = 1_700_000_000_000
/** A deterministic clock: every call advances one millisecond. */
const fakeNow = (start = T0): (() => number) => { let t = start; return () => t++ }
const mk = (id: string, now = fakeNow()): Doc => new Doc({ replicaId: id, now })

const KEYS = ['a', 'b', 'c']
const VALUES = [1, 2, 'x', null, true, { o: [1] }]

/** One random edit: plain and nested map keys, counters, sets, registers, deletes; sometimes several in one transaction. */
const edit = (d: Doc, prng: Prng): void => {
  const k = prng.pick(KEYS)
  const v = prng.pick(VALUES)
  switch (prng.int(0, 9)) {
    case 0: d.map('m').set(k, v); break
    case 1: d.map('m').delete(k); break
    case 2: d.map('m').map(k).set(prng.pick(KEYS), v); break
    case 3: d.map('m').counter(k).increment(prng.int(1, 3)); break
    case 4: d.map('m').orSet(k).add(prng.pick([1, 2, 'x'])); break
    case 5: d.map('m').orSet(k).remove(prng.pick([1, 2, 'x'])); break
    case 6: d.counter('c').decrement(prng.int(1, 3)); break
    case 7: d.set('s').add(v); break
    case 8: d.register('r').set(v); break
    default: d.transact(() => { for (let i = prng.int(2, 4); i > 0; i--) edit(d, prng) })
  }
}

/**
 * Updates of a random history of three replicas: local deltas, deltas
 * forwarded by a replica that applied them, and full or partial state
 * updates (with removals the receiver must infer).
 */
const history = (prng: Prng): Uint8Array[] => {
  const docs = ['r0', 'r1', 'r2'].map((id, i) => mk(id, fakeNow(T0 + i * 7)))
  const pool: Uint8Array[] = []
  docs.forEach(d => d.on('update', u => pool.push(u)))
  for (let step = prng.int(10, 40); step > 0; step--) {
    const d = prng.pick(docs)
    const x = prng.next()
    if (x < 0.6 || pool.length === 0) edit(d, prng)
    else if (x < 0.9) d.applyUpdate(prng.pick(pool))
    else {
      const other = prng.pick(docs)
      pool.push(d.encodeStateAsUpdate(prng.bool() ? other.encodeStateVector() : undefined))
    }
  }
  return pool
}

/** `count` updates drawn from `pool`: any order, with duplicates. */
const draw = (prng: Prng, pool: Uint8Array[], count: number): Uint8Array[] =>
  Array.from({ length: count }, () => prng.pick(pool))

const state = (d: Doc): [string, Uint8Array] => [JSON.stringify(d.toJSON()), d.encodeStateVector()]

/** The changes as sorted "path type keys" lines, merged per container. */
const changeLines = (events: DocChange[][]): string[] => {
  const byPath = new Map<string, Set<string>>()
  for (const changes of events) {
    for (const ch of changes) {
      const k = `${ch.path.join('/')} ${ch.type}`
      const keys = byPath.get(k) ?? new Set()
      for (const key of ch.keys ?? []) keys.add(key)
      byPath.set(k, keys)
    }
  }
  return Array.from(byPath, ([k, keys]) => `${k} ${Array.from(keys).sort().join(',')}`).sort()
}

describe('Doc.applyUpdates', () => {
  it('ends in the state of applying one by one, with one update and one change event (seeded)', () => {
    runSeeds(60, (seed, prng) => {
      const pool = history(prng)
      const before = draw(prng, pool, prng.int(0, 6))
      const batch = draw(prng, pool, prng.int(1, 30))
      const target = (): Doc => {
        const d = mk('target', fakeNow(T0 + 3))
        for (const u of before) d.applyUpdate(u)
        return d
      }

      const one = target()
      const oneChanges: DocChange[][] = []
      const forwarded: Uint8Array[] = []
      one.on('change', changes => oneChanges.push(changes))
      one.on('update', u => forwarded.push(u))
      for (const u of batch) one.applyUpdate(u)

      const batched = target()
      const mirror = target() // the state batched had before the batch
      const updates: Array<[Uint8Array, unknown]> = []
      const changes: Array<[DocChange[], unknown, boolean]> = []
      batched.on('update', (u, origin) => updates.push([u, origin]))
      batched.on('change', (c, origin, isLocal) => changes.push([c, origin, isLocal]))
      batched.applyUpdates(batch, 'load')

      const quiet = target() // nobody listens: nothing recorded
      quiet.applyUpdates(batch)

      const want = state(one)
      expect(state(batched), `seed ${seed}`).toEqual(want)
      expect(state(quiet), `seed ${seed}`).toEqual(want)
      expect(updates.length, `seed ${seed}`).toBeLessThanOrEqual(1)
      expect(changes.length, `seed ${seed}`).toBe(oneChanges.length > 0 ? 1 : 0)
      if (changes.length > 0) {
        expect(changes[0][1]).toBe('load')
        expect(changes[0][2]).toBe(false)
        expect(changeLines([changes[0][0]]), `seed ${seed}`).toEqual(changeLines(oneChanges))
        expect(updates.length, `seed ${seed}`).toBe(1)
      }
      // the one update carries everything new: the doc as it was before the batch catches up with it
      for (const [u, origin] of updates) {
        expect(origin).toBe('load')
        mirror.applyUpdate(u)
      }
      expect(state(mirror), `seed ${seed}`).toEqual(want)
      // and to any replica that has what the doc had before (it got the doc's earlier updates),
      // it does what the updates applyUpdate forwards one by one do
      const others = prng.shuffle([...before, ...draw(prng, pool, prng.int(0, 10))])
      const peer = (): Doc => {
        const d = mk('peer', fakeNow(T0 + 5))
        for (const u of others) d.applyUpdate(u)
        return d
      }
      const viaOne = peer()
      for (const u of forwarded) viaOne.applyUpdate(u)
      const viaBatch = peer()
      for (const [u] of updates) viaBatch.applyUpdate(u)
      expect(state(viaBatch), `seed ${seed}`).toEqual(state(viaOne))
    }, { env: process.env })
  })

  it('loads many one-key updates into an empty doc, the way stored records are loaded', () => {
    const w = mk('writer')
    const records: Uint8Array[] = []
    w.on('update', u => records.push(u))
    for (let i = 0; i < 1000; i++) w.map('m').set('key-' + i, i)
    w.map('m').delete('key-7')
    const d = mk('reader')
    const updates: Uint8Array[] = []
    d.on('update', u => updates.push(u))
    d.applyUpdates([...records].reverse())
    expect(d.toJSON()).toEqual(w.toJSON())
    expect(d.encodeStateVector()).toEqual(w.encodeStateVector())
    expect(updates.length).toBe(1)
    const copy = mk('copy')
    copy.applyUpdate(updates[0])
    expect(copy.toJSON()).toEqual(w.toJSON())
    expect(copy.encodeStateVector()).toEqual(w.encodeStateVector())
  })

  it('a lone update is forwarded as applyUpdate forwards it', () => {
    const a = mk('a')
    let u: Uint8Array | undefined
    a.on('update', x => { u = x })
    a.map('m').set('k', 1)
    const forwarded: Uint8Array[] = []
    const b = mk('b')
    b.on('update', x => forwarded.push(x))
    b.applyUpdates([u!])
    const c = mk('c')
    c.on('update', x => forwarded.push(x))
    c.applyUpdate(u!)
    expect(forwarded.length).toBe(2)
    expect(forwarded[0]).toEqual(forwarded[1])
  })

  it('nothing new: no event', () => {
    const a = mk('a')
    const us: Uint8Array[] = []
    a.on('update', u => us.push(u))
    a.map('m').set('k', 1)
    a.counter('c').increment()
    const b = mk('b')
    b.applyUpdates(us)
    let events = 0
    b.on('update', () => events++)
    b.on('change', () => events++)
    b.applyUpdates(us)
    b.applyUpdates([])
    expect(events).toBe(0)
  })

  it('moves the clock past every timestamp received, skipping one too far ahead', () => {
    const day = 24 * 60 * 60 * 1000
    for (const withFarAhead of [false, true]) {
      const ahead = mk('ahead', fakeNow(T0 + 60_000))
      const us: Uint8Array[] = []
      ahead.on('update', u => us.push(u))
      ahead.map('m').set('other', 1)
      if (withFarAhead) {
        const far = mk('far', fakeNow(T0 + 2 * day)) // beyond the HLC's drift limit: refused
        far.on('update', u => us.push(u))
        far.map('m').set('far', 1)
      }
      const d = mk('d', fakeNow(T0))
      d.applyUpdates(us)
      // d's next write is stamped after 'ahead', though d's own clock is behind that of 'y'
      const writes: Uint8Array[] = []
      d.on('update', u => writes.push(u))
      d.map('m').set('k', 'd')
      const y = mk('y', fakeNow(T0 + 30_000))
      y.on('update', u => writes.push(u))
      y.map('m').set('k', 'y') // concurrent with d's write: last writer wins
      const z = mk('z')
      for (const u of writes) z.applyUpdate(u)
      expect(z.map('m').get('k'), `with a refused timestamp: ${withFarAhead}`).toBe('d')
    }
  })

  it('carries what a state update says is gone, and nothing a delta does not say, to any replica', () => {
    // a: k set then deleted; its state update has k's dot in its causal context, k not in it
    const a = mk('a')
    const aUpdates: Uint8Array[] = []
    a.on('update', u => aUpdates.push(u))
    a.map('m').set('k', 1)
    a.map('m').delete('k')
    const stateOfA = a.encodeStateAsUpdate()
    // q: j set; then a delta that names q's dot without its element or a removal (a delta
    // infers nothing from that, unlike a state update)
    const q = mk('q')
    const qUpdates: Uint8Array[] = []
    q.on('update', u => qUpdates.push(u))
    q.map('m').set('j', 1)
    const bareDot = encodeUpdate({ state: false, replicaIds: ['q'], cc: [[1, 1]], parts: [], removals: [], keep: null })

    const batch = [stateOfA, bareDot]
    const one = mk('target')
    const forwarded: Uint8Array[] = []
    one.on('update', u => forwarded.push(u))
    for (const u of batch) one.applyUpdate(u)
    const batched = mk('target')
    const merged: Uint8Array[] = []
    batched.on('update', u => merged.push(u))
    batched.applyUpdates(batch)
    expect(merged.length).toBe(1)

    // a replica that saw k set (not deleted) and j set
    const peer = (): Doc => {
      const d = mk('peer')
      d.applyUpdate(aUpdates[0])
      d.applyUpdate(qUpdates[0])
      return d
    }
    const viaOne = peer()
    for (const u of forwarded) viaOne.applyUpdate(u)
    const viaBatch = peer()
    viaBatch.applyUpdate(merged[0])
    expect(viaOne.toJSON()).toEqual({ m: { j: 1 } })
    expect(state(viaBatch)).toEqual(state(viaOne))
  })

  it('one malformed update: DecodeError naming it, the doc unchanged, no event', () => {
    const a = mk('a')
    const us: Uint8Array[] = []
    a.on('update', u => us.push(u))
    for (let i = 0; i < 5; i++) a.map('m').set('k' + i, i)
    const d = mk('d')
    d.applyUpdate(us[0])
    const before = state(d)
    let events = 0
    d.on('update', () => events++)
    d.on('change', () => events++)
    const batch = [us[1], us[2], us[3].subarray(0, us[3].length - 1), us[4]]
    let error: unknown
    try {
      d.applyUpdates(batch)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(DecodeError)
    expect((error as Error).name).toBe('DecodeError')
    expect((error as Error).message).toMatch(/^updates\[2\] \(of 4\): /)
    expect(state(d)).toEqual(before)
    expect(events).toBe(0)
    for (const bad of [new Uint8Array([0xff]), 'nope' as never, new Uint8Array(0)]) {
      expect(() => d.applyUpdates([us[1], bad])).toThrow(DecodeError)
    }
    expect(state(d)).toEqual(before)
  })

  it('refuses what is not an array, a call inside a transaction, and a destroyed doc', () => {
    const d = mk('d')
    expect(() => d.applyUpdates(new Uint8Array(3) as never)).toThrow(InvalidArgumentError)
    expect(() => d.transact(() => d.applyUpdates([]))).toThrow(InvalidArgumentError)
    d.destroy()
    expect(() => d.applyUpdates([])).toThrow(InvalidArgumentError)
  })
})
