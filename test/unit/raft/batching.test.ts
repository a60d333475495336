/**
 * Issue 10 (throughput): proposals made together travel together, each
 * waiter still settles with its own outcome, a proposal deadline costs no
 * timer of its own, and a hard state that only moved `commit` holds back
 * neither acknowledgements nor applying (while a changed term or vote is
 * still durable before any message that depends on it).
 */
import { describe, expect, it } from 'vitest'
import { EntryType, ProposalDroppedError, TimeoutError, type Entry, type HardState } from 'aegis-replication/raft'
import { ProposalWaiters } from '../../../src/raft/proposal-waiters.js'
import { FakeClock } from '../../support/fake-clock.js'
import { dec, enc, fakePeers, track } from './fake-peers.js'

describe('batched proposals', () => {
  it('N proposals made in one macrotask: the first starts the loop, the other N - 1 become one storage append and one append per follower; each waiter gets its own result', async () => {
    const c = await fakePeers()
    await c.until(() => c.node.isLeader() && c.node.status().commit === 2)
    const appends: Entry[][] = []
    const append = c.storage.append.bind(c.storage)
    c.storage.append = async (entries) => { appends.push(entries); await append(entries) }
    c.received.length = 0

    const N = 20
    const ps = Array.from({ length: N }, (_, i) => track(c.node.propose(enc(`p${i}`))))
    await c.until(() => ps.every((p) => p.settled))
    await c.run(50) // one follower's acknowledgement commits: let the other's messages land too

    expect(appends.map((b) => b.map((e) => e.index))).toEqual([[3], Array.from({ length: N - 1 }, (_, i) => 4 + i)])
    for (const to of ['n2', 'n3']) {
      const withEntries = c.received.filter((m) => m.type === 'append' && m.to === to && m.entries.length > 0)
      // one message carries the whole batch (a slow follower's may also repeat the first entry)
      expect(withEntries.length).toBeLessThanOrEqual(2)
      expect(withEntries.some((m) => m.type === 'append' && m.entries.at(-1)?.index === N + 2 && m.entries[0].index <= 4)).toBe(true)
    }
    // the counter answers each command with its position: every waiter got its own
    expect(ps.map((p) => dec(p.value!))).toEqual(Array.from({ length: N }, (_, i) => String(i + 1)))
    expect(c.sm.applied).toEqual(Array.from({ length: N }, (_, i) => `p${i}`))
    await c.node.stop()
  })

  it('a batch a new leader overwrites rejects every waiter with ProposalDroppedError, and none times out later', async () => {
    const c = await fakePeers()
    await c.until(() => c.node.isLeader() && c.node.status().commit === 2)
    const t1 = c.node.status().term
    c.state.acking = false
    const ps = Array.from({ length: 10 }, (_, i) => track(c.node.propose(enc(`lost${i}`))))
    await c.run(30)
    expect(c.node.status().lastIndex).toBe(12)

    // n2 leads term t1 + 1 and commits its own noop at 3 over the batch
    c.state.voting = false
    c.send({ type: 'append', from: 'n2', to: 'n1', term: t1 + 1, index: 2, logTerm: t1, entries: [{ term: t1 + 1, index: 3, type: EntryType.Noop, data: new Uint8Array(0) }], commit: 3 })
    await c.until(() => !c.node.isLeader() && c.node.status().commit === 3)
    // n1 is elected again and commits past the overwritten indices
    c.state.voting = true
    c.state.acking = true
    await c.until(() => c.node.isLeader())
    const after = Array.from({ length: 10 }, (_, i) => track(c.node.propose(enc(`new${i}`))))
    await c.until(() => ps.every((p) => p.settled) && after.every((p) => p.settled))
    for (const p of ps) expect(p.error).toBeInstanceOf(ProposalDroppedError)
    for (const p of after) expect(p.error).toBeUndefined()
    // past the request timeout nothing else settles (a settled waiter left no live deadline)
    await c.run(3000)
    for (const p of ps) expect(p.error).toBeInstanceOf(ProposalDroppedError)
    await c.node.stop()
  })
})

