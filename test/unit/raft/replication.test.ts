import { describe, expect, it } from 'vitest'
import type { RaftMessage } from 'aegis-replication/raft'
import { CoreCluster, bootstrapEntry } from './core-harness.js'

const hasEntry = (m: RaftMessage, index: number): boolean => m.type === 'append' && m.entries.some((e) => e.index === index)

describe('raft core: log replication', () => {
  it('replicates and commits proposals on every node', () => {
    const c = new CoreCluster(['a', 'b', 'c'])
    const leader = c.electLeader()
    for (let i = 0; i < 20; i++) c.core(leader).propose(new Uint8Array([i]))
    c.deliver()
    c.tick(3)
    for (const [, n] of c.nodes) {
      expect(n.core.log.committed).toBe(22)
      expect(n.applied.filter((e) => e.type === 'normal').map((e) => e.data[0])).toEqual([...Array(20).keys()])
    }
  })

  it('repairs a follower whose log diverged (truncates the uncommitted suffix)', () => {
    const c = new CoreCluster(['a', 'b', 'c'])
    const old = c.electLeader()
    // the old leader appends entries nobody receives
    c.isolate(old)
    for (let i = 0; i < 5; i++) c.core(old).propose(new Uint8Array([100 + i]))
    c.deliver()
    c.tick(40)
    const next = c.leaders().find((id) => id !== old)!
    expect(next).toBeDefined()
    for (let i = 0; i < 3; i++) c.core(next).propose(new Uint8Array([i]))
    c.deliver()
    c.heal()
    c.tick(30)
    const reference = c.logOf(c.leaders()[0])
    for (const id of ['a', 'b', 'c']) expect(c.logOf(id)).toEqual(reference)
    for (const [, n] of c.nodes) expect(n.applied.some((e) => e.data[0] >= 100)).toBe(false)
  })

  it('backtracks quickly over a long conflicting suffix (conflict-term hints)', () => {
    const c = new CoreCluster(['a', 'b', 'c'])
    const old = c.electLeader()
    c.isolate(old)
    for (let i = 0; i < 200; i++) c.core(old).propose(new Uint8Array([1]))
    c.deliver()
    c.tick(40)
    const next = c.leaders().find((id) => id !== old)!
    c.core(next).propose(new Uint8Array([2]))
    c.deliver()
    c.heal()
    let rejects = 0
    c.filter = (m) => { if (m.type === 'append-resp' && m.reject) rejects++; return true }
    c.tick(30)
    expect(c.logOf(old)).toEqual(c.logOf(next))
    expect(rejects).toBeLessThanOrEqual(3) // one probe per conflicting term, not one per entry
  })

  it('pipelines appends but never has more than maxInflightMessages unacknowledged', () => {
    const c = new CoreCluster(['a', 'b', 'c'], { maxInflightMessages: 3, maxMessageBytes: 1 })
    const leader = c.electLeader()
    const follower = [...c.nodes.keys()].find((id) => id !== leader)!
    const held: RaftMessage[] = []
    c.filter = (m) => { if (m.from === leader && m.to === follower && m.type === 'append') { held.push(m); return false } return true }
    for (let i = 0; i < 20; i++) c.core(leader).propose(new Uint8Array([i]))
    c.deliver()
    expect(held.filter((m) => m.type === 'append' && m.entries.length > 0).length).toBe(3)
    c.heal()
    c.tick(10)
    expect(c.core(follower).log.lastIndex()).toBe(c.core(leader).log.lastIndex())
  })

  it('figure 8: a leader does not commit an entry of an earlier term by counting replicas', () => {
    const ids = ['a', 'b', 'c', 'd', 'e']
    const c = new CoreCluster([], { maxMessageBytes: 1, checkQuorum: false }) // one entry per append; no leases
    const boot = bootstrapEntry(ids)
    const t2 = { term: 2, index: 2, type: 'normal' as const, data: new Uint8Array([2]) }
    const t3 = { term: 3, index: 2, type: 'normal' as const, data: new Uint8Array([3]) }
    const hs = { term: 3, vote: null, commit: 1 }
    c.add('a', { hardState: hs, entries: [boot, t2] })
    c.add('b', { hardState: hs, entries: [boot, t2] })
    c.add('c', { hardState: hs, entries: [boot] })
    c.add('d', { hardState: hs, entries: [boot] })
    c.add('e', { hardState: hs, entries: [boot, t3] })
    // a wins term 4 (votes of a, b, c, d), but its own no-op (index 3) never leaves it
    c.filter = (m) => {
      if (hasEntry(m, 3) && m.type === 'append') m.entries = m.entries.filter((e) => e.index < 3)
      return m.to !== 'e' && m.from !== 'e'
    }
    c.core('a').campaignNow()
    c.deliver()
    c.tick(3, ['a'])
    expect(c.core('a').role).toBe('leader')
    expect(c.core('a').term).toBe(4)
    // index 2 (term 2) is now on a, b, c, d: a majority, yet not committed
    for (const id of ['b', 'c', 'd']) expect(c.core(id).log.termAt(2)).toBe(2)
    expect(c.core('a').log.committed).toBe(1)
    // …rightly so: without a, e can still win and overwrite index 2
    c.filter = (m) => m.from !== 'a' && m.to !== 'a'
    c.core('e').campaignNow() // learns term 4 from the rejections
    c.deliver()
    c.core('e').campaignNow()
    c.deliver()
    expect(c.core('e').role).toBe('leader')
    c.tick(5)
    for (const id of ['b', 'c', 'd', 'e']) expect(c.core(id).log.termAt(2)).toBe(3)
  })
})
