/**
 * Defect 3 of issue 10 and the bounded uncommitted log: a command over the
 * storage's record limit used to be appended by the leader, whose own
 * append then failed and halted the node. `maxEntryBytes` refuses it at
 * `propose` (EntryTooLargeError, the node keeps going), and
 * `maxUncommittedBytes` turns a leader that cannot commit into
 * back-pressure (a retryable ProposalDroppedError) instead of memory growth.
 */
import { describe, expect, it } from 'vitest'
import { EntryTooLargeError, MemoryRaftStorage, encodeConfChange, ProposalDroppedError, RaftCore, type Entry } from 'aegis-replication/raft'
import { Prng } from 'aegis-replication/testing'
import { enc, fakePeers, track } from './fake-peers.js'

/** A storage that, like the file storage, refuses records over a size (here 2 KiB). */
class LimitedStorage extends MemoryRaftStorage {
  override async append (entries: Entry[]): Promise<void> {
    for (const e of entries) if (e.data.length > 2048) throw new RangeError(`record of ${e.data.length} bytes is over the limit`)
    await super.append(entries)
  }
}

describe('entry size limits', () => {
  it('a command over maxEntryBytes rejects with EntryTooLargeError and the node keeps committing', async () => {
    const c = await fakePeers({ maxEntryBytes: 1024 })
    await c.until(() => c.node.isLeader())
    const big = track(c.node.propose(new Uint8Array(1100)))
    await c.run(50)
    expect(big.error).toBeInstanceOf(EntryTooLargeError)
    expect((big.error as EntryTooLargeError).limit).toBe(1024)
    expect(big.error!.name).toBe('EntryTooLargeError')
    const ok = track(c.node.propose(new Uint8Array(900)))
    await c.until(() => ok.settled)
    expect(ok.error).toBeUndefined()
    expect(c.node.status().lastIndex).toBe(3) // bootstrap, noop, the 900-byte command
    await c.node.stop()
  })

  it('the default limit (1 MiB) refuses a record the storage could not write, instead of halting', async () => {
    const { RaftNode } = await import('aegis-replication/raft')
    const { InMemoryNetwork } = await import('aegis-replication/transport')
    const net = new InMemoryNetwork({ seed: 2 })
    const { Counter } = await import('./fake-peers.js')
    const node = new RaftNode({ nodeId: 'solo', peers: [] }, new LimitedStorage(), net.createTransport('solo'), new Counter(), { clock: net.clockFor('solo'), random: new Prng(1) })
    await node.start()
    await net.clock.runUntilAsync(() => node.isLeader(), 5000)
    const big = track(node.propose(new Uint8Array((1 << 20) + 1)))
    await net.clock.runForAsync(50)
    expect(big.error).toBeInstanceOf(EntryTooLargeError)
    const next = track(node.propose(enc('small')))
    await net.clock.runUntilAsync(() => next.settled, 5000)
    expect(next.error).toBeUndefined() // still running
    await node.stop()
  })
})

describe('maxUncommittedBytes', () => {
  it('a leader that cannot commit refuses proposals past the limit (retryable), and accepts again once they commit', async () => {
    const c = await fakePeers({ maxUncommittedBytes: 4096 })
    await c.until(() => c.node.isLeader())
    await c.until(() => c.node.status().commit === 2)
    c.state.acking = false
    const accepted: Array<ReturnType<typeof track<Uint8Array>>> = []
    let refused: Error | undefined
    for (let i = 0; i < 20 && refused === undefined; i++) {
      const p = track(c.node.propose(new Uint8Array(1000)))
      await c.run(1)
      if (p.error !== undefined) refused = p.error
      else accepted.push(p)
    }
    expect(refused).toBeInstanceOf(ProposalDroppedError)
    expect(refused!.message).toMatch(/maxUncommittedBytes/)
    expect(accepted.length).toBeGreaterThanOrEqual(3)
    expect(accepted.length).toBeLessThanOrEqual(4)
    c.state.acking = true
    await c.until(() => accepted.every((p) => p.settled))
    for (const p of accepted) expect(p.error).toBeUndefined()
    const again = track(c.node.propose(new Uint8Array(1000)))
    await c.until(() => again.settled)
    expect(again.error).toBeUndefined()
    await c.node.stop()
  })

  it('in the core: one entry is always accepted when nothing is pending; committing frees the budget', () => {
    const boot = { term: 1, index: 1, type: 'conf-change' as const, data: encodeConfChange({ op: 'promote', node: 'a', conf: { voters: ['a'], learners: [] } }) }
    const core = new RaftCore({ id: 'a', electionTicks: { min: 10, max: 20 }, heartbeatTicks: 2, random: new Prng(1), maxUncommittedBytes: 100, maxEntryBytes: 1000 },
      { hardState: { term: 1, vote: null, commit: 1 }, entries: [boot] })
    core.campaignNow()
    expect(core.role).toBe('leader')
    const drain = (): void => { while (core.hasReady()) core.advance(core.ready()) }
    drain()
    expect(() => core.propose(new Uint8Array(1001))).toThrow(EntryTooLargeError)
    core.propose(new Uint8Array(150)) // over the budget, but nothing is pending
    expect(() => core.propose(new Uint8Array(10))).toThrow(ProposalDroppedError)
    drain() // persisted: the single voter commits it
    core.propose(new Uint8Array(60))
    expect(() => core.propose(new Uint8Array(60))).toThrow(ProposalDroppedError)
  })
})
