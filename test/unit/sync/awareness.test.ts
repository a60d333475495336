import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import fc from 'fast-check'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import * as yp from 'y-protocols/awareness'
import {
  applyAwarenessUpdate, Awareness, type AwarenessChanges, type AwarenessEntry, type AwarenessState,
  decodeAwarenessUpdate, DEFAULT_AWARENESS_TIMEOUT_MS, encodeAwarenessEntries, encodeAwarenessUpdate,
  MAX_AWARENESS_ENTRIES, MAX_AWARENESS_STATE_BYTES, modifyAwarenessUpdate, removeAwarenessStates, watchAwarenessTimeouts
} from '../../../src/sync/awareness.js'
import { DecodeError, InvalidArgumentError } from '../../../src/errors.js'

const SEED = Number(process.env.AEGIS_SEED ?? 20240601)

// y-protocols reads the time through lib0's `getUnixTime`, which is `Date.now`
// captured when lib0/time loads, and checks timeouts from a setInterval. Fake
// both before any import runs, once for the whole file, so the differential
// test can move y-protocols' clock and ours together. Nothing else here reads
// the real time (ours gets a fake `now` or, in that test, the faked Date.now).
vi.hoisted(() => { vi.useFakeTimers({ now: 1_000_000 }) })
afterAll(() => { vi.useRealTimers() })

// ---------------------------------------------------------------- helpers

/** A settable clock for `now`. */
const fakeClock = (start = 1_000_000): { now: () => number, t: number } => {
  const c = { t: start, now: () => c.t }
  return c
}

/** y-protocols awarenesses start a setInterval: every one made here is destroyed after the test. */
const ypLive: yp.Awareness[] = []
const ypAwareness = (clientID: number): yp.Awareness => {
  const doc = new Y.Doc()
  doc.clientID = clientID
  const a = new yp.Awareness(doc)
  ypLive.push(a)
  return a
}
const ypDestroy = (a: yp.Awareness): void => {
  a.destroy()
  const i = ypLive.indexOf(a)
  if (i >= 0) ypLive.splice(i, 1)
}
afterEach(() => { for (const a of ypLive.splice(0)) a.destroy() })

type Ev = [name: 'change' | 'update', changes: AwarenessChanges, origin: unknown]
type Emitter = { on: (name: 'change' | 'update', f: (changes: AwarenessChanges, origin: unknown) => void) => unknown }
/** Records every change and update event of `a`. */
const record = (a: Emitter): Ev[] => {
  const evs: Ev[] = []
  a.on('change', (c, o) => { evs.push(['change', c, o]) })
  a.on('update', (c, o) => { evs.push(['update', c, o]) })
  return evs
}

/** States and clocks, comparable with toEqual. */
const snapshot = (a: { states: Map<number, unknown>, meta: Map<number, { clock: number, lastUpdated: number }> }): unknown => ({
  states: Array.from(a.states.entries()).sort((x, y) => x[0] - y[0]),
  clocks: Array.from(a.meta.entries()).map(([id, m]) => [id, m.clock]).sort((x, y) => x[0] - y[0])
})

/** Encodes raw entries by hand with lib0, independent of the code under test. */
const rawUpdate = (entries: Array<[clientID: number, clock: number, json: string]>, count = entries.length): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, count)
  for (const [id, clock, json] of entries) {
    encoding.writeVarUint(e, id)
    encoding.writeVarUint(e, clock)
    encoding.writeVarString(e, json)
  }
  return encoding.toUint8Array(e)
}

const expectDecodeError = (f: () => unknown, message?: RegExp): void => {
  let err: unknown
  try { f() } catch (e) { err = e }
  expect(err).toBeInstanceOf(DecodeError)
  expect((err as Error).name).toBe('DecodeError')
  if (message !== undefined) expect((err as Error).message).toMatch(message)
}

/** A state whose JSON text is exactly `bytes` UTF-8 bytes long. */
const stateOfBytes = (bytes: number): AwarenessState => ({ p: 'x'.repeat(bytes - '{"p":""}'.length) })

// ---------------------------------------------------------------- construction

