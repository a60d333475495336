import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeRelativePosition, encodeRelativePosition } from '../../../src/seq/index.js'
import { Replica } from './harness.js'

describe('relative positions', () => {
  it('stay between the same two elements (or at a deleted element\'s place) under random concurrent edits', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(2), fc.nat(), fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.nat(3)), { minLength: 5, maxLength: 60 }), fc.nat(), fc.nat(), (ops, when, where) => {
      const ids = ['one', 'two', 'six']
      const rs = ids.map((id, i) => new Replica(id, 'text', ids.filter(o => o !== id).slice(i % 2).concat(ids.filter(o => o !== id).slice(0, i % 2))))
      // the shadow receives every insert while it is live and never a delete: its text is the full order
      const shadow = new Replica('shadow', 'text')
      let next = 0x4e00
      const carets: Array<{ bytes: Uint8Array, ch: string, assoc: 'before' | 'after' }> = []
      ops.forEach(([who, at, n, del, sync], step) => {
        const r = rs[who]
        const len = r.core.length
        if (step === when % ops.length && len > 0) {
          const i = where % (len + 1)
          for (const assoc of ['before', 'after'] as const) {
            const pos = r.core.relativePosition(i, assoc)
            if (pos.kind !== 'id') continue
            const ch = r.core.get(assoc === 'before' ? i : i - 1) as string
            carets.push({ bytes: encodeRelativePosition(pos, x => r.table[x]), ch, assoc })
          }
        }
        if (del && len > 0) r.delete(at % len, Math.min(n, len - (at % len)))
        else {
          let s = ''
          for (let k = 0; k < n; k++) s += String.fromCharCode(next++)
          r.insert(at % (len + 1), s)
        }
        shadow.receive({ runs: r.messageFor(shadow).runs, deletes: [] })
        if (sync === 0) { const o = rs[(who + 1) % 3]; o.receive(r.messageFor(o)) }
      })
      for (let round = 0; round < 2; round++) for (const a of rs) for (const b of rs) if (a !== b) b.receive(a.messageFor(b))
      const order = shadow.text() as string
      for (const r of rs) {
        const text = r.text() as string
        for (const c of carets) {
          const pos = decodeRelativePosition(c.bytes, id => r.index(id))
          const i = r.core.resolve(pos)
          expect(i).not.toBeNull()
          const x = order.indexOf(c.ch)
          const before = i! === 0 ? -1 : order.indexOf(text[i! - 1])
          const after = i! === text.length ? Infinity : order.indexOf(text[i!])
          if (c.assoc === 'before') {
            expect(before).toBeLessThan(x)
            expect(after).toBeGreaterThanOrEqual(x)
          } else {
            expect(before).toBeLessThanOrEqual(x)
            expect(after).toBeGreaterThan(x)
          }
          if (text.includes(c.ch)) expect(text[c.assoc === 'before' ? i! : i! - 1]).toBe(c.ch)
        }
      }
    }), { numRuns: Number(process.env.SEQ_FUZZ_RUNS ?? 100) })
  })

  it('start and end, and null for an element not held yet', () => {
    const a = new Replica('a', 'list')
    const b = new Replica('b', 'list')
    a.insert(0, [1, 2, 3])
    expect(a.core.relativePosition(0, 'after')).toEqual({ kind: 'start' })
    expect(a.core.relativePosition(3)).toEqual({ kind: 'end' })
    const p = a.core.relativePosition(1)
    expect(a.core.resolve(p)).toBe(1)
    expect(b.core.resolve(decodeRelativePosition(encodeRelativePosition(p, r => a.table[r]), id => b.index(id)))).toBeNull()
    a.insert(0, [0])
    expect(a.core.resolve(p)).toBe(2)
    expect(a.core.resolve({ kind: 'end' })).toBe(4)
  })
})
