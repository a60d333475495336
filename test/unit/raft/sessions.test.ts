/**
 * Defect 5 of issue 10: exactly-once sessions. The table kept only each
 * client's latest seq and evicted the least recently used session, and
 * `maxSessions` was a per-node setting: an overtaken pipelined request was
 * never applied, a retry of an evicted session's request applied twice,
 * and replicas with different settings applied different commands. Now
 * (Raft dissertation §6.3) each session keeps the response of every
 * applied seq above the client's acknowledged point, sessions leave the
 * table only by a replicated expiry rule, and the limits are replicated.
 */
import { describe, expect, it } from 'vitest'
import { InMemoryNetwork } from 'aegis-replication/transport'
import { Prng } from 'aegis-replication/testing'
import {
  DEFAULT_SESSION_LIMITS, MemoryRaftStorage, ProposalDroppedError, RaftNode, SessionExpiredError, SessionTable,
  decodeNodeSnapshot, encodeNodeSnapshot, type RaftConfig, type SessionTag
} from 'aegis-replication/raft'
import { Counter, enc, track } from './fake-peers.js'
import * as encoding from 'lib0/encoding'

const cluster = async (configs: Array<Partial<RaftConfig>>) => {
  const net = new InMemoryNetwork({ seed: 4 })
  const ids = configs.map((_, i) => `n${i + 1}`)
  const sms = new Map<string, Counter>()
  const nodes = ids.map((id, i) => {
    const sm = new Counter()
    sms.set(id, sm)
    return new RaftNode({ nodeId: id, peers: ids.filter((p) => p !== id), requestTimeout: 2000, ...configs[i] }, new MemoryRaftStorage(), net.createTransport(id), sm,
      { clock: net.clockFor(id), random: new Prng(i + 1) })
  })
  await Promise.all(nodes.map((n) => n.start()))
  await net.clock.runUntilAsync(() => nodes.some((n) => n.isLeader()), 10_000)
  const leader = nodes.find((n) => n.isLeader())!
  /** Proposes and runs the clock until it settles. */
  const call = async (cmd: string, session: SessionTag): Promise<{ value?: Uint8Array, error?: Error }> => {
    const t = track(leader.propose(enc(cmd), { session }))
    await net.clock.runUntilAsync(() => t.settled, 10_000)
    return t
  }
  const converge = async (): Promise<void> => {
    await net.clock.runUntilAsync(() => nodes.every((n) => n.status().applied === leader.status().commit), 10_000)
  }
  return { net, nodes, sms, leader, call, converge }
}