describe('Awareness construction', () => {
  it('starts with the local state {} at clock 0, like y-protocols', () => {
    const clock = fakeClock(42)
    const a = new Awareness({ clientID: 7, now: clock.now })
    const b = ypAwareness(7)
    expect(a.clientID).toBe(7)
    expect(a.getLocalState()).toEqual({})
    expect(a.meta.get(7)).toEqual({ clock: 0, lastUpdated: 42 })
    expect(snapshot(a)).toEqual(snapshot(b))
    expect(a.timeoutMs).toBe(DEFAULT_AWARENESS_TIMEOUT_MS)
  })

  it('draws a uint32 client id from the injected random, else from crypto', () => {
    expect(new Awareness({ random: () => 0.5 }).clientID).toBe(0x8000_0000)
    expect(new Awareness({ random: () => 0 }).clientID).toBe(0)
    expect(new Awareness({ random: () => 0.999_999_999_9 }).clientID).toBe(0xffff_ffff)
    const ids = new Set(Array.from({ length: 20 }, () => new Awareness().clientID))
    for (const id of ids) expect(Number.isInteger(id) && id >= 0 && id <= 0xffff_ffff).toBe(true)
    expect(ids.size).toBeGreaterThan(15)
  })

  it('refuses a clientID that is not a uint32 and a timeout that is not positive', () => {
    for (const clientID of [-1, 1.5, 2 ** 32, Number.NaN, '1' as unknown as number]) {
      expect(() => new Awareness({ clientID })).toThrow(InvalidArgumentError)
    }
    for (const timeoutMs of [0, -5, Number.POSITIVE_INFINITY, Number.NaN]) {
      expect(() => new Awareness({ timeoutMs })).toThrow(InvalidArgumentError)
    }
  })
})

describe('Awareness module example', () => {
  it('runs as documented', () => {
    const alice = new Awareness()
    const bob = new Awareness()
    alice.on('update', ({ added, updated, removed }) => {
      const changed = added.concat(updated, removed)
      applyAwarenessUpdate(bob, encodeAwarenessUpdate(alice, changed), 'alice')
    })
    alice.setLocalStateField('user', { name: 'Alice', color: '#f80' })
    expect(bob.getStates().get(alice.clientID)).toEqual({ user: { name: 'Alice', color: '#f80' } })
    alice.destroy()
    expect(bob.getStates().has(alice.clientID)).toBe(false)
  })
})

// ---------------------------------------------------------------- y-protocols compatibility

