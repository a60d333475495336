import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { HashRing } from '../../../src/hash/index.js'
import { InvalidArgumentError } from '../../../src/errors.js'

const SEED = Number(process.env.FC_SEED ?? 0x5eed)
const NODES = Array.from({ length: 10 }, (_, i) => `node-${i}`)
const KEYS = Array.from({ length: 100_000 }, (_, i) => `key-${i}`)

const ringOf = (nodes: string[], vnodes = 150): HashRing => {
  const r = new HashRing(vnodes)
  for (const n of nodes) r.addNode(n)
  return r
}

describe('HashRing', () => {
  it('is empty at first', () => {
    const r = new HashRing()
    expect(r.vnodesPerNode).toBe(150)
    expect(r.getNode('k')).toBeUndefined()
    expect(r.getNodes('k', 3)).toEqual([])
  })

  it('gives the same answers in every runtime (pinned values)', () => {
    const r = ringOf(NODES)
    expect(['user:1', 'user:2', 'doc:42', 'ёлка', ''].map((k) => r.getNode(k))).toEqual(STABLE_NODE)
    expect(r.getNodes('doc:42', 3)).toEqual(STABLE_NODES)
  })

  it('does not depend on the order nodes are added', () => {
    const a = ringOf(NODES)
    const b = ringOf([...NODES].reverse())
    for (const k of KEYS.slice(0, 2000)) expect(b.getNode(k)).toBe(a.getNode(k))
  })

  it('getNodes gives n distinct nodes, getNode first, fewer if there are fewer nodes', () => {
    const r = ringOf(NODES)
    fc.assert(fc.property(fc.string(), fc.integer({ min: 0, max: 12 }), (key, n) => {
      const nodes = r.getNodes(key, n)
      expect(nodes.length).toBe(Math.min(n, NODES.length))
      expect(new Set(nodes).size).toBe(nodes.length)
      if (n > 0) expect(nodes[0]).toBe(r.getNode(key))
      // a prefix of the longer list: the order is stable
      expect(r.getNodes(key, 12).slice(0, nodes.length)).toEqual(nodes)
    }), { seed: SEED, numRuns: 500 })
    expect(ringOf(['a', 'b']).getNodes('k', 5).sort()).toEqual(['a', 'b'])
  })

  it('balances 10 nodes (peak/mean < 1.25)', () => {
    const r = ringOf(NODES)
    const load = new Map<string, number>()
    for (const k of KEYS) { const n = r.getNode(k)!; load.set(n, (load.get(n) ?? 0) + 1) }
    expect(load.size).toBe(10)
    expect(Math.max(...load.values()) / (KEYS.length / 10)).toBeLessThan(1.25)
  })

  it('moves keys only to a joining node, about 1/11 of them', () => {
    const before = ringOf(NODES)
    const after = ringOf([...NODES, 'node-10'])
    let moved = 0
    for (const k of KEYS) {
      const a = before.getNode(k)
      const b = after.getNode(k)
      if (a !== b) {
        moved++
        expect(b).toBe('node-10')
      }
    }
    expect(moved / KEYS.length).toBeLessThan(1.5 / 11)
    expect(moved / KEYS.length).toBeGreaterThan(0.5 / 11)
  })

  it('moves only the keys of a removed node', () => {
    const r = ringOf(NODES)
    const before = KEYS.slice(0, 20_000).map((k) => r.getNode(k))
    expect(r.removeNode('node-3')).toBe(true)
    expect(r.removeNode('node-3')).toBe(false)
    expect(r.has('node-3')).toBe(false)
    KEYS.slice(0, 20_000).forEach((k, i) => {
      const now = r.getNode(k)
      if (before[i] !== 'node-3') expect(now).toBe(before[i])
      else expect(now).not.toBe('node-3')
    })
  })

  it('roughly respects weights', () => {
    const r = new HashRing().addNode('a', 1).addNode('b', 2).addNode('c', 3)
    expect(r.weightOf('c')).toBe(3)
    const load: Record<string, number> = { a: 0, b: 0, c: 0 }
    for (const k of KEYS) load[r.getNode(k)!]++
    const total = KEYS.length
    expect(load.a / total).toBeGreaterThan((1 / 6) * 0.8)
    expect(load.a / total).toBeLessThan((1 / 6) * 1.2)
    expect(load.c / total).toBeGreaterThan((3 / 6) * 0.8)
    expect(load.c / total).toBeLessThan((3 / 6) * 1.2)
  })

  it('takes byte keys like their UTF-8 string', () => {
    const r = ringOf(NODES)
    expect(r.getNode(new TextEncoder().encode('ёлка'))).toBe(r.getNode('ёлка'))
  })

  it('rejects bad arguments', () => {
    for (const v of [0, -1, 1.5, NaN, 2_000_000]) expect(() => new HashRing(v)).toThrow(InvalidArgumentError)
    expect(() => new HashRing(0)).toThrow(/vnodesPerNode must be an integer/)
    expect(() => new HashRing(150, { probes: 0 })).toThrow(InvalidArgumentError)
    const r = ringOf(NODES)
    for (const n of [-1, 1.5, NaN]) expect(() => r.getNodes('k', n)).toThrow(InvalidArgumentError)
    for (const w of [0, -1, NaN, Infinity]) expect(() => r.addNode('x', w)).toThrow(InvalidArgumentError)
    expect(() => r.addNode('x', 1e9)).toThrow(InvalidArgumentError)
    expect(() => r.addNode(1 as unknown as string)).toThrow(InvalidArgumentError)
    expect(() => r.getNode(7 as unknown as string)).toThrow(InvalidArgumentError)
  })
})

/** Pinned: a change here changes where every stored key lives. */
const STABLE_NODE = ['node-4', 'node-6', 'node-9', 'node-1', 'node-3']
const STABLE_NODES = ['node-9', 'node-1', 'node-0']