describe('SessionTable', () => {
  const table = (): SessionTable => { const t = new SessionTable(); t.advance(1000); return t }

  it('keeps a response per unacknowledged seq: out-of-order seqs apply once, retries get their own response', () => {
    const t = table()
    for (const seq of [3, 1, 2]) {
      expect(t.check({ clientId: 'c', seq, ackedSeq: 0 })).toEqual({ kind: 'new' })
      t.record({ clientId: 'c', seq, ackedSeq: 0 }, enc(`r${seq}`))
    }
    for (const seq of [1, 2, 3]) expect(t.check({ clientId: 'c', seq, ackedSeq: 0 })).toEqual({ kind: 'duplicate', result: enc(`r${seq}`) })
    // the client acknowledges up to 2: those responses go, and the seqs are refused from then on
    expect(t.check({ clientId: 'c', seq: 4, ackedSeq: 2 })).toEqual({ kind: 'new' })
    expect(t.check({ clientId: 'c', seq: 2, ackedSeq: 2 }).kind).toBe('expired')
    expect(t.check({ clientId: 'c', seq: 3, ackedSeq: 2 })).toEqual({ kind: 'duplicate', result: enc('r3') })
  })

  it('expires idle sessions by the replicated clock; a known-old session is refused, never applied again', () => {
    const t = table()
    t.setLimits({ ...DEFAULT_SESSION_LIMITS, timeoutMs: 500 })
    t.record({ clientId: 'a', seq: 1, ackedSeq: 0 }, enc('x'))
    t.advance(1400)
    expect(t.size).toBe(1)
    t.advance(1501)
    expect(t.size).toBe(0)
    expect(t.check({ clientId: 'a', seq: 2, ackedSeq: 1 }).kind).toBe('expired')
    expect(t.check({ clientId: 'a', seq: 1, ackedSeq: 0 })).toEqual({ kind: 'new' }) // indistinguishable from a new session: the client's retries must end within timeoutMs
    expect(t.check({ clientId: 'b', seq: 1 })).toEqual({ kind: 'new' }) // no ackedSeq: an old client, taken as new
  })

  it('refuses new sessions when full instead of evicting, and bounds the responses per session', () => {
    const t = table()
    t.setLimits({ maxSessions: 2, timeoutMs: 60_000, maxResponses: 3 })
    t.record({ clientId: 'a', seq: 1, ackedSeq: 0 }, enc('a1'))
    t.record({ clientId: 'b', seq: 1, ackedSeq: 0 }, enc('b1'))
    expect(t.check({ clientId: 'c', seq: 1, ackedSeq: 0 })).toEqual({ kind: 'full' })
    expect(t.check({ clientId: 'a', seq: 1, ackedSeq: 0 })).toEqual({ kind: 'duplicate', result: enc('a1') })
    for (const seq of [2, 3, 4]) t.record({ clientId: 'a', seq, ackedSeq: 0 }, enc(`a${seq}`))
    expect(t.check({ clientId: 'a', seq: 1, ackedSeq: 0 }).kind).toBe('expired') // forgotten past maxResponses: refused, not re-applied
    expect(t.check({ clientId: 'a', seq: 4, ackedSeq: 0 })).toEqual({ kind: 'duplicate', result: enc('a4') })
  })

  it('round-trips through a node snapshot (limits, clock, sessions), and reads version 1 snapshots', () => {
    const t = table()
    t.setLimits({ maxSessions: 7, timeoutMs: 900, maxResponses: 5 })
    t.record({ clientId: 'a', seq: 2, ackedSeq: 1 }, enc('a2'))
    t.record({ clientId: 'a', seq: 3, ackedSeq: 1 }, enc('a3'))
    const t2 = new SessionTable()
    expect(decodeNodeSnapshot(encodeNodeSnapshot(t, enc('state')), t2)).toEqual(enc('state'))
    expect(encodeNodeSnapshot(t2, enc('state'))).toEqual(encodeNodeSnapshot(t, enc('state')))
    expect(t2.limits).toEqual({ maxSessions: 7, timeoutMs: 900, maxResponses: 5 })
    expect(t2.check({ clientId: 'a', seq: 1, ackedSeq: 1 }).kind).toBe('expired')
    expect(t2.check({ clientId: 'a', seq: 3, ackedSeq: 1 })).toEqual({ kind: 'duplicate', result: enc('a3') })
    // version 1: u8 1, sessions (id, seq, result), state
    const e = encoding.createEncoder()
    encoding.writeUint8(e, 1); encoding.writeVarUint(e, 1); encoding.writeVarString(e, 'old'); encoding.writeVarUint(e, 9); encoding.writeVarUint8Array(e, enc('r9'))
    encoding.writeVarUint8Array(e, enc('s'))
    const t3 = new SessionTable()
    expect(decodeNodeSnapshot(encoding.toUint8Array(e), t3)).toEqual(enc('s'))
    expect(t3.check({ clientId: 'old', seq: 9 })).toEqual({ kind: 'duplicate', result: enc('r9') })
    t3.advance(5000) // sessions from before timestamps start their idle time at the first timestamp
    expect(t3.size).toBe(1)
  })
})