describe('Awareness wire compatibility with y-protocols', () => {
  it('applies bytes that y-protocols encodes', () => {
    const theirs = ypAwareness(1001)
    const other = ypAwareness(1002)
    theirs.setLocalStateField('user', { name: 'Ann', color: '#f80', emoji: 'ünï😀' })
    other.setLocalState({ cursor: { anchor: 3, head: 9 }, list: [1, null, true, 'x'] })
    yp.applyAwarenessUpdate(theirs, yp.encodeAwarenessUpdate(other, [1002]), 'net')

    const ours = new Awareness({ clientID: 5 })
    applyAwarenessUpdate(ours, yp.encodeAwarenessUpdate(theirs, [1001, 1002]), 'net')
    expect(ours.getStates().get(1001)).toEqual({ user: { name: 'Ann', color: '#f80', emoji: 'ünï😀' } })
    expect(ours.getStates().get(1002)).toEqual({ cursor: { anchor: 3, head: 9 }, list: [1, null, true, 'x'] })
    expect(ours.meta.get(1001)!.clock).toBe(1)

    // a client leaving reaches us as null with a higher clock
    theirs.setLocalState(null)
    applyAwarenessUpdate(ours, yp.encodeAwarenessUpdate(theirs, [1001]), 'net')
    expect(ours.getStates().has(1001)).toBe(false)
    expect(ours.meta.get(1001)!.clock).toBe(2)
  })

  it('produces bytes y-protocols applies, identical to what it encodes itself', () => {
    const ours = new Awareness({ clientID: 77 })
    const twin = ypAwareness(77)
    for (const a of [ours, twin]) {
      a.setLocalStateField('user', { name: 'Bo', n: 1.5e300, s: '"\\\n\u2028' })
      a.setLocalStateField('cursor', null)
    }
    const bytes = encodeAwarenessUpdate(ours, [77])
    expect(bytes).toEqual(yp.encodeAwarenessUpdate(twin, [77]))

    const theirs = ypAwareness(78)
    yp.applyAwarenessUpdate(theirs, bytes, 'net')
    expect(theirs.getStates().get(77)).toEqual({ user: { name: 'Bo', n: 1.5e300, s: '"\\\n\u2028' }, cursor: null })

    ours.setLocalState(null)
    twin.setLocalState(null)
    const gone = encodeAwarenessUpdate(ours, [77])
    expect(gone).toEqual(yp.encodeAwarenessUpdate(twin, [77]))
    yp.applyAwarenessUpdate(theirs, gone, 'net')
    expect(theirs.getStates().has(77)).toBe(false)
  })

  it('ignores a client\'s initial {} at clock 0, as y-protocols does', () => {
    const theirs = ypAwareness(9)
    const ours = new Awareness({ clientID: 1 })
    const evs = record(ours)
    applyAwarenessUpdate(ours, yp.encodeAwarenessUpdate(theirs, [9]), 'net')
    expect(ours.getStates().has(9)).toBe(false)
    expect(evs).toEqual([])
    theirs.setLocalStateField('user', 'x')
    applyAwarenessUpdate(ours, yp.encodeAwarenessUpdate(theirs, [9]), 'net')
    expect(ours.getStates().get(9)).toEqual({ user: 'x' })
  })

  it('modifyAwarenessUpdate gives the bytes of y-protocols\' modifyAwarenessUpdate', () => {
    const update = rawUpdate([[1, 3, '{"user":"mallory","x":1}'], [2, 1, 'null'], [3, 9, '{}']])
    const modify = (s: AwarenessState | null): AwarenessState | null => s === null ? null : { ...s, user: 'alice' }
    expect(modifyAwarenessUpdate(update, modify)).toEqual(yp.modifyAwarenessUpdate(update, modify))
    const seen: number[] = []
    modifyAwarenessUpdate(update, (s, id) => { seen.push(id); return s })
    expect(seen).toEqual([1, 2, 3])
  })

  it('modifyAwarenessUpdate refuses bad bytes and bad results', () => {
    expectDecodeError(() => modifyAwarenessUpdate(new Uint8Array([1, 1]), s => s))
    const update = rawUpdate([[1, 3, '{}']])
    expect(() => modifyAwarenessUpdate(update, () => undefined as unknown as null)).toThrow(InvalidArgumentError)
    expect(() => modifyAwarenessUpdate(update, () => [1] as unknown as AwarenessState)).toThrow(InvalidArgumentError)
  })

  type Op =
    | { t: 'set', state: AwarenessState | null }
    | { t: 'field', field: string, value: unknown }
    | { t: 'apply', entries: Array<[number, number, AwarenessState | null]> }
    | { t: 'remove', clients: number[] }
    | { t: 'timeout', advance: number }

  const SELF = 10
  const POOL = [SELF, 11, 12, 13]
  const smallState = fc.oneof(
    fc.constant(null),
    fc.constant({}),
    fc.record({ v: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ v: fc.integer({ min: 0, max: 2 }), w: fc.constantFrom('a', 'b') })
  )
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ t: fc.constant('set' as const), state: smallState }),
    fc.record({ t: fc.constant('field' as const), field: fc.constantFrom('v', 'w'), value: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constant(null)) }),
    { weight: 3, arbitrary: fc.record({ t: fc.constant('apply' as const), entries: fc.array(fc.tuple(fc.constantFrom(...POOL), fc.integer({ min: 0, max: 5 }), smallState), { maxLength: 4 }) }) },
    fc.record({ t: fc.constant('remove' as const), clients: fc.subarray(POOL) }),
    fc.record({ t: fc.constant('timeout' as const), advance: fc.integer({ min: 0, max: 40_000 }) })
  )

  it('behaves as y-protocols op for op: states, meta, events and encoded bytes', () => {
    // y-protocols' setInterval fires every timeoutMs / 10 from its construction:
    // tick ours at the same instants, as a driver would
    const TICK = DEFAULT_AWARENESS_TIMEOUT_MS / 10
    fc.assert(fc.property(fc.array(opArb, { maxLength: 30 }), ops => {
      const ours = new Awareness({ clientID: SELF }) // the default now: Date.now
      const twin = ypAwareness(SELF)
      let elapsed = 0
      try {
        const ourEvents = record(ours)
        const twinEvents = record(twin as unknown as Emitter)
        for (const op of ops) {
          switch (op.t) {
            case 'set': ours.setLocalState(op.state); twin.setLocalState(op.state); break
            case 'field': ours.setLocalStateField(op.field, op.value); twin.setLocalStateField(op.field, op.value); break
            case 'apply': {
              const u = rawUpdate(op.entries.map(([id, c, s]) => [id, c, JSON.stringify(s)]))
              applyAwarenessUpdate(ours, u, 'peer')
              yp.applyAwarenessUpdate(twin, u, 'peer')
              break
            }
            case 'remove': removeAwarenessStates(ours, op.clients, 'gone'); yp.removeAwarenessStates(twin, op.clients, 'gone'); break
            case 'timeout': {
              const end = elapsed + op.advance
              for (let next = (Math.floor(elapsed / TICK) + 1) * TICK; next <= end; next += TICK) {
                vi.advanceTimersByTime(next - elapsed) // fires the twin's interval
                elapsed = next
                ours.checkTimeouts()
              }
              vi.advanceTimersByTime(end - elapsed)
              elapsed = end
              break
            }
          }
          expect(snapshot(ours)).toEqual(snapshot(twin))
          expect(ours.meta).toEqual(twin.meta)
          const known = Array.from(ours.meta.keys())
          expect(encodeAwarenessUpdate(ours, known)).toEqual(yp.encodeAwarenessUpdate(twin, known))
        }
        expect(ourEvents).toEqual(twinEvents)
      } finally {
        ours.destroy()
        ypDestroy(twin)
      }
    }), { seed: SEED, numRuns: 300 })
  })
})

