import { describe, expect, it } from 'vitest'
import { Prng } from '../../../src/testing/prng.js'
import { Replica, syncAll } from './harness.js'

const SEEDS = Number(process.env.SEQ_FUZZ_RUNS ?? 60)

/** Types `word` at `at`: forward (each char after the previous) or backward (each char at the same index). */
const type = (r: Replica, at: number, word: string, dir: 'fwd' | 'bwd', sendEach?: (r: Replica) => void): void => {
  const chars = dir === 'fwd' ? [...word] : [...word].reverse()
  chars.forEach((c, i) => {
    r.insert(dir === 'fwd' ? at + i : at, c)
    sendEach?.(r)
  })
}

const words = (p: Prng, n: number): string => Array.from({ length: n }, () => String.fromCharCode(97 + p.int(0, 25))).join('')

const whole = (text: string, base: string, at: number, w1: string, w2: string): boolean =>
  text === base.slice(0, at) + w1 + w2 + base.slice(at) || text === base.slice(0, at) + w2 + w1 + base.slice(at)

describe('no interleaving of concurrent inserts at one position', () => {
  for (const [d1, d2] of [['fwd', 'fwd'], ['bwd', 'bwd'], ['fwd', 'bwd'], ['bwd', 'fwd']] as const) {
    it(`two replicas typing ${d1}/${d2} at the same index keep their words whole (${SEEDS} seeds)`, () => {
      for (let seed = 1; seed <= SEEDS; seed++) {
        const p = new Prng(seed)
        const a = new Replica(`a${seed}`, 'text')
        const b = new Replica(`b${p.int(0, 99)}`, 'text')
        const base = words(p, p.int(0, 6))
        if (base.length > 0) a.insert(0, base)
        // some history: delete and retype a char, so tombstones sit at the spot
        if (base.length > 1 && p.bool()) { a.delete(1, 1); a.insert(1, base[1]) }
        syncAll([a, b])
        const at = p.int(0, base.length)
        const w1 = words(p, p.int(1, 6))
        const w2 = words(p, p.int(1, 6))
        const c = new Replica('c', 'text')
        syncAll([a, c])
        // char by char, each char sent to c as its own update, in an interleaved delivery
        const qa: Array<ReturnType<Replica['messageFor']>> = []
        const qb: Array<ReturnType<Replica['messageFor']>> = []
        type(a, at, w1, d1, r => qa.push(r.messageFor(c)))
        type(b, at, w2, d2, r => qb.push(r.messageFor(c)))
        while (qa.length + qb.length > 0) {
          const q = qb.length === 0 || (qa.length > 0 && p.bool()) ? qa : qb
          c.receive(q.shift()!)
        }
        syncAll([a, b, c])
        for (const r of [a, b, c]) {
          const text = r.text() as string
          if (!whole(text, base, at, w1, w2)) throw new Error(`seed ${seed}: ${JSON.stringify(text)} interleaves ${w1} and ${w2} in ${base}@${at}`)
        }
        expect(c.text()).toBe(a.text())
      }
    })
  }

  it('the Fugue paper\'s examples: three replicas typing backward, and forward against backward, stay whole', () => {
    const a = new Replica('alice', 'text')
    const b = new Replica('bob', 'text')
    const c = new Replica('carol', 'text')
    a.insert(0, 'Shopping')
    syncAll([a, b, c])
    type(a, 8, ' eggs', 'bwd')
    type(b, 8, ' milk', 'bwd')
    type(c, 8, ' bread', 'fwd')
    syncAll([a, b, c])
    const t = a.text() as string
    for (const w of [' eggs', ' milk', ' bread']) expect(t).toContain(w)
    expect(t.length).toBe(8 + 5 + 5 + 6)
    expect(b.text()).toBe(t)
    expect(c.text()).toBe(t)
  })

  it('ties between concurrent siblings follow replica ids, not local indices', () => {
    // b knows the replicas in another order than a: same result
    const a = new Replica('zed', 'text', ['amy'])
    const b = new Replica('amy', 'text', ['zed'])
    a.insert(0, 'Z')
    b.insert(0, 'A')
    syncAll([a, b])
    expect(a.text()).toBe('AZ')
    expect(b.text()).toBe('AZ')
  })
})
