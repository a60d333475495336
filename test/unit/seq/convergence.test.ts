import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { JsonValue } from '../../../src/codec/value.js'
import type { SeqKind } from '../../../src/seq/index.js'
import { type Message, Replica, syncAll } from './harness.js'

const RUNS = Number(process.env.SEQ_FUZZ_RUNS ?? 60)

type Op =
  | { t: 'ins', who: number, at: number, text: string }
  | { t: 'del', who: number, at: number, len: number }
  | { t: 'send', from: number, to: number, partial: number, dup: boolean }
  | { t: 'deliver', who: number, pick: number }

const opArb = (n: number): fc.Arbitrary<Op> => fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('ins' as const), who: fc.nat(n - 1), at: fc.nat(), text: fc.string({ minLength: 1, maxLength: 4, unit: fc.constantFrom('a', 'b', 'c', 'x', 'y', 'z', '😀') }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('del' as const), who: fc.nat(n - 1), at: fc.nat(), len: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('send' as const), from: fc.nat(n - 1), to: fc.nat(n - 1), partial: fc.nat(), dup: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('deliver' as const), who: fc.nat(n - 1), pick: fc.nat() }) }
)

/** Keeps a UTF-16 index off the middle of a surrogate pair. */
const snap = (s: string, i: number): number => (i > 0 && i < s.length && /[\uDC00-\uDFFF]/.test(s[i]) ? i - 1 : i)

const run = (kind: SeqKind, n: number, ops: Op[]): void => {
  const ids = Array.from({ length: n }, (_, i) => `replica-${String.fromCharCode(97 + ((i * 7) % n))}`)
  // each replica meets the others in a different order: different local indices
  const rs = ids.map((id, i) => new Replica(id, kind, ids.slice(i + 1).concat(ids.slice(0, i)).reverse()))
  const inbox: Array<Array<Message>> = rs.map(() => [])
  for (const op of ops) {
    if (op.t === 'ins') {
      const r = rs[op.who]
      const cur = r.text()
      const at = kind === 'text' ? snap(cur as string, op.at % (cur.length + 1)) : op.at % (cur.length + 1)
      r.insert(at, kind === 'text' ? op.text : [...op.text].map((c, k): JsonValue => k % 2 === 0 ? c : { v: c }))
    } else if (op.t === 'del') {
      const r = rs[op.who]
      const cur = r.text()
      if (cur.length === 0) continue
      let at = op.at % cur.length
      let end = Math.min(cur.length, at + op.len)
      if (kind === 'text') { at = snap(cur as string, at); end = snap(cur as string, end) }
      if (end > at) r.delete(at, end - at)
    } else if (op.t === 'send') {
      if (op.from === op.to) continue
      const m = rs[op.from].messageFor(op.partial % 3 === 0 ? rs[op.to] : null)
      // a partial sync: only some runs, in a shuffled order
      if (op.partial % 2 === 1) {
        const k = op.partial % (m.runs.length + 1)
        m.runs = m.runs.slice(k).concat(m.runs.slice(0, k)).filter((_, i) => (i + op.partial) % 3 !== 0)
      }
      inbox[op.to].push(m)
      if (op.dup) inbox[op.to].push(m)
    } else {
      const box = inbox[op.who]
      if (box.length === 0) continue
      const [m] = box.splice(op.pick % box.length, 1)
      rs[op.who].receive(m)
    }
  }
  for (let i = 0; i < n; i++) for (const m of inbox[i]) rs[i].receive(m)
  syncAll(rs)
  const want = rs[0].text()
  for (const r of rs) {
    expect(r.buffer).toEqual([])
    expect(r.text()).toEqual(want)
    expect(r.core.length).toBe(want.length)
  }
}

describe('sequence convergence', () => {
  for (const kind of ['text', 'list'] as const) {
    it(`${kind}: 3–5 replicas converge under random edits, reordering, duplicates and partial syncs`, () => {
      fc.assert(fc.property(fc.integer({ min: 3, max: 5 }).chain(n => fc.tuple(fc.constant(n), fc.array(opArb(n), { maxLength: 80 }))), ([n, ops]) => {
        run(kind, n, ops)
      }), { numRuns: RUNS })
    })
  }

  it('sequential edits match a reference string model', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.string({ minLength: 1, maxLength: 5 })), { maxLength: 200 }), (edits) => {
      const a = new Replica('a', 'text')
      const b = new Replica('b', 'text')
      let model = ''
      let turn = 0
      for (const [ins, at, str] of edits) {
        const r = turn++ % 2 === 0 ? a : b
        const pos = snap(model, at % (model.length + 1))
        if (ins || model.length === 0) {
          const clean = str.replace(/[\uD800-\uDFFF]/g, 'u')
          r.insert(pos, clean)
          model = model.slice(0, pos) + clean + model.slice(pos)
        } else {
          const p = snap(model, at % model.length)
          const e = snap(model, Math.min(model.length, p + str.length))
          if (e > p) { r.delete(p, e - p); model = model.slice(0, p) + model.slice(e) }
        }
        // sync both ways after each edit: sequential
        b.receive(a.messageFor(b))
        a.receive(b.messageFor(a))
        expect(a.text()).toBe(model)
        expect(b.text()).toBe(model)
      }
    }), { numRuns: Math.ceil(RUNS / 2) })
  })
})