// ---------------------------------------------------------------- clock rules

describe('Awareness clock rules', () => {
  const setup = (): { a: Awareness, evs: Ev[] } => {
    const a = new Awareness({ clientID: 1, now: fakeClock().now })
    applyAwarenessUpdate(a, rawUpdate([[2, 5, '{"v":1}']]), 'net')
    return { a, evs: record(a) }
  }

  it('a higher clock wins', () => {
    const { a, evs } = setup()
    applyAwarenessUpdate(a, rawUpdate([[2, 6, '{"v":2}']]), 'net')
    expect(a.getStates().get(2)).toEqual({ v: 2 })
    expect(a.meta.get(2)!.clock).toBe(6)
    expect(evs).toEqual([
      ['change', { added: [], updated: [2], removed: [] }, 'net'],
      ['update', { added: [], updated: [2], removed: [] }, 'net']
    ])
  })

  it('an equal or lower clock with a state is ignored', () => {
    const { a, evs } = setup()
    applyAwarenessUpdate(a, rawUpdate([[2, 5, '{"v":9}'], [2, 4, '{"v":8}']]), 'net')
    expect(a.getStates().get(2)).toEqual({ v: 1 })
    expect(evs).toEqual([])
  })

  it('an equal clock with null removes; a lower one does not', () => {
    const { a, evs } = setup()
    applyAwarenessUpdate(a, rawUpdate([[2, 4, 'null']]), 'net')
    expect(a.getStates().has(2)).toBe(true)
    applyAwarenessUpdate(a, rawUpdate([[2, 5, 'null']]), 'net')
    expect(a.getStates().has(2)).toBe(false)
    expect(a.meta.get(2)!.clock).toBe(5)
    expect(evs).toEqual([
      ['change', { added: [], updated: [], removed: [2] }, 'net'],
      ['update', { added: [], updated: [], removed: [2] }, 'net']
    ])
  })

  it('an equal state with a higher clock is an update but not a change', () => {
    const { a, evs } = setup()
    applyAwarenessUpdate(a, rawUpdate([[2, 6, '{ "v" : 1 }']]), 'net')
    expect(evs).toEqual([['update', { added: [], updated: [2], removed: [] }, 'net']])
  })

  it('a peer cannot remove the local state: its clock is outbid instead', () => {
    const a = new Awareness({ clientID: 1 })
    a.setLocalStateField('user', 'me')
    const evs = record(a)
    applyAwarenessUpdate(a, rawUpdate([[1, 7, 'null']]), 'net')
    expect(a.getLocalState()).toEqual({ user: 'me' })
    expect(a.meta.get(1)!.clock).toBe(8)
    // y-protocols reports it as removed, so the provider re-broadcasts the state
    expect(evs).toEqual([
      ['change', { added: [], updated: [], removed: [1] }, 'net'],
      ['update', { added: [], updated: [], removed: [1] }, 'net']
    ])
    expect(decodeAwarenessUpdate(encodeAwarenessUpdate(a, [1]))).toEqual([{ clientID: 1, clock: 8, state: { user: 'me' } }])
  })

  it('entries of one update apply in order', () => {
    const a = new Awareness({ clientID: 1 })
    applyAwarenessUpdate(a, rawUpdate([[2, 1, '{"v":1}'], [2, 3, '{"v":3}'], [2, 2, '{"v":2}'], [3, 1, '{}']]), 'net')
    expect(a.getStates().get(2)).toEqual({ v: 3 })
    expect(a.meta.get(2)!.clock).toBe(3)
    expect(a.getStates().get(3)).toEqual({})
  })
})

// ---------------------------------------------------------------- events

