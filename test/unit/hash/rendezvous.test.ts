import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Rendezvous } from '../../../src/hash/index.js'
import { InvalidArgumentError } from '../../../src/errors.js'

const SEED = Number(process.env.FC_SEED ?? 0x5eed)
const NODES = Array.from({ length: 10 }, (_, i) => `node-${i}`)
const KEYS = Array.from({ length: 60_000 }, (_, i) => `key-${i}`)

const hrwOf = (nodes: string[]): Rendezvous => {
  const r = new Rendezvous()
  for (const n of nodes) r.addNode(n)
  return r
}

describe('Rendezvous', () => {
  it('is empty at first', () => {
    expect(new Rendezvous().getNode('k')).toBeUndefined()
    expect(new Rendezvous().getNodes('k', 2)).toEqual([])
  })

  it('gives the same answers in every runtime (pinned values)', () => {
    const r = hrwOf(NODES).addNode('node-9', 2)
    expect(['user:1', 'user:2', 'doc:42', 'ёлка', ''].map((k) => r.getNode(k))).toEqual(STABLE_NODE)
    expect(r.getNodes('doc:42', 3)).toEqual(STABLE_NODES)
  })

  it('getNodes gives n distinct nodes, getNode first, in a stable order', () => {
    const r = hrwOf(NODES).addNode('node-0', 3)
    fc.assert(fc.property(fc.string(), fc.integer({ min: 0, max: 12 }), (key, n) => {
      const nodes = r.getNodes(key, n)
      expect(nodes.length).toBe(Math.min(n, NODES.length))
      expect(new Set(nodes).size).toBe(nodes.length)
      if (n > 0) expect(nodes[0]).toBe(r.getNode(key))
      expect(r.getNodes(key, 12).slice(0, nodes.length)).toEqual(nodes)
    }), { seed: SEED, numRuns: 500 })
  })

  it('moves keys only to a joining node and only from a leaving one', () => {
    const r = hrwOf(NODES)
    const before = KEYS.map((k) => r.getNode(k))
    r.addNode('node-10')
    let moved = 0
    KEYS.forEach((k, i) => {
      const now = r.getNode(k)
      if (now !== before[i]) { moved++; expect(now).toBe('node-10') }
    })
    expect(moved / KEYS.length).toBeLessThan(1.5 / 11)
    r.removeNode('node-10')
    KEYS.forEach((k, i) => expect(r.getNode(k)).toBe(before[i]))
  })

  it('respects weights', () => {
    const r = new Rendezvous().addNode('a', 1).addNode('b', 2).addNode('c', 3)
    expect(r.weightOf('b')).toBe(2)
    const load: Record<string, number> = { a: 0, b: 0, c: 0 }
    for (const k of KEYS) load[r.getNode(k)!]++
    for (const [n, w] of [['a', 1], ['b', 2], ['c', 3]] as const) {
      expect(load[n] / KEYS.length).toBeGreaterThan((w / 6) * 0.9)
      expect(load[n] / KEYS.length).toBeLessThan((w / 6) * 1.1)
    }
  })

  it('balances equal weights (peak/mean < 1.25)', () => {
    const r = hrwOf(NODES)
    const load = new Map<string, number>()
    for (const k of KEYS) { const n = r.getNode(k)!; load.set(n, (load.get(n) ?? 0) + 1) }
    expect(Math.max(...load.values()) / (KEYS.length / 10)).toBeLessThan(1.25)
  })

  it('does not depend on the order nodes are added', () => {
    const a = hrwOf(NODES)
    const b = hrwOf([...NODES].reverse())
    for (const k of KEYS.slice(0, 2000)) expect(b.getNode(k)).toBe(a.getNode(k))
  })

  it('rejects bad arguments', () => {
    const r = hrwOf(NODES)
    for (const w of [0, -1, NaN, Infinity]) expect(() => r.addNode('x', w)).toThrow(InvalidArgumentError)
    for (const n of [-1, 1.5, NaN]) expect(() => r.getNodes('k', n)).toThrow(InvalidArgumentError)
    expect(() => r.getNodes('k', -1)).toThrow(/n must be a non-negative integer/)
    expect(() => r.addNode(null as unknown as string)).toThrow(InvalidArgumentError)
  })
})

/** Pinned: a change here changes where every stored key lives. */
const STABLE_NODE = ['node-3', 'node-8', 'node-7', 'node-8', 'node-4']
const STABLE_NODES = ['node-7', 'node-0', 'node-1']
