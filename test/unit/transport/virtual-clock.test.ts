import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { VirtualClock } from '../../../src/transport/virtual-clock.js'
import { EventQueue } from '../../../src/transport/event-queue.js'
import { InvalidArgumentError } from '../../../src/errors.js'

describe('EventQueue', () => {
  it('pops by (time, insertion order), skipping cancelled events', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ time: fc.integer({ min: 0, max: 20 }), cancel: fc.boolean() }), { maxLength: 200 }),
      (specs) => {
        const q = new EventQueue()
        const events = specs.map((s, i) => ({ ...s, i, e: q.push(s.time, () => {}) }))
        for (const ev of events) if (ev.cancel) q.cancel(ev.e)
        const expected = events.filter((e) => !e.cancel).sort((a, b) => a.time - b.time || a.i - b.i).map((e) => e.i)
        expect(q.size).toBe(expected.length)
        const popped: number[] = []
        for (let e = q.pop(); e !== undefined; e = q.pop()) popped.push(events.findIndex((x) => x.e === e))
        expect(popped).toEqual(expected)
        expect(q.size).toBe(0)
      }), { seed: 0x0e0e, numRuns: 200 })
  })

  it('ignores cancelling a fired event or one from another queue', () => {
    const q = new EventQueue()
    const other = new EventQueue()
    const a = q.push(1, () => {})
    q.push(2, () => {})
    expect(q.pop()).toBe(a)
    q.cancel(a)
    other.cancel(q.peek()!)
    expect(q.size).toBe(1)
  })
})

describe('VirtualClock', () => {
  it('fires timers in time order, ties in the order they were set', () => {
    const clock = new VirtualClock({ start: 100 })
    const log: string[] = []
    clock.setTimeout(() => log.push(`b@${clock.now()}`), 20)
    clock.setTimeout(() => log.push(`a@${clock.now()}`), 10)
    clock.setTimeout(() => log.push(`c@${clock.now()}`), 20)
    clock.setTimeout(() => log.push(`z@${clock.now()}`), -5)
    expect(clock.pending).toBe(4)
    expect(clock.runUntilIdle()).toBe(4)
    expect(log).toEqual(['z@100', 'a@110', 'b@120', 'c@120'])
    expect(clock.now()).toBe(120)
  })

  it('clearTimeout cancels; clearing twice or a foreign handle is harmless', () => {
    const clock = new VirtualClock()
    const other = new VirtualClock()
    let fired = 0
    const h = clock.setTimeout(() => fired++, 5)
    const keep = clock.setTimeout(() => fired++, 6)
    clock.clearTimeout(h)
    clock.clearTimeout(h)
    other.clearTimeout(keep)
    expect(clock.pending).toBe(1)
    clock.runUntilIdle()
    expect(fired).toBe(1)
    clock.clearTimeout(keep) // already fired
    expect(clock.pending).toBe(0)
  })

  it('runFor runs what falls due, including newly scheduled events, then advances', () => {
    const clock = new VirtualClock()
    const log: number[] = []
    const tick = (): void => { log.push(clock.now()); clock.setTimeout(tick, 30) }
    clock.setTimeout(tick, 30)
    expect(clock.runFor(100)).toBe(3)
    expect(log).toEqual([30, 60, 90])
    expect(clock.now()).toBe(100)
    clock.runFor(20)
    expect(log).toEqual([30, 60, 90, 120])
    expect(clock.now()).toBe(120)
    expect(() => clock.runFor(-1)).toThrow(InvalidArgumentError)
    expect(() => clock.runFor(Infinity)).toThrow(InvalidArgumentError)
  })

  it('runFor and runUntilIdle refuse to spin forever', () => {
    const clock = new VirtualClock()
    const spin = (): void => { clock.setTimeout(spin, 0) }
    clock.setTimeout(spin, 0)
    expect(() => clock.runFor(10, 1000)).toThrow(/still busy after 1000 events/)

    const periodic = new VirtualClock()
    const beat = (): void => { periodic.setTimeout(beat, 50) }
    periodic.setTimeout(beat, 50)
    expect(() => periodic.runUntilIdle(500)).toThrow(/not idle after 500 events.*periodic timer/)
    expect(periodic.now()).toBe(500 * 50)
  })

  it('runUntil stops when the condition holds, or reports that it did not', () => {
    const clock = new VirtualClock()
    let count = 0
    const beat = (): void => { count++; clock.setTimeout(beat, 10) }
    clock.setTimeout(beat, 10)
    expect(clock.runUntil(() => count >= 3, 1000)).toBe(true)
    expect(clock.now()).toBe(30)
    expect(clock.runUntil(() => count >= 1000, 100)).toBe(false)
    expect(clock.now()).toBe(130)
    const idle = new VirtualClock()
    expect(idle.runUntil(() => false, Infinity)).toBe(false)
    expect(idle.now()).toBe(0)
  })

  it('keeps going after an event throws', () => {
    const clock = new VirtualClock()
    const log: number[] = []
    clock.setTimeout(() => { throw new Error('boom') }, 1)
    clock.setTimeout(() => log.push(clock.now()), 2)
    expect(() => clock.runUntilIdle()).toThrow('boom')
    expect(clock.runUntilIdle()).toBe(1)
    expect(log).toEqual([2])
  })

  it('the async runs let promise continuations run between events', async () => {
    const clock = new VirtualClock()
    const log: string[] = []
    const later = async (): Promise<void> => { await Promise.resolve(); await Promise.resolve(); log.push(`continued@${clock.now()}`) }
    clock.setTimeout(() => { log.push(`a@${clock.now()}`); void later() }, 10)
    clock.setTimeout(() => log.push(`b@${clock.now()}`), 20)
    await clock.runForAsync(50)
    expect(log).toEqual(['a@10', 'continued@10', 'b@20'])
    expect(clock.now()).toBe(50)

    // The synchronous run would not: the continuation comes after it returns.
    const sync = new VirtualClock()
    const log2: string[] = []
    sync.setTimeout(() => { log2.push('a'); void Promise.resolve().then(() => log2.push('continued')) }, 10)
    sync.setTimeout(() => log2.push('b'), 20)
    sync.runFor(50)
    expect(log2).toEqual(['a', 'b'])

    // A continuation that schedules more work keeps runUntilIdleAsync going.
    const c = new VirtualClock()
    let done = false
    c.setTimeout(() => { void Promise.resolve().then(() => c.setTimeout(() => { done = true }, 5)) }, 1)
    await c.runUntilIdleAsync()
    expect(done).toBe(true)
    expect(c.now()).toBe(6)

    const d = new VirtualClock()
    let n = 0
    const beat = (): void => { void Promise.resolve().then(() => { n++ }); d.setTimeout(beat, 10) }
    d.setTimeout(beat, 10)
    expect(await d.runUntilAsync(() => n >= 2, 1000)).toBe(true)
    expect(d.now()).toBe(20)
    await expect(d.runUntilIdleAsync(10)).rejects.toThrow(/not idle/)
  })

  it('uses an injected settle function', async () => {
    let settles = 0
    const clock = new VirtualClock({ settle: async () => { settles++ } })
    clock.setTimeout(() => {}, 1)
    clock.setTimeout(() => {}, 2)
    await clock.runForAsync(5)
    expect(settles).toBe(3)
  })
})