describe('Awareness events', () => {
  it('local changes: added, updated, unchanged, removed, with origin "local"', () => {
    const a = new Awareness({ clientID: 3 })
    const evs = record(a)
    a.setLocalStateField('x', 1)
    a.setLocalState({ x: 1 })
    a.setLocalState(null)
    a.setLocalStateField('x', 2) // no-op while null
    a.setLocalState({ y: 1 })
    expect(evs).toEqual([
      ['change', { added: [], updated: [3], removed: [] }, 'local'],
      ['update', { added: [], updated: [3], removed: [] }, 'local'],
      ['update', { added: [], updated: [3], removed: [] }, 'local'],
      ['change', { added: [], updated: [], removed: [3] }, 'local'],
      ['update', { added: [], updated: [], removed: [3] }, 'local'],
      ['change', { added: [3], updated: [], removed: [] }, 'local'],
      ['update', { added: [3], updated: [], removed: [] }, 'local']
    ])
    expect(a.meta.get(3)!.clock).toBe(4)
  })

  it('remote changes group added, updated and removed, with the caller\'s origin', () => {
    const a = new Awareness({ clientID: 1 })
    applyAwarenessUpdate(a, rawUpdate([[2, 1, '{"v":1}'], [3, 1, '{"v":1}'], [4, 1, '{"v":1}']]), 'x')
    const evs = record(a)
    const origin = { conn: 1 }
    applyAwarenessUpdate(a, rawUpdate([[2, 2, '{"v":2}'], [3, 2, '{"v":1}'], [4, 2, 'null'], [5, 1, '{}'], [6, 1, 'null']]), origin)
    expect(evs).toEqual([
      ['change', { added: [5], updated: [2], removed: [4] }, origin],
      ['update', { added: [5], updated: [2, 3], removed: [4] }, origin]
    ])
    expect(evs[0][2]).toBe(origin)
    // a client only known as gone is remembered with its clock, not added
    expect(a.getStates().has(6)).toBe(false)
    expect(a.meta.get(6)!.clock).toBe(1)
  })

  it('removeAwarenessStates removes known states and bumps only the local clock', () => {
    const clock = fakeClock(100)
    const a = new Awareness({ clientID: 1, now: clock.now })
    applyAwarenessUpdate(a, rawUpdate([[2, 4, '{}']]), 'x')
    const evs = record(a)
    clock.t = 200
    removeAwarenessStates(a, [2, 1, 99], 'closed')
    expect(a.getStates().size).toBe(0)
    expect(a.meta.get(2)).toEqual({ clock: 4, lastUpdated: 100 })
    expect(a.meta.get(1)).toEqual({ clock: 1, lastUpdated: 200 })
    expect(evs).toEqual([
      ['change', { added: [], updated: [], removed: [2, 1] }, 'closed'],
      ['update', { added: [], updated: [], removed: [2, 1] }, 'closed']
    ])
    removeAwarenessStates(a, [2, 1], 'closed')
    expect(evs.length).toBe(2)
  })

  it('destroy emits destroy, then the local removal, then drops listeners', () => {
    const a = new Awareness({ clientID: 1 })
    const seen: string[] = []
    a.on('destroy', x => { seen.push('destroy'); expect(x).toBe(a) })
    a.on('update', (c, o) => { seen.push(`update ${JSON.stringify(c)} ${String(o)}`) })
    a.destroy()
    a.destroy()
    expect(seen).toEqual(['destroy', 'update {"added":[],"updated":[],"removed":[1]} local'])
    expect(a.getLocalState()).toBeNull()
    expect(decodeAwarenessUpdate(encodeAwarenessUpdate(a, [1]))).toEqual([{ clientID: 1, clock: 1, state: null }])
    a.checkTimeouts() // a no-op once destroyed
  })
})

// ---------------------------------------------------------------- timeouts