describe('RaftNode sessions', () => {
  it('pipelined requests that reach the leader out of order all apply once; a retry of each gets its own response', async () => {
    const c = await cluster([{}, {}, {}])
    const ps = [3, 1, 2].map((seq) => track(c.leader.propose(enc(`w${seq}`), { session: { clientId: 'p', seq, ackedSeq: 0 } })))
    await c.net.clock.runUntilAsync(() => ps.every((p) => p.settled), 10_000)
    for (const p of ps) expect(p.error).toBeUndefined()
    const first = ps.map((p) => p.value!)
    const retries = await Promise.all([3, 1, 2].map((seq) => c.call(`w${seq}`, { clientId: 'p', seq, ackedSeq: 0 })))
    expect(retries.map((r) => r.value)).toEqual(first)
    await c.converge()
    for (const sm of c.sms.values()) expect([...sm.applied].sort()).toEqual(['w1', 'w2', 'w3'])
  })

  it('a full table refuses a new session (retryable) rather than evicting one whose late retry would apply twice', async () => {
    const c = await cluster([{ maxSessions: 2 }, { maxSessions: 2 }, { maxSessions: 2 }])
    await c.net.clock.runUntilAsync(() => c.nodes.every((n) => n.sessionTable.limits.maxSessions === 2), 10_000)
    const a1 = await c.call('a1', { clientId: 'a', seq: 1, ackedSeq: 0 })
    expect((await c.call('b1', { clientId: 'b', seq: 1, ackedSeq: 0 })).error).toBeUndefined()
    expect((await c.call('c1', { clientId: 'c', seq: 1, ackedSeq: 0 })).error).toBeInstanceOf(ProposalDroppedError)
    const retry = await c.call('a1', { clientId: 'a', seq: 1, ackedSeq: 0 }) // late retry of a's request
    expect(retry.value).toEqual(a1.value)
    await c.converge()
    for (const sm of c.sms.values()) expect(sm.applied).toEqual(['a1', 'b1'])
  })

  it('an expired session is answered SessionExpiredError and its retry is never applied again', async () => {
    const c = await cluster([{ sessionLimits: { timeoutMs: 1000 } }, { sessionLimits: { timeoutMs: 1000 } }, { sessionLimits: { timeoutMs: 1000 } }])
    await c.net.clock.runUntilAsync(() => c.nodes.every((n) => n.sessionTable.limits.timeoutMs === 1000), 10_000)
    expect((await c.call('a1', { clientId: 'a', seq: 1, ackedSeq: 0 })).error).toBeUndefined()
    expect((await c.call('a2', { clientId: 'a', seq: 2, ackedSeq: 1 })).error).toBeUndefined()
    await c.net.clock.runForAsync(1500)
    expect((await c.call('b1', { clientId: 'b', seq: 1, ackedSeq: 0 })).error).toBeUndefined() // a later timestamp: a expires
    const retry = await c.call('a2', { clientId: 'a', seq: 2, ackedSeq: 1 })
    expect(retry.error).toBeInstanceOf(SessionExpiredError)
    expect(retry.error!.name).toBe('SessionExpiredError')
    expect((await c.call('a3', { clientId: 'a', seq: 3, ackedSeq: 2 })).error).toBeInstanceOf(SessionExpiredError)
    await c.converge()
    for (const sm of c.sms.values()) expect(sm.applied).toEqual(['a1', 'a2', 'b1'])
  })

  it('replicas with different local settings apply identically (the limits are replicated)', async () => {
    const c = await cluster([{ maxSessions: 1 }, { sessionLimits: { maxSessions: 100 } }, {}])
    const script: Array<[string, SessionTag]> = [
      ['a1', { clientId: 'a', seq: 1 }], ['b1', { clientId: 'b', seq: 1 }], ['a1', { clientId: 'a', seq: 1 }],
      ['c1', { clientId: 'c', seq: 1 }], ['b1', { clientId: 'b', seq: 1 }], ['a2', { clientId: 'a', seq: 2 }]
    ]
    for (const [cmd, tag] of script) await c.call(cmd, tag)
    await c.converge()
    const applied = [...c.sms.values()].map((sm) => sm.applied.join(','))
    expect(new Set(applied).size).toBe(1)
    const tables = c.nodes.map((n) => Array.from(encodeNodeSnapshot(n.sessionTable, new Uint8Array(0))).join(','))
    expect(new Set(tables).size).toBe(1)
  })
})
