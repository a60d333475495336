import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { SeqDelta } from '../../../src/seq/index.js'
import { Replica } from './harness.js'

const applyDelta = <T extends string | unknown[]>(text: T, delta: SeqDelta): T => {
  const out: unknown[] = []
  const src = typeof text === 'string' ? [...text] : text
  let i = 0
  for (const op of delta) {
    if ('retain' in op) { out.push(...src.slice(i, i + op.retain)); i += op.retain }
    else if ('delete' in op) i += op.delete
    else out.push(...(typeof op.insert === 'string' ? [...op.insert] : op.insert))
  }
  out.push(...src.slice(i))
  return (typeof text === 'string' ? out.join('') : out) as T
}

const normalised = (delta: SeqDelta): boolean => {
  for (let k = 1; k < delta.length; k++) {
    const a = Object.keys(delta[k - 1])[0]
    const b = Object.keys(delta[k])[0]
    if (a === b) return false
    if (a === 'delete' && b === 'insert') return false
  }
  const last = delta[delta.length - 1]
  return delta.length > 0 && !('retain' in last)
}

describe('deltas', () => {
  for (const kind of ['text', 'list'] as const) it(`${kind}: a transaction's delta (local and remote changes) turns the state before it into the state after it, normalised`, () => {
    fc.assert(fc.property(fc.array(fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.integer({ min: 1, max: 4 }), fc.boolean()), { maxLength: 8 }), { maxLength: 12 }), (txns) => {
      const a = new Replica('a', kind)
      const b = new Replica('b', kind)
      const content = (str: string): string | Array<string | { c: string }> => kind === 'text' ? str : [...str].map((c, i) => i % 2 === 0 ? c : { c })
      a.insert(0, content('hello world'))
      b.receive(a.messageFor(b))
      let k = 0
      for (const txn of txns) {
        const before = a.text()
        a.core.beginDelta()
        for (const [local, at, n, del] of txn) {
          const r = local ? a : b
          const len = r.core.length
          if (del && len > 0) r.delete(at % len, Math.min(n, len - (at % len)))
          else r.insert(at % (len + 1), content('xyz#'.slice(0, n) + String(k++)))
          if (!local) a.receive(b.messageFor(a))
        }
        const delta = a.core.takeDelta()
        const after = a.text()
        if (delta === null) expect(after).toEqual(before)
        else {
          expect(applyDelta(before, delta)).toEqual(after)
          expect(normalised(delta)).toBe(true)
        }
        b.receive(a.messageFor(b))
      }
    }), { numRuns: Number(process.env.SEQ_FUZZ_RUNS ?? 100) })
  })

  it('lists: insert then delete inside one transaction cancel out', () => {
    const a = new Replica('a', 'list')
    a.insert(0, [1, 2, 3])
    a.core.beginDelta()
    a.insert(1, ['x', 'y'])
    a.delete(2, 2)
    expect(a.core.takeDelta()).toEqual([{ retain: 1 }, { insert: ['x'] }, { delete: 1 }])
    a.core.beginDelta()
    a.insert(0, [9])
    a.delete(0, 1)
    expect(a.core.takeDelta()).toBeNull()
    expect(a.core.takeDelta()).toBeNull()
  })
})

describe('list deltas', () => {
  it('typing on a list run inside one transaction records each value once', () => {
    const a = new Replica('a', 'list')
    a.insert(0, ['p'])
    a.core.beginDelta()
    a.insert(0, [1])
    a.insert(1, [2])
    a.insert(2, [{ x: 3 }])
    expect(a.core.takeDelta()).toEqual([{ insert: [1, 2, { x: 3 }] }])
    expect(a.core.toArray()).toEqual([1, 2, { x: 3 }, 'p'])
    expect(a.core.runsSince(() => false)).toHaveLength(2)
  })
})
