import { describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../../src/errors.js'
import { createSequence, type SeqRun } from '../../../src/seq/index.js'

const cmp = (a: number, b: number): number => a - b
const text = () => createSequence({ kind: 'text', compareReplicas: cmp })

describe('sequence core', () => {
  it('typing on extends one run in place; an insert inside splits it', () => {
    const a = text()
    for (let i = 0; i < 1000; i++) a.insert(i, 'x', 0, i)
    expect(a.runsSince(() => false)).toHaveLength(1)
    const run = a.insert(500, 'Y', 0, 1000)
    expect(run).toEqual({ r: 0, s: 1000, len: 1, left: { r: 0, s: 499 }, right: { r: 0, s: 500 }, content: 'Y' })
    expect(a.slice(498, 503)).toBe('xxYxx')
    expect(a.get(500)).toBe('Y')
  })

  it('refuses inserts and deletes that split a surrogate pair, before changing anything', () => {
    const a = text()
    a.insert(0, 'a😀b', 0, 0)
    expect(() => a.insert(2, 'x', 0, 4)).toThrow(InvalidArgumentError)
    expect(() => a.delete(1, 1)).toThrow(InvalidArgumentError)
    expect(() => a.delete(2, 2)).toThrow(InvalidArgumentError)
    expect(a.toString()).toBe('a😀b')
    a.delete(1, 2)
    expect(a.toString()).toBe('ab')
    expect(() => a.insert(3, 'x', 0, 4)).toThrow(InvalidArgumentError)
    expect(() => a.insert(0, '', 0, 4)).toThrow(InvalidArgumentError)
  })

  it('integrate trims ids already held; a fully held run is integrable whatever its origins', () => {
    const a = text()
    a.insert(0, 'abcdef', 0, 0)
    const b = text()
    b.integrate({ r: 0, s: 2, len: 2, left: null, right: null, content: 'cd' })
    const run: SeqRun = { r: 0, s: 0, len: 6, left: null, right: null, content: 'abcdef' }
    expect(b.canIntegrate(run)).toBe(true)
    b.integrate(run)
    expect(b.toString()).toBe('abcdef')
    const dup: SeqRun = { r: 0, s: 2, len: 2, left: { r: 7, s: 9 }, right: { r: 8, s: 1 }, content: 'cd' }
    expect(b.canIntegrate(dup)).toBe(true)
    b.integrate(dup)
    expect(b.length).toBe(6)
    expect(b.canIntegrate({ r: 0, s: 6, len: 1, left: { r: 7, s: 9 }, right: null, content: 'z' })).toBe(false)
    expect(() => b.integrate({ r: 0, s: 6, len: 1, left: { r: 7, s: 9 }, right: null, content: 'z' })).toThrow(InvalidArgumentError)
  })

  it('deletes of ids not held yet apply when they arrive; applyDeletes is idempotent', () => {
    const a = text()
    a.insert(0, 'hello', 0, 0)
    const dels = a.delete(1, 3)
    expect(dels).toEqual([[1, 3]])
    const b = text()
    b.applyDeletes(dels)
    expect(b.deleteSet()).toEqual([[1, 3]])
    b.integrate({ r: 0, s: 0, len: 5, left: null, right: null, content: 'hello' })
    expect(b.toString()).toBe('ho')
    b.applyDeletes(dels)
    b.applyDeletes([[0, 0]])
    b.applyDeletes([[0, 0]])
    expect(b.toString()).toBe('o')
    expect(b.deleteSet()).toEqual([[0, 3]])
    // deleted neighbours of one run merge into one piece
    expect(b.runsSince(() => false)).toEqual([
      { r: 0, s: 0, len: 4, left: null, right: null, content: null },
      { r: 0, s: 4, len: 1, left: { r: 0, s: 3 }, right: null, content: 'o' }
    ])
  })

  it('runsSince skips what the other side holds', () => {
    const a = text()
    a.insert(0, 'abc', 0, 0)
    a.insert(3, 'def', 1, 0)
    expect(a.runsSince((r, s) => r === 0 || s < 1)).toEqual([{ r: 1, s: 1, len: 2, left: { r: 1, s: 0 }, right: null, content: 'ef' }])
  })

  it('remote typing received one element at a time joins the previous piece', () => {
    const a = text()
    const b = text()
    for (let i = 0; i < 200; i++) {
      b.integrate(a.insert(i, 'q', 3, i))
    }
    expect(b.toString()).toBe('q'.repeat(200))
    expect(b.runsSince(() => false)).toHaveLength(1)
    expect(() => b.integrate({ r: 4, s: 0, len: 2, left: null, right: null, content: 'abc' })).toThrow(InvalidArgumentError)
    expect(b.has(4, 0)).toBe(false)
  })
})