describe('Awareness.checkTimeouts', () => {
  it('removes remote states not updated for timeoutMs, with origin "timeout"', () => {
    const clock = fakeClock(0)
    const a = new Awareness({ clientID: 1, now: clock.now, timeoutMs: 1000 })
    applyAwarenessUpdate(a, rawUpdate([[2, 1, '{}'], [3, 1, '{}']]), 'net')
    clock.t = 600
    applyAwarenessUpdate(a, rawUpdate([[3, 2, '{}']]), 'net') // 3 renews
    clock.t = 999
    a.setLocalStateField('x', 1) // keep the local state fresh
    const evs = record(a)
    a.checkTimeouts()
    expect(a.getStates().has(2)).toBe(true)
    clock.t = 1000
    a.checkTimeouts()
    expect(a.getStates().has(2)).toBe(false)
    expect(a.getStates().has(3)).toBe(true)
    expect(evs).toEqual([
      ['change', { added: [], updated: [], removed: [2] }, 'timeout'],
      ['update', { added: [], updated: [], removed: [2] }, 'timeout']
    ])
    clock.t = 1600
    a.checkTimeouts()
    expect(a.getStates().has(3)).toBe(false)
    expect(a.getStates().has(1)).toBe(true) // never the local state
  })

  it('renews the local state once it is timeoutMs / 2 old: an update, not a change', () => {
    const clock = fakeClock(0)
    const a = new Awareness({ clientID: 1, now: clock.now }) // default 30 s
    a.setLocalStateField('user', 'me')
    const evs = record(a)
    clock.t = 14_999
    a.checkTimeouts()
    expect(evs).toEqual([])
    clock.t = 15_000
    a.checkTimeouts()
    expect(evs).toEqual([['update', { added: [], updated: [1], removed: [] }, 'local']])
    expect(a.meta.get(1)).toEqual({ clock: 2, lastUpdated: 15_000 })
    // and peers accept the renewal as fresh
    const b = new Awareness({ clientID: 2, now: clock.now })
    applyAwarenessUpdate(b, encodeAwarenessUpdate(a, [1]), 'net')
    expect(b.meta.get(1)).toEqual({ clock: 2, lastUpdated: 15_000 })
  })

  it('does not renew a local state set to null', () => {
    const clock = fakeClock(0)
    const a = new Awareness({ clientID: 1, now: clock.now })
    a.setLocalState(null)
    const evs = record(a)
    clock.t = 1e9
    a.checkTimeouts()
    expect(evs).toEqual([])
  })

  /** Two peers whose update events reach each other while `link.up`, as a provider would send them. */
  const pair = (timeoutMs: number): { a: Awareness, b: Awareness, clock: { t: number }, link: { up: boolean } } => {
    const clock = fakeClock(0)
    const a = new Awareness({ clientID: 1, now: clock.now, timeoutMs })
    const b = new Awareness({ clientID: 2, now: clock.now, timeoutMs })
    const link = { up: true }
    for (const [x, y] of [[a, b], [b, a]] as const) {
      x.on('update', ({ added, updated, removed }) => {
        if (link.up) applyAwarenessUpdate(y, encodeAwarenessUpdate(x, added.concat(updated, removed)), x)
      })
    }
    a.setLocalStateField('n', 'a')
    b.setLocalStateField('n', 'b')
    return { a, b, clock, link }
  }

  it('keeps two peers present while the driver ticks every timeoutMs / 10, and drops a silent one', () => {
    const { a, b, clock, link } = pair(1000)
    for (let i = 0; i < 100; i++) {
      clock.t += 100
      a.checkTimeouts()
      b.checkTimeouts()
      expect(a.getStates().get(2)).toEqual({ n: 'b' })
      expect(b.getStates().get(1)).toEqual({ n: 'a' })
    }
    link.up = false
    for (let i = 0; i < 10; i++) { clock.t += 100; a.checkTimeouts(); b.checkTimeouts() }
    expect(a.getStates().has(2)).toBe(false)
    expect(b.getStates().has(1)).toBe(false)
  })

  it('a connected peer timed out by another re-announces itself (y-protocols\' outbid rule)', () => {
    const { a, b, clock } = pair(1000)
    // only a ticks: b's state goes stale at a, but b is still reachable
    clock.t = 1000
    const evs = record(a)
    a.checkTimeouts()
    expect(a.getStates().get(2)).toEqual({ n: 'b' })
    expect(a.meta.get(2)!.clock).toBe(b.meta.get(2)!.clock)
    expect(evs.map(([name, c, o]) => [name, c, o === b ? 'b' : o])).toEqual([
      ['update', { added: [], updated: [1], removed: [] }, 'local'], // a's own renewal
      ['change', { added: [], updated: [], removed: [2] }, 'timeout'],
      // b's answer arrives while a is still emitting its 'update' (the forwarding
      // listener runs before the recorder). As in y-protocols, a client that comes
      // back after a removal is reported as updated, not added: a's meta knew it.
      ['change', { added: [], updated: [2], removed: [] }, 'b'],
      ['update', { added: [], updated: [2], removed: [] }, 'b'],
      ['update', { added: [], updated: [], removed: [2] }, 'timeout']
    ])
  })
})

// ---------------------------------------------------------------- codec and limits

