import { describe, expect, it } from 'vitest'
import { ConfChangeError, NotLeaderError, type RaftMessage } from 'aegis-replication/raft'
import { CoreCluster } from './core-harness.js'

describe('raft core: snapshots', () => {
  it('a lagging follower catches up through a snapshot sent in chunks', () => {
    const c = new CoreCluster(['a', 'b', 'c'], { snapshotChunkBytes: 16 })
    const leader = c.electLeader()
    const lagging = [...c.nodes.keys()].find((id) => id !== leader)!
    c.isolate(lagging)
    for (let i = 0; i < 30; i++) c.core(leader).propose(new Uint8Array([i]))
    c.deliver()
    const commit = c.core(leader).log.committed
    const data = new Uint8Array(100).map((_, i) => i)
    c.core(leader).compact(commit, data)
    expect(c.core(leader).log.firstIndex()).toBe(commit + 1)
    let chunks = 0
    c.filter = (m: RaftMessage) => { if (m.type === 'snapshot') chunks++; return true }
    c.tick(20)
    const n = c.nodes.get(lagging)!
    expect(n.snapshot?.index).toBe(commit)
    expect(n.snapshot?.data).toEqual(data)
    expect(chunks).toBeGreaterThanOrEqual(7) // 100 bytes in 16-byte chunks
    expect(n.core.log.committed).toBeGreaterThanOrEqual(commit)
    // and replication continues after it
    c.core(leader).propose(new Uint8Array([99]))
    c.tick(5)
    expect(n.core.log.lastIndex()).toBe(c.core(leader).log.lastIndex())
  })

  it('a lost chunk is resent after a timeout', () => {
    const c = new CoreCluster(['a', 'b', 'c'], { snapshotChunkBytes: 8 })
    const leader = c.electLeader()
    const lagging = [...c.nodes.keys()].find((id) => id !== leader)!
    c.isolate(lagging)
    for (let i = 0; i < 5; i++) c.core(leader).propose(new Uint8Array([i]))
    c.deliver()
    c.core(leader).compact(c.core(leader).log.committed, new Uint8Array(40).fill(7))
    let dropped = 0
    c.filter = (m) => { if (m.type === 'snapshot' && m.offset === 16 && dropped < 2) { dropped++; return false } return true }
    c.tick(60)
    expect(dropped).toBe(2)
    expect(c.nodes.get(lagging)!.snapshot?.data).toEqual(new Uint8Array(40).fill(7))
  })
})

describe('raft core: membership', () => {
  it('adds a node as a learner, then promotes it once it caught up', () => {
    const c = new CoreCluster(['a', 'b', 'c'])
    const leader = c.electLeader()
    for (let i = 0; i < 10; i++) c.core(leader).propose(new Uint8Array([i]))
    c.deliver()
    c.add('d', { hardState: { term: 0, vote: null, commit: 0 }, entries: [] })
    c.core(leader).proposeConfChange('add-learner', 'd')
    c.deliver()
    expect(c.core(leader).status().conf.learners).toEqual(['d'])
    c.tick(10)
    expect(c.core(leader).status().conf.voters).toEqual(['a', 'b', 'c', 'd'])
    expect(c.core('d').status().conf.voters).toContain('d')
    expect(c.logOf('d')).toEqual(c.logOf(leader))
  })

  it('allows one change at a time', () => {
    const c = new CoreCluster(['a', 'b', 'c'])
    const leader = c.electLeader()
    c.core(leader).proposeConfChange('add-learner', 'x')
    expect(() => c.core(leader).proposeConfChange('add-learner', 'y')).toThrow(ConfChangeError)
    expect(() => c.core([...c.nodes.keys()].find((id) => id !== leader)!).proposeConfChange('remove', 'a')).toThrow(NotLeaderError)
  })

  it('removes a follower; the remaining two keep committing', () => {
    const c = new CoreCluster(['a', 'b', 'c'])
    const leader = c.electLeader()
    const victim = [...c.nodes.keys()].find((id) => id !== leader)!
    c.core(leader).proposeConfChange('remove', victim)
    c.deliver()
    c.nodes.delete(victim)
    const { index } = c.core(leader).propose(new Uint8Array([1]))
    c.tick(3)
    expect(c.core(leader).log.committed).toBeGreaterThanOrEqual(index)
  })

  it('a leader that removes itself steps down once the change commits', () => {
    const c = new CoreCluster(['a', 'b', 'c'])
    const leader = c.electLeader()
    c.core(leader).proposeConfChange('remove', leader)
    c.deliver()
    c.tick(2)
    expect(c.core(leader).role).toBe('follower')
    c.nodes.delete(leader)
    const next = c.electLeader()
    expect(next).not.toBe(leader)
  })
})

