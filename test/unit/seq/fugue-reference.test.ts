/**
 * Differential test: the run-length core orders elements exactly as a
 * one-element-per-item FugueMax (the list form with left and right
 * origins, after josephg/reference-crdts' YjsMod) written here from the
 * paper, with no runs, trees or caches.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Replica } from './harness.js'

interface Item { id: string, agent: string, seq: number, left: string | null, right: string | null, ch: string }

const key = (r: string, s: number): string => `${r}:${s}`

const integrateRef = (doc: Item[], item: Item): void => {
  const find = (id: string | null, dflt: number): number => id === null ? dflt : doc.findIndex(x => x.id === id)
  const left = find(item.left, -1)
  const right = find(item.right, doc.length)
  let dest = left + 1
  let scanning = false
  for (let i = left + 1; ; i++) {
    if (!scanning) dest = i
    if (i === doc.length || i === right) break
    const o = doc[i]
    const oleft = find(o.left, -1)
    const oright = find(o.right, doc.length)
    if (oleft < left) break
    if (oleft === left) {
      if (oright < right) { scanning = true; continue }
      if (oright === right) {
        if (item.agent < o.agent || (item.agent === o.agent && item.seq < o.seq)) break
        scanning = false
        continue
      }
      scanning = false
    }
  }
  doc.splice(dest, 0, item)
}

describe('FugueMax order against an element-by-element reference', () => {
  it('random concurrent edits on 3 replicas give the reference order', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(2), fc.nat(), fc.string({ minLength: 1, maxLength: 3, unit: fc.constantFrom('a', 'b', 'c', 'd') }), fc.boolean(), fc.nat(5)), { maxLength: 60 }), (ops) => {
      const rs = ['x', 'y', 'z'].map((id, i, all) => new Replica(id, 'text', all.filter(o => o !== id).slice(i % 2)))
      for (const [who, at, str, del, sync] of ops) {
        const r = rs[who]
        const len = r.core.length
        if (del && len > 0) r.delete(at % len, Math.min(str.length, len - (at % len)))
        else r.insert(at % (len + 1), str)
        if (sync === 0) { const o = rs[(who + 1) % 3]; o.receive(r.messageFor(o)) }
      }
      for (let round = 0; round < 2; round++) for (const a of rs) for (const b of rs) if (a !== b) b.receive(a.messageFor(b))
      // rebuild the reference from a full-state message of replica 0 (causal order), element by element
      const m = rs[0].messageFor(null)
      const doc: Item[] = []
      for (const run of m.runs) {
        for (let k = 0; k < run.len; k++) {
          const left = k === 0 ? (run.left === null ? null : key(run.left.r, run.left.s)) : key(run.r, run.s + k - 1)
          const right = run.right === null ? null : key(run.right.r, run.right.s)
          integrateRef(doc, { id: key(run.r, run.s + k), agent: run.r, seq: run.s + k, left, right, ch: run.content === null ? '' : (run.content as string)[k] })
        }
      }
      const deleted = new Set<string>()
      for (const [r, a] of m.deletes) for (let i = 0; i < a.length; i += 2) for (let s = a[i]; s <= a[i + 1]; s++) deleted.add(key(r, s))
      const want = doc.filter(x => !deleted.has(x.id)).map(x => x.ch).join('')
      for (const r of rs) expect(r.text()).toBe(want)
    }), { numRuns: Number(process.env.SEQ_FUZZ_RUNS ?? 100) })
  })
})