describe('proposal deadlines', () => {
  it('waiters whose deadlines fall in the same millisecond share one timer; each times out with its own error unless settled', () => {
    const clock = new FakeClock()
    const w = new ProposalWaiters(clock)
    const out: Array<{ i: number, error?: Error, value?: Uint8Array }> = []
    for (let i = 0; i < 100; i++) {
      w.add({ term: 1, index: 10 + i, resolve: (value) => out.push({ i, value }), reject: (error) => out.push({ i, error }) }, 1000, () => new TimeoutError(`#${i}`))
    }
    expect(clock.timers).toHaveLength(1)
    for (let i = 0; i < 50; i++) w.settle(10 + i, 1, () => ({ result: enc(`r${i}`) }))
    expect(w.size).toBe(50)
    clock.advance(999)
    expect(out).toHaveLength(50)
    clock.advance(1)
    expect(out).toHaveLength(100)
    expect(w.size).toBe(0)
    for (const o of out) {
      if (o.i < 50) expect(dec(o.value!)).toBe(`r${o.i}`)
      else expect(o.error?.message).toBe(`#${o.i}`)
    }
  })

  it("a bucket's timer is cleared once all its waiters settled; later deadlines get their own bucket", () => {
    const clock = new FakeClock()
    const w = new ProposalWaiters(clock)
    let timeouts = 0
    clock.advance(0.2)
    w.add({ term: 1, index: 1, resolve: () => {}, reject: () => { timeouts++ } }, 500, () => new TimeoutError('a'))
    clock.advance(0.5)
    w.add({ term: 1, index: 2, resolve: () => {}, reject: () => { timeouts++ } }, 500, () => new TimeoutError('b')) // same millisecond
    clock.advance(1)
    w.add({ term: 1, index: 3, resolve: () => {}, reject: () => { timeouts++ } }, 500, () => new TimeoutError('c'))
    expect(clock.timers.filter((t) => !t.cleared)).toHaveLength(2)
    w.settle(1, 1, () => ({ result: enc('') }))
    w.settle(2, 1, () => ({ result: enc('') }))
    expect(clock.timers.filter((t) => !t.cleared)).toHaveLength(1)
    clock.advance(1000)
    expect(timeouts).toBe(1)
  })
})

describe('hard-state writes', () => {
  /** Holds `saveHardState` calls for which `hold(hs)` is true until `release()`. */
  const gate = (c: Awaited<ReturnType<typeof fakePeers>>, hold: (hs: HardState, saved: HardState) => boolean) => {
    const save = c.storage.saveHardState.bind(c.storage)
    const held: Array<() => void> = []
    let saved = { ...c.storage.hardState }
    c.storage.saveHardState = async (hs) => {
      if (hold(hs, saved)) await new Promise<void>((resolve) => held.push(resolve))
      saved = { ...hs }
      await save(hs)
    }
    return { held, release: () => { for (const r of held.splice(0)) r() } }
  }

  it('a hard state that only moved commit does not hold back applying: the proposal resolves while that write is pending', async () => {
    const c = await fakePeers()
    await c.until(() => c.node.isLeader() && c.node.status().commit === 2)
    const g = gate(c, (hs, saved) => hs.term === saved.term && hs.vote === saved.vote)
    const p = track(c.node.propose(enc('x')))
    await c.until(() => p.settled)
    expect(dec(p.value!)).toBe('1')
    expect(g.held.length).toBe(1) // the commit write is still pending
    g.release()
    await c.until(() => c.storage.hardState.commit === 3)
    await c.node.stop()
  })

  it('a changed term and vote are durable before the vote is answered', async () => {
    const c = await fakePeers()
    await c.until(() => c.node.isLeader() && c.node.status().commit === 2)
    const term = c.node.status().term
    const g = gate(c, (hs, saved) => hs.term !== saved.term || hs.vote !== saved.vote)
    c.received.length = 0
    const last = c.node.status().lastIndex
    c.send({ type: 'vote', from: 'n2', to: 'n1', term: term + 1, index: last, logTerm: term, transfer: false })
    await c.until(() => g.held.length === 1)
    await c.run(50)
    expect(c.received.some((m) => m.type === 'vote-resp')).toBe(false)
    g.release()
    await c.until(() => c.received.some((m) => m.type === 'vote-resp'))
    expect(c.storage.hardState).toMatchObject({ term: term + 1, vote: 'n2' })
    await c.node.stop()
  })
})