describe('raft core: leadership transfer', () => {
  it('TimeoutNow hands leadership to a caught-up follower', () => {
    const c = new CoreCluster(['a', 'b', 'c'])
    const leader = c.electLeader()
    const to = [...c.nodes.keys()].find((id) => id !== leader)!
    const term = c.core(leader).term
    c.core(leader).transferLeadership(to)
    expect(() => c.core(leader).propose(new Uint8Array([1]))).toThrow(NotLeaderError)
    c.deliver()
    expect(c.leaders()).toEqual([to])
    expect(c.core(to).term).toBe(term + 1)
  })

  it('brings a lagging transferee up to date first', () => {
    const c = new CoreCluster(['a', 'b', 'c'])
    const leader = c.electLeader()
    const to = [...c.nodes.keys()].find((id) => id !== leader)!
    c.isolate(to)
    for (let i = 0; i < 5; i++) c.core(leader).propose(new Uint8Array([i]))
    c.deliver()
    c.heal()
    c.core(leader).transferLeadership(to)
    c.deliver()
    c.tick(3)
    expect(c.leaders()).toEqual([to])
  })
})

describe('raft core: ReadIndex', () => {
  it('a leader answers a read after a heartbeat round, without a log write', () => {
    const c = new CoreCluster(['a', 'b', 'c'])
    const leader = c.electLeader()
    c.tick(3)
    const last = c.core(leader).log.lastIndex()
    c.core(leader).readIndex(7)
    c.deliver()
    expect(c.nodes.get(leader)!.reads).toEqual([{ ctx: 7, index: c.core(leader).log.committed }])
    expect(c.core(leader).log.lastIndex()).toBe(last)
  })

  it('an isolated leader cannot confirm a read', () => {
    const c = new CoreCluster(['a', 'b', 'c'], { checkQuorum: false })
    const leader = c.electLeader()
    c.tick(3)
    c.isolate(leader)
    c.core(leader).readIndex(1)
    c.tick(5)
    expect(c.nodes.get(leader)!.reads).toEqual([])
  })

  it('a follower gets its read index from the leader', () => {
    const c = new CoreCluster(['a', 'b', 'c'])
    const leader = c.electLeader()
    c.tick(3)
    const f = [...c.nodes.keys()].find((id) => id !== leader)!
    c.core(f).readIndex(3)
    c.deliver()
    expect(c.nodes.get(f)!.reads).toEqual([{ ctx: 3, index: c.core(leader).log.committed }])
  })

  it('a new leader answers reads only after committing an entry of its term', () => {
    const c = new CoreCluster(['a', 'b', 'c'])
    const held: RaftMessage[] = []
    c.filter = (m) => { if (m.type === 'append-resp') { held.push(m); return false } return true }
    const leader = c.electLeader()
    c.core(leader).readIndex(5)
    c.tick(3)
    expect(c.nodes.get(leader)!.reads).toEqual([])
    c.heal()
    c.tick(3)
    expect(c.nodes.get(leader)!.reads.map((r) => r.ctx)).toEqual([5])
  })
})
