import { describe, expect, it } from 'vitest'
import { CoreCluster } from './core-harness.js'

describe('raft core: elections', () => {
  it('elects exactly one leader that every node follows', () => {
    const c = new CoreCluster(['a', 'b', 'c'])
    const leader = c.electLeader()
    c.tick(5)
    expect(c.leaders()).toEqual([leader])
    for (const [, n] of c.nodes) expect(n.core.leaderId).toBe(leader)
    // the leader's no-op of its term commits everywhere
    const term = c.core(leader).term
    for (const [, n] of c.nodes) {
      expect(n.core.log.committed).toBe(2)
      expect(n.core.log.termAt(2)).toBe(term)
    }
  })

  it('a single-node cluster elects itself and commits alone', () => {
    const c = new CoreCluster(['solo'])
    expect(c.electLeader()).toBe('solo')
    const { index } = c.core('solo').propose(new Uint8Array([1]))
    c.deliver()
    expect(c.core('solo').log.committed).toBe(index)
    expect(c.nodes.get('solo')!.applied.map((e) => e.index)).toContain(index)
  })

  it('a node with a stale log cannot win (election restriction)', () => {
    const c = new CoreCluster(['a', 'b', 'c'])
    const leader = c.electLeader()
    const lagging = [...c.nodes.keys()].find((id) => id !== leader)!
    c.filter = (m) => m.to !== lagging && m.from !== lagging
    c.core(leader).propose(new Uint8Array([1]))
    c.deliver()
    // the leader dies; the lagging node campaigns first but needs the third node's vote
    c.filter = (m) => m.to !== leader && m.from !== leader
    c.nodes.get(lagging)!.core.campaignNow()
    c.deliver()
    c.tick(3)
    expect(c.core(lagging).role).not.toBe('leader')
    const winner = c.electLeader()
    expect(winner).not.toBe(lagging)
    expect(winner).not.toBe(leader === winner ? '' : leader)
  })

  it('pre-vote keeps a rejoining partitioned node from disrupting the leader', () => {
    const c = new CoreCluster(['a', 'b', 'c'])
    const leader = c.electLeader()
    const term = c.core(leader).term
    const loner = [...c.nodes.keys()].find((id) => id !== leader)!
    c.isolate(loner)
    c.tick(200)
    // pre-votes never raise the loner's term
    expect(c.core(loner).term).toBe(term)
    c.heal()
    c.tick(50)
    expect(c.leaders()).toEqual([leader])
    expect(c.core(leader).term).toBe(term)
  })

  it('without pre-vote the same rejoin would raise the term (the disruption pre-vote prevents)', () => {
    const c = new CoreCluster(['a', 'b', 'c'], { preVote: false, checkQuorum: false })
    const leader = c.electLeader()
    const term = c.core(leader).term
    const loner = [...c.nodes.keys()].find((id) => id !== leader)!
    c.isolate(loner)
    c.tick(200)
    expect(c.core(loner).term).toBeGreaterThan(term)
  })

  it('check-quorum: a leader cut off from the majority steps down', () => {
    const c = new CoreCluster(['a', 'b', 'c'])
    const leader = c.electLeader()
    c.isolate(leader)
    c.tick(30, [leader])
    expect(c.core(leader).role).not.toBe('leader')
    expect(c.core(leader).leaderId).toBeUndefined()
  })

  it('followers in a leader lease ignore a higher-term vote request', () => {
    const c = new CoreCluster(['a', 'b', 'c'])
    const leader = c.electLeader()
    const f = [...c.nodes.keys()].find((id) => id !== leader)!
    const term = c.core(f).term
    c.core(f).step({ type: 'vote', from: 'x', to: f, term: term + 5, index: 100, logTerm: 100, transfer: false })
    expect(c.core(f).term).toBe(term)
  })
})
