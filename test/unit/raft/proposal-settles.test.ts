/**
 * Defect 4 of issue 10: waiters were keyed by log index only. A leader
 * that lost its uncommitted tail and was elected again proposed at an index
 * it had used before; the new waiter replaced the old one, whose promise
 * then never settled (its timeout found another waiter and gave up).
 */
import { describe, expect, it } from 'vitest'
import { EntryType, ProposalDroppedError, RaftStoppedError } from 'aegis-replication/raft'
import { enc, fakePeers, track } from './fake-peers.js'

describe('every proposal settles', () => {
  it('a re-elected leader proposing at an index it used before: the overwritten proposals reject with ProposalDroppedError', async () => {
    const c = await fakePeers()
    await c.until(() => c.node.isLeader())
    const t1 = c.node.status().term // noop at 2
    await c.until(() => c.node.status().commit === 2)

    // three proposals at 3, 4, 5 that no follower acknowledges
    c.state.acking = false
    const a = [track(c.node.propose(enc('a3'))), track(c.node.propose(enc('a4'))), track(c.node.propose(enc('a5')))]
    await c.run(30)
    expect(c.node.status().lastIndex).toBe(5)

    // n2 leads term t1 + 1 and overwrites index 3 with its noop: n1 loses its tail (3..5)
    c.state.voting = false
    c.send({ type: 'append', from: 'n2', to: 'n1', term: t1 + 1, index: 2, logTerm: t1, entries: [{ term: t1 + 1, index: 3, type: EntryType.Noop, data: new Uint8Array(0) }], commit: 2 })
    await c.until(() => c.node.status().lastIndex === 3 && !c.node.isLeader())

    // n1 is elected again (noop at 4) and proposes at 5, the index of a5
    c.state.voting = true
    await c.until(() => c.node.isLeader())
    const b = track(c.node.propose(enc('b5')))
    await c.run(30)
    expect(c.node.status().lastIndex).toBe(5)

    // everything commits: b5 resolves; a3, a4 and a5 (whose slot b5 took) reject as dropped
    c.state.acking = true
    await c.until(() => b.settled && a.every((x) => x.settled), 10_000)
    expect(b.error).toBeUndefined()
    for (const x of a) expect(x.error).toBeInstanceOf(ProposalDroppedError)
    expect(c.sm.applied).toEqual(['b5'])
    expect(ProposalDroppedError.name).toBe('ProposalDroppedError')
    await c.node.stop()
  })

  it('a proposal waits for its entry across a leadership change and resolves when a later leader commits it', async () => {
    const c = await fakePeers()
    await c.until(() => c.node.isLeader())
    const t1 = c.node.status().term
    await c.until(() => c.node.status().commit === 2)
    c.state.acking = false
    const p = track(c.node.propose(enc('x')))
    await c.run(30)
    // n2 wins term t1 + 1 holding n1's entry at 3 and commits it
    c.state.voting = false
    c.send({ type: 'append', from: 'n2', to: 'n1', term: t1 + 1, index: 3, logTerm: t1, entries: [{ term: t1 + 1, index: 4, type: EntryType.Noop, data: new Uint8Array(0) }], commit: 4 })
    await c.until(() => p.settled)
    expect(p.value).toEqual(enc('1'))
    await c.node.stop()
  })

  it('stop rejects every pending proposal with RaftStoppedError', async () => {
    const c = await fakePeers()
    await c.until(() => c.node.isLeader())
    c.state.acking = false
    const ps = [track(c.node.propose(enc('x'))), track(c.node.propose(enc('y')))]
    await c.run(10)
    await c.node.stop()
    await c.run(1)
    for (const p of ps) expect(p.error).toBeInstanceOf(RaftStoppedError)
  })
})