describe('awareness codec', () => {
  it('round-trips entries', () => {
    const entries: AwarenessEntry[] = [
      { clientID: 0, clock: 0, state: {} },
      { clientID: 0xffff_ffff, clock: Number.MAX_SAFE_INTEGER, state: null },
      { clientID: 300, clock: 128, state: { a: [1, { b: 'ü' }], c: null } }
    ]
    expect(decodeAwarenessUpdate(encodeAwarenessEntries(entries))).toEqual(entries)
    expect(decodeAwarenessUpdate(new Uint8Array([0]))).toEqual([])
  })

  it('refuses bad bytes with DecodeError', () => {
    const cases: Array<[string, Uint8Array, RegExp?]> = [
      ['empty', new Uint8Array(0)],
      ['truncated count', new Uint8Array([0x80])],
      ['truncated entry', rawUpdate([[1, 1, '{"a":1}']]).slice(0, -1)],
      ['absurd count', rawUpdate([[1, 1, '{}']], 2 ** 40), /declares/],
      ['trailing bytes', Uint8Array.from([...rawUpdate([[1, 1, '{}']]), 0])],
      ['invalid JSON', rawUpdate([[1, 1, '{"a":']]), /JSON/],
      ['number', rawUpdate([[1, 1, '42']]), /object or null/],
      ['string', rawUpdate([[1, 1, '"hi"']]), /object or null/],
      ['array', rawUpdate([[1, 1, '[1]']]), /an array/],
      ['boolean', rawUpdate([[1, 1, 'true']]), /object or null/],
      ['bad UTF-8', Uint8Array.from([1, 1, 1, 4, 0x7b, 0xff, 0xfe, 0x7d]), /UTF-8/],
      ['unsafe clock', Uint8Array.from([1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 2, 0x7b, 0x7d]), /safe integer/],
      ['not bytes', 'abc' as unknown as Uint8Array]
    ]
    for (const [name, bytes, message] of cases) {
      try {
        expectDecodeError(() => decodeAwarenessUpdate(bytes), message)
      } catch (err) {
        throw new Error(`case ${name}: ${(err as Error).message}`)
      }
    }
  })

  it(`accepts ${MAX_AWARENESS_ENTRIES} entries and refuses one more`, () => {
    const many = (n: number): Array<[number, number, string]> => Array.from({ length: n }, (_, i) => [i + 2, 1, '{}'])
    const a = new Awareness({ clientID: 1 })
    applyAwarenessUpdate(a, rawUpdate(many(MAX_AWARENESS_ENTRIES)), 'net')
    expect(a.getStates().size).toBe(MAX_AWARENESS_ENTRIES + 1)
    const b = new Awareness({ clientID: 1 })
    expectDecodeError(() => applyAwarenessUpdate(b, rawUpdate(many(MAX_AWARENESS_ENTRIES + 1)), 'net'), /limit/)
    expect(b.getStates().size).toBe(1)
    expect(() => encodeAwarenessEntries(many(MAX_AWARENESS_ENTRIES + 1).map(([clientID, clock]) => ({ clientID, clock, state: {} }))))
      .toThrow(InvalidArgumentError)
  })

  it(`accepts a state of ${MAX_AWARENESS_STATE_BYTES} bytes and refuses one more, counted in UTF-8`, () => {
    const a = new Awareness({ clientID: 1 })
    const atCap = stateOfBytes(MAX_AWARENESS_STATE_BYTES)
    applyAwarenessUpdate(a, rawUpdate([[2, 1, JSON.stringify(atCap)]]), 'net')
    expect(a.getStates().get(2)).toEqual(atCap)
    expectDecodeError(() => applyAwarenessUpdate(a, rawUpdate([[3, 1, JSON.stringify(stateOfBytes(MAX_AWARENESS_STATE_BYTES + 1))]]), 'net'), /limit/)

    // locally: the same limit, so nothing we send is refused by peers
    a.setLocalState(atCap)
    expect(() => { a.setLocalState(stateOfBytes(MAX_AWARENESS_STATE_BYTES + 1)) }).toThrow(InvalidArgumentError)
    expect(a.getLocalState()).toBe(atCap)
    const wide = { p: 'é'.repeat(33_000) } // 33 008 characters but 66 008 bytes
    expect(() => { a.setLocalState(wide) }).toThrow(InvalidArgumentError)
    a.setLocalState({ p: 'é'.repeat(32_000) })
    expect(() => encodeAwarenessUpdate(a, [1], new Map([[1, wide]]))).toThrow(InvalidArgumentError)
  })

  it('refuses local states that are not JSON objects, leaving the state as it was', () => {
    const a = new Awareness({ clientID: 1 })
    a.setLocalStateField('ok', 1)
    const evs = record(a)
    const cyclic: AwarenessState = {}
    cyclic.self = cyclic
    for (const bad of [[1, 2], 'x', 3, undefined, { n: 10n }, cyclic, { toJSON: () => 'str' }]) {
      expect(() => { a.setLocalState(bad as AwarenessState) }).toThrow(InvalidArgumentError)
    }
    expect(() => { a.setLocalStateField('n', 10n) }).toThrow(InvalidArgumentError)
    expect(a.getLocalState()).toEqual({ ok: 1 })
    expect(a.meta.get(1)!.clock).toBe(1)
    expect(evs).toEqual([])
  })

  it('encodeAwarenessUpdate refuses a client it has no clock for and reads states from the given map', () => {
    const a = new Awareness({ clientID: 1 })
    expect(() => encodeAwarenessUpdate(a, [2])).toThrow(InvalidArgumentError)
    const twin = ypAwareness(1)
    const states = new Map<number, AwarenessState>([[1, { hidden: true }]])
    expect(encodeAwarenessUpdate(a, [1], states)).toEqual(yp.encodeAwarenessUpdate(twin, [1], states))
    expect(encodeAwarenessUpdate(a, [1], new Map())).toEqual(yp.encodeAwarenessUpdate(twin, [1], new Map()))
  })

  it('applies nothing when a later entry is bad', () => {
    const a = new Awareness({ clientID: 1 })
    const before = snapshot(a)
    const evs = record(a)
    expectDecodeError(() => applyAwarenessUpdate(a, rawUpdate([[2, 1, '{"v":1}'], [1, 9, 'null'], [3, 1, '[]']]), 'net'))
    expect(snapshot(a)).toEqual(before)
    expect(evs).toEqual([])
  })
})

