import { describe, expect, it } from 'vitest'
import { InMemoryNetwork, peerId } from 'aegis-replication/transport'
import { Prng } from 'aegis-replication/testing'
import {
  EntryType, KvStateMachine, MemoryRaftStorage, NotLeaderError, RaftKv, RaftNode, RaftStoppedError, SessionTable, TimeoutError,
  decodeKvResult, decodeRaftMessage, encodeCommand, encodeKvCommand, encodeNodeSnapshot, encodeRaftMessage,
  type Entry, type RaftMessage, type StateMachine
} from 'aegis-replication/raft'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

/** A counter state machine that records every command it applies. */
class Counter implements StateMachine {
  applied: string[] = []
  apply (cmd: Uint8Array): Uint8Array { this.applied.push(new TextDecoder().decode(cmd)); return enc(String(this.applied.length)) }
  query (): Uint8Array { return enc(String(this.applied.length)) }
  snapshot (): Uint8Array { return enc(JSON.stringify(this.applied)) }
  restore (bytes: Uint8Array): void { this.applied = JSON.parse(new TextDecoder().decode(bytes)) as string[] }
}

const cluster = async (n = 3, options: { snapshotThreshold?: number } = {}) => {
  const net = new InMemoryNetwork({ seed: 3 })
  const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`)
  const storages = new Map(ids.map((id) => [id, new MemoryRaftStorage()]))
  const sms = new Map<string, Counter>()
  const nodes = new Map<string, RaftNode>()
  const start = async (id: string, join = false): Promise<RaftNode> => {
    const t = net.getTransport(id) === undefined ? net.createTransport(id) : net.restart(id)
    if (!storages.has(id)) storages.set(id, new MemoryRaftStorage())
    const sm = new Counter()
    sms.set(id, sm)
    const node = new RaftNode({ nodeId: id, peers: ids.filter((p) => p !== id), join, requestTimeout: 500, snapshotThreshold: options.snapshotThreshold }, storages.get(id)!, t, sm,
      { clock: net.clockFor(id), random: new Prng(id.charCodeAt(1)) })
    nodes.set(id, node)
    await node.start()
    return node
  }
  for (const id of ids) await start(id)
  const leader = async (): Promise<RaftNode> => {
    await net.clock.runUntilAsync(() => [...nodes.values()].filter((x) => x.isLeader()).length === 1, 10_000)
    return [...nodes.values()].find((x) => x.isLeader())!
  }
  /** Runs the clock until `p` settles. */
  const settle = async <T>(p: Promise<T>): Promise<T> => {
    let done = false
    p.then(() => { done = true }, () => { done = true })
    await net.clock.runUntilAsync(() => done, 30_000)
    return await p
  }
  return { net, ids, nodes, storages, sms, start, leader, settle }
}

describe('RaftNode', () => {
  it('commits a proposal and resolves with the apply result; every replica applies it', async () => {
    const c = await cluster()
    const l = await c.leader()
    expect(await c.settle(l.propose(enc('x')))).toEqual(enc('1'))
    expect(await c.settle(l.propose(enc('y')))).toEqual(enc('2'))
    await c.net.clock.runForAsync(200)
    for (const sm of c.sms.values()) expect(sm.applied).toEqual(['x', 'y'])
  })

  it('a follower rejects a proposal with NotLeaderError naming the leader', async () => {
    const c = await cluster()
    const l = await c.leader()
    await c.net.clock.runForAsync(100)
    const f = [...c.nodes.values()].find((x) => x !== l)!
    const err = await f.propose(enc('x')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NotLeaderError)
    expect((err as NotLeaderError).leaderHint).toBe(l.id)
  })

  it('times out cleanly when no quorum is reachable, and a stopped node rejects', async () => {
    const c = await cluster()
    const l = await c.leader()
    c.net.partition([l.id])
    const err = await c.settle(l.propose(enc('x'))).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    expect(['TimeoutError', 'NotLeaderError', 'ProposalDroppedError']).toContain((err as Error).name)
    await l.stop()
    await expect(l.propose(enc('y'))).rejects.toBeInstanceOf(RaftStoppedError)
    await expect(l.read(enc('q'))).rejects.toBeInstanceOf(RaftStoppedError)
  })

  it('pending calls reject with RaftStoppedError when the node stops', async () => {
    const c = await cluster()
    const l = await c.leader()
    c.net.partition([l.id])
    const p = l.propose(enc('x'))
    await l.stop()
    await expect(p).rejects.toBeInstanceOf(RaftStoppedError)
    expect(TimeoutError.name).toBe('TimeoutError')
  })

  it('reads are linearizable on the leader and on followers', async () => {
    const c = await cluster()
    const l = await c.leader()
    await c.settle(l.propose(enc('x')))
    for (const n of c.nodes.values()) expect(await c.settle(n.read(enc('count')))).toEqual(enc('1'))
  })

  it('a retried proposal with the same session is applied once', async () => {
    const c = await cluster()
    const l = await c.leader()
    const session = { clientId: 'client-1', seq: 1 }
    const first = await c.settle(l.propose(enc('x'), { session }))
    const retry = await c.settle(l.propose(enc('x'), { session }))
    expect(retry).toEqual(first)
    await c.settle(l.propose(enc('y'), { session: { clientId: 'client-1', seq: 2 } }))
    await c.net.clock.runForAsync(200)
    for (const sm of c.sms.values()) expect(sm.applied).toEqual(['x', 'y'])
  })

  it('snapshots after the threshold; a restarted node recovers state and sessions from storage', async () => {
    const c = await cluster(3, { snapshotThreshold: 5 })
    const l = await c.leader()
    for (let i = 0; i < 12; i++) await c.settle(l.propose(enc(`c${i}`), { session: { clientId: 'k', seq: i + 1 } }))
    await c.net.clock.runForAsync(200)
    const f = [...c.nodes.values()].find((x) => x !== l)!
    expect(c.storages.get(f.id)!.snapshot).toBeDefined()
    await f.stop()
    c.net.crash(f.id)
    const again = await c.start(f.id)
    await c.net.clock.runForAsync(300)
    expect(c.sms.get(f.id)!.applied).toEqual(Array.from({ length: 12 }, (_, i) => `c${i}`))
    expect(again.status().snapshotIndex).toBeGreaterThan(0)
    // the session table came back with the snapshot: a retry of the last request is not re-applied
    const l2 = await c.leader()
    await c.settle(l2.propose(enc('c11'), { session: { clientId: 'k', seq: 12 } }))
    await c.net.clock.runForAsync(200)
    expect(c.sms.get(f.id)!.applied.length).toBe(12)
  })

  it('addNode brings a fresh node in (learner, then voter); removeNode takes one out', async () => {
    const c = await cluster()
    const l = await c.leader()
    for (let i = 0; i < 5; i++) await c.settle(l.propose(enc(`c${i}`)))
    const d = await c.start('n4', true)
    await c.settle(l.addNode('n4'))
    expect(l.status().conf.voters).toEqual(['n1', 'n2', 'n3', 'n4'])
    await c.net.clock.runForAsync(300)
    expect(c.sms.get('n4')!.applied).toEqual(['c0', 'c1', 'c2', 'c3', 'c4'])
    expect(d.leaderId).toBe(l.id)
    const victim = [...c.nodes.values()].find((x) => x !== l && x.id !== 'n4')!
    await c.settle(l.removeNode(victim.id))
    expect(l.status().conf.voters).not.toContain(victim.id)
  })

  it('transferLeadership moves the leader', async () => {
    const c = await cluster()
    const l = await c.leader()
    await c.settle(l.propose(enc('x')))
    const to = [...c.nodes.values()].find((x) => x !== l)!
    await c.settle(l.transferLeadership(to.id))
    await c.net.clock.runForAsync(50)
    expect(to.isLeader()).toBe(true)
  })

  it('drives the KV state machine through RaftKv', async () => {
    const net = new InMemoryNetwork({ seed: 9 })
    const ids = ['a', 'b', 'c']
    const nodes = ids.map((id) => new RaftNode({ nodeId: id, peers: ids.filter((p) => p !== id) }, new MemoryRaftStorage(), net.createTransport(id), new KvStateMachine(),
      { clock: net.clockFor(id), random: new Prng(id.charCodeAt(0)) }))
    await Promise.all(nodes.map((n) => n.start()))
    await net.clock.runUntilAsync(() => nodes.some((n) => n.isLeader()), 5_000)
    const kv = new RaftKv(nodes.find((n) => n.isLeader())!)
    let done = false
    const work = (async () => {
      await kv.put('seat', enc('alice'))
      expect(await kv.cas('seat', null, enc('bob'))).toBe(false)
      expect(await kv.get('seat')).toEqual(enc('alice'))
      done = true
    })()
    await net.clock.runUntilAsync(() => done, 5_000)
    await work
    expect(decodeKvResult(await (async () => {
      const p = nodes[0].read(encodeKvCommand({ type: 'get', key: 'seat' }))
      await net.clock.runForAsync(200)
      return await p
    })())).toEqual({ type: 'get', value: enc('alice') })
  })
})

describe('RaftNode: a leader snapshot arrives while the node takes its own', () => {
  /**
   * Sim seed 978 (3 nodes): a restarted follower applied up to its snapshot
   * threshold and started serializing its state machine; meanwhile the
   * leader's snapshot at a higher index arrived and replaced the core's log.
   * The driver then compacted at its own (older) index, which was no longer
   * in the log: `compact` threw, the node halted for good and never caught
   * up. Compacting below the installed snapshot must be a no-op instead (and
   * the older snapshot must not be saved over the newer one).
   */
  it('skips its stale compaction, installs the leader snapshot and keeps replicating', async () => {
    const net = new InMemoryNetwork({ seed: 5 })
    const leaderT = net.createTransport('n1')
    const received: RaftMessage[] = []
    leaderT.on('message', (_from, frame) => { received.push(decodeRaftMessage(frame)) })
    let release: (() => void) | undefined
    let snapshotCalls = 0
    const counter = new Counter()
    const sm: StateMachine = {
      apply: (cmd) => counter.apply(cmd),
      query: () => counter.query(),
      restore: (bytes) => counter.restore(bytes),
      // the first serialization waits until the test releases it
      snapshot: () => ++snapshotCalls > 1 ? counter.snapshot() : new Promise((resolve) => { release = () => resolve(counter.snapshot()) })
    }
    const storage = new MemoryRaftStorage()
    const node = new RaftNode({ nodeId: 'n2', peers: ['n1', 'n3'], snapshotThreshold: 3, electionTimeout: { min: 1000, max: 2000 }, heartbeatInterval: 50 },
      storage, net.createTransport('n2'), sm, { clock: net.clockFor('n2'), random: new Prng(2) })
    await node.start() // bootstraps index 1 (term 1)
    const fromLeader = (m: RaftMessage): void => leaderT.send(peerId('n2'), encodeRaftMessage(m))
    const entry = (index: number, cmd: string): Entry => ({ term: 2, index, type: EntryType.Normal, data: encodeCommand(enc(cmd)) })

    // entries 2..4 commit: applying them reaches the threshold and the node starts its snapshot at 4
    fromLeader({ type: 'append', from: 'n1', to: 'n2', term: 2, index: 1, logTerm: 1, entries: [entry(2, 'a'), entry(3, 'b'), entry(4, 'c')], commit: 4 })
    await net.clock.runUntilAsync(() => release !== undefined, 1_000)
    expect(node.status().applied).toBe(4)

    // while it serializes, the leader's snapshot at 10 replaces its log
    const state = Array.from({ length: 9 }, (_, i) => `s${i + 2}`)
    const data = encodeNodeSnapshot(new SessionTable(), enc(JSON.stringify(state)))
    fromLeader({ type: 'snapshot', from: 'n1', to: 'n2', term: 2, meta: { index: 10, term: 2, conf: { voters: ['n1', 'n2', 'n3'], learners: [] } }, offset: 0, total: data.length, data })
    await net.clock.runUntilAsync(() => node.raft!.log.snapshot.index === 10, 1_000)

    release!()
    await net.clock.runUntilAsync(() => received.some((m) => m.type === 'append-resp' && m.index === 10), 1_000)
    expect(node.status()).toMatchObject({ applied: 10, snapshotIndex: 10, commit: 10 })
    expect(counter.applied).toEqual(state)
    expect(storage.snapshot?.index).toBe(10) // not overwritten by the stale snapshot at 4
    expect(node.raft!.compact(4, new Uint8Array(0))).toBeUndefined() // the core's answer to a stale compaction

    // and it still replicates
    fromLeader({ type: 'append', from: 'n1', to: 'n2', term: 2, index: 10, logTerm: 2, entries: [entry(11, 'd')], commit: 11 })
    await net.clock.runUntilAsync(() => node.status().applied === 11, 1_000)
    expect(counter.applied).toEqual([...state, 'd'])
    await node.stop()
  })
})