// ---------------------------------------------------------------- fuzz

describe('awareness fuzz', () => {
  const entryArb = fc.record({
    clientID: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 0xffff_ffff })),
    clock: fc.integer({ min: 0, max: 300 }),
    state: fc.oneof(fc.constant(null), fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }))
  }) as fc.Arbitrary<AwarenessEntry>
  const validUpdate = fc.array(entryArb, { maxLength: 5 }).map(encodeAwarenessEntries)
  const mutate = fc.tuple(validUpdate, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 }), fc.constantFrom('flip', 'set', 'insert', 'delete', 'truncate')), { minLength: 1, maxLength: 4 }))
    .map(([bytes, edits]) => {
      const b = Array.from(bytes)
      for (const [pos, v, kind] of edits) {
        const i = b.length === 0 ? 0 : pos % b.length
        if (kind === 'flip' && b.length > 0) b[i] ^= 1 << (v % 8)
        else if (kind === 'set' && b.length > 0) b[i] = v
        else if (kind === 'insert') b.splice(i, 0, v)
        else if (kind === 'delete') b.splice(i, 1)
        else b.length = i
      }
      return Uint8Array.from(b)
    })
  const anyBytes = fc.oneof(
    { weight: 4, arbitrary: mutate },
    { weight: 1, arbitrary: validUpdate }, // so the accepting branch (compared with y-protocols) runs often too
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 }).map(b => Uint8Array.from([1, ...b])) }
  )

  it('bad bytes only ever throw DecodeError and change nothing; good ones apply as in y-protocols', () => {
    const setup = rawUpdate([[1, 2, '{"v":1}'], [2, 2, '{"a":[1]}'], [3, 2, 'null']])
    fc.assert(fc.property(anyBytes, bytes => {
      const ours = new Awareness({ clientID: 2, now: () => 5 })
      applyAwarenessUpdate(ours, setup, 'setup')
      const before = snapshot(ours)
      const evs = record(ours)
      let decoded = true
      try {
        applyAwarenessUpdate(ours, bytes, 'fuzz')
      } catch (err) {
        decoded = false
        expect(err).toBeInstanceOf(DecodeError)
        expect(snapshot(ours)).toEqual(before)
        expect(evs).toEqual([])
      }
      if (decoded) {
        // whatever we accept, y-protocols reads the same way
        const twin = ypAwareness(2)
        try {
          yp.applyAwarenessUpdate(twin, setup, 'setup')
          yp.applyAwarenessUpdate(twin, bytes, 'fuzz')
          expect(snapshot(ours)).toEqual(snapshot(twin))
        } finally {
          ypDestroy(twin)
        }
      }
    }), { seed: SEED + 1, numRuns: 2000 })
  })

  it('valid updates round-trip and match y-protocols\' bytes', () => {
    fc.assert(fc.property(fc.array(entryArb, { maxLength: 5 }), entries => {
      const bytes = encodeAwarenessEntries(entries)
      expect(bytes).toEqual(rawUpdate(entries.map(e => [e.clientID, e.clock, JSON.stringify(e.state)])))
      expect(decodeAwarenessUpdate(bytes)).toEqual(JSON.parse(JSON.stringify(entries)))
    }), { seed: SEED + 2, numRuns: 300 })
  })
})

describe('watchAwarenessTimeouts', () => {
  it('drops a vanished client\'s state after the timeout and renews its own, until stopped', async () => {
    const { VirtualClock } = await import('../../../src/transport/virtual-clock.js')
    const clock = new VirtualClock()
    const a = new Awareness({ clientID: 1, now: () => clock.now(), timeoutMs: 1000 })
    const b = new Awareness({ clientID: 2, now: () => clock.now(), timeoutMs: 1000 })
    b.setLocalState({ name: 'b' })
    a.setLocalState({ name: 'a' })
    applyAwarenessUpdate(a, encodeAwarenessUpdate(b, [2]), 'remote')
    const stop = watchAwarenessTimeouts(a, clock)
    const ownClock = a.meta.get(1)!.clock
    clock.runFor(900)
    expect(a.getStates().has(2)).toBe(true)
    clock.runFor(300)
    expect(a.getStates().has(2)).toBe(false) // b said nothing for over 1000 ms
    expect(a.meta.get(1)!.clock).toBeGreaterThan(ownClock) // a renewed its own state
    stop()
    b.setLocalState({ name: 'b again' })
    applyAwarenessUpdate(a, encodeAwarenessUpdate(b, [2]), 'remote')
    expect(a.getStates().has(2)).toBe(true)
    clock.runFor(5000)
    expect(a.getStates().has(2)).toBe(true) // nothing checks any more
    expect(clock.nextEventTime()).toBeUndefined()
  })
})
