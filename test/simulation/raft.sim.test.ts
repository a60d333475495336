/**
 * Many-seed simulation of Raft: 3 or 5 `RaftNode`s replicating a
 * `KvStateMachine` on the in-memory network's virtual clock, with clients
 * issuing KV operations (writes tagged with sessions and retried on any
 * error, reads through ReadIndex), while a seeded script injects faults:
 * symmetric and one-way partitions, loss, duplication, reordering, delay
 * spikes, crashes and restarts on kept storage (an unsynced write is lost;
 * an append in flight may land torn, as a prefix), membership changes
 * (fresh nodes join as learners and are promoted; members are removed) and
 * leadership transfers.
 *
 * Checked every 5 ms of virtual time: at most one leader per term; no two
 * nodes commit different entries at an index (state-machine safety); a new
 * leader holds every committed entry (leader completeness); logs that agree
 * at an index agree before it (log matching). At the end, with faults
 * healed: a leader is elected, every client operation completes, every
 * member converges to the same state, and the client history (plus a final
 * read of every key) is linearizable.
 *
 * Replay a failure with `AEGIS_SEED=<n> npx vitest run test/simulation/raft.sim.test.ts`;
 * `AEGIS_SEEDS=<k>` runs k seeds in each test; `RAFT_SIM_SEEDS_3` / `RAFT_SIM_SEEDS_5`
 * set the counts per test (defaults 2000 and 1000). `RAFT_SIM_TRACE=1` streams
 * the simulation log to stderr; `RAFT_SIM_PROGRESS=1` prints each seed and
 * fails a seed that runs over 10 s of wall time.
 */
import { describe, expect, it } from 'vitest'
import type { Clock } from 'aegis-replication'
import { InMemoryNetwork, type Transport } from 'aegis-replication/transport'
import { Prng, runSeeds } from 'aegis-replication/testing'
import {
  KvStateMachine, MemoryRaftStorage, RaftNode, decodeKvResult, encodeKvCommand,
  type Entry, type HardState, type KvCommand, type RaftStorage, type Snapshot
} from 'aegis-replication/raft'
import { HistoryRecorder, checkLinearizable } from '../support/linearizability.js'
import { kvInputOf, kvModel, kvOutputOf, type KvInput, type KvOutput } from '../support/kv-model.js'

const POOL = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8', 'n9']
const KEYS = ['a', 'b', 'c']

/** A storage whose writes take virtual time; a crash loses the write in flight (or lands a torn prefix of an append). */
class SimStorage implements RaftStorage {
  private inflight: { entries: Entry[] | undefined } | undefined
  constructor (readonly durable: MemoryRaftStorage, private readonly clock: Clock, private readonly prng: Prng) {}

  private op (f: () => Promise<void>, entries?: Entry[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.inflight = { entries }
      this.clock.setTimeout(() => { this.inflight = undefined; f().then(resolve, reject) }, this.prng.int(0, 3))
    })
  }

  /** The process died: the write in flight is lost, or (half the time) an append lands torn. */
  crash (): void {
    const w = this.inflight
    this.inflight = undefined
    if (w?.entries !== undefined && w.entries.length > 0 && this.prng.next() < 0.5) {
      void this.durable.append(w.entries.slice(0, this.prng.int(0, w.entries.length - 1)))
    }
  }

  async load (): ReturnType<RaftStorage['load']> { return await this.durable.load() }
  saveHardState (hs: HardState): Promise<void> { return this.op(() => this.durable.saveHardState(hs)) }
  append (entries: Entry[]): Promise<void> { return this.op(() => this.durable.append(entries), entries) }
  truncateSuffix (from: number): Promise<void> { return this.op(() => this.durable.truncateSuffix(from)) }
  saveSnapshot (s: Snapshot): Promise<void> { return this.op(() => this.durable.saveSnapshot(s)) }
}

interface SimNode {
  id: string
  durable: MemoryRaftStorage
  join: boolean
  removed: boolean
  node: RaftNode | undefined
  sm: KvStateMachine | undefined
  storage: SimStorage | undefined
  transport: Transport | undefined
  incarnation: number
}

interface Summary { ops: number, completed: number, crashes: number, confChanges: number, transfers: number, leaders: number, snapshots: number }

const simulate = async (seed: number, prng: Prng, voters: 3 | 5): Promise<Summary> => {
  const summary: Summary = { ops: 0, completed: 0, crashes: 0, confChanges: 0, transfers: 0, leaders: 0, snapshots: 0 }
  const log: string[] = []
  const net = new InMemoryNetwork({ seed, latency: { min: 1, max: prng.int(3, 12) }, traceLimit: 60, settle: async () => { for (let i = 0; i < 6; i++) await undefined } })
  const clock = net.clock
  const note = (s: string): void => { log.push(`t=${clock.now()} ${s}`); if (log.length > 200) log.shift(); if (env.RAFT_SIM_TRACE !== undefined) process.stderr.write(`t=${clock.now()} ${s}\n`) }
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => clock.setTimeout(resolve, ms))
  const nodes = new Map<string, SimNode>()
  const initial = POOL.slice(0, voters)
  let nextId = voters
  const preVote = prng.next() < 0.75
  const checkQuorum = prng.next() < 0.75

  const boot = (s: SimNode): void => {
    s.incarnation++
    const t = s.transport = net.getTransport(s.id) === undefined ? net.createTransport(s.id) : net.restart(s.id)
    const c = net.clockFor(s.id)
    s.storage = new SimStorage(s.durable, c, new Prng(seed * 31 + s.incarnation * 7 + s.id.charCodeAt(1)))
    s.sm = new KvStateMachine()
    s.node = new RaftNode({
      nodeId: s.id,
      peers: initial.filter((p) => p !== s.id),
      join: s.join,
      preVote,
      checkQuorum,
      electionTimeout: { min: 100, max: 200 },
      heartbeatInterval: 20,
      tickInterval: 10,
      requestTimeout: 400,
      membershipTimeout: 3000,
      snapshotThreshold: prng.int(8, 40),
      maxMessageBytes: 200,
      snapshotChunkBytes: 64,
      maxInflightMessages: 4
    }, s.storage, t, s.sm, { clock: c, random: new Prng(seed * 1000 + s.incarnation * 17 + s.id.charCodeAt(1)) })
    void s.node.start().catch(() => {})
    note(`start ${s.id} (#${s.incarnation})`)
  }
  const crash = (s: SimNode): void => {
    if (s.node === undefined) return
    s.storage!.crash()
    net.crash(s.id)
    s.node = undefined
    s.sm = undefined
    summary.crashes++
    note(`crash ${s.id}`)
  }
  note(`preVote ${preVote}, checkQuorum ${checkQuorum}`)
  for (const id of initial) {
    const s: SimNode = { id, durable: new MemoryRaftStorage(), join: false, removed: false, node: undefined, sm: undefined, storage: undefined, transport: undefined, incarnation: 0 }
    nodes.set(id, s)
    boot(s)
  }

  // ---------------------------------------------------------------- safety checks
  const leaderOfTerm = new Map<number, string>()
  const committed = new Map<number, { term: number, data: string }>()
  let maxCommitted = 0
  const checkedTo = new Map<string, number>()
  const dataKey = (e: Entry): string => `${e.type}:${Array.from(e.data).join(',')}`
  const fail = (msg: string): never => {
    throw new Error(`${msg}\n--- simulation log (last 80) ---\n${log.slice(-80).join('\n')}\n--- network trace ---\n${net.formatTrace(40)}`)
  }
  let checks = 0
  const check = (): void => {
    checks++
    const live = [...nodes.values()].filter((s) => s.node?.raft !== undefined)
    for (const s of live) {
      const core = s.node!.raft!
      const l = core.log
      if (core.role === 'leader') {
        const prev = leaderOfTerm.get(core.term)
        if (prev !== undefined && prev !== s.id) fail(`two leaders in term ${core.term}: ${prev} and ${s.id}`)
        if (prev === undefined) {
          leaderOfTerm.set(core.term, s.id)
          summary.leaders++
          note(`${s.id} leads term ${core.term}`)
          // leader completeness
          for (let i = l.snapshot.index + 1; i <= maxCommitted; i++) {
            const c = committed.get(i)
            if (c !== undefined && l.termAt(i) !== c.term) fail(`leader ${s.id} of term ${core.term} lacks committed entry ${i} (term ${c.term}, has ${l.termAt(i)})`)
          }
        }
      }
      // state-machine safety: committed entries agree everywhere
      const key = `${s.id}#${s.incarnation}`
      for (let i = Math.max(checkedTo.get(key) ?? 0, l.snapshot.index) + 1; i <= l.committed; i++) {
        const e = l.entries[i - l.snapshot.index - 1]
        const c = committed.get(i)
        if (c === undefined) { committed.set(i, { term: e.term, data: dataKey(e) }); maxCommitted = Math.max(maxCommitted, i) }
        else if (c.term !== e.term || c.data !== dataKey(e)) fail(`${s.id} committed a different entry at ${i}: term ${e.term} vs ${c.term}`)
      }
      checkedTo.set(key, l.committed)
    }
    // log matching, now and then
    if (checks % 10 === 0) {
      for (let a = 0; a < live.length; a++) {
        for (let b = a + 1; b < live.length; b++) {
          const la = live[a].node!.raft!.log
          const lb = live[b].node!.raft!.log
          const lo = Math.max(la.snapshot.index, lb.snapshot.index)
          let i = Math.min(la.lastIndex(), lb.lastIndex())
          while (i > lo && la.termAt(i) !== lb.termAt(i)) i--
          for (let j = i; j > lo; j--) {
            if (la.termAt(j) !== lb.termAt(j)) fail(`log matching: ${live[a].id} and ${live[b].id} agree at ${i} but differ at ${j}`)
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- clients
  const history = new HistoryRecorder<KvInput, KvOutput>(() => clock.now())
  let issuing = true
  let finished = false
  let inFlight = 0
  const liveNodes = (): SimNode[] => [...nodes.values()].filter((s) => s.node !== undefined && !s.removed)
  const leader = (): SimNode | undefined => liveNodes().find((s) => s.node!.isLeader())
  const allowRange = prng.next() < 0.3

  const randomCommand = (client: number, seq: number): KvCommand => {
    const key = KEYS[prng.int(0, KEYS.length - 1)]
    const value = new TextEncoder().encode(`c${client}.${seq}`)
    const r = prng.next()
    if (r < 0.3) return { type: 'get', key }
    if (r < 0.55) return { type: 'put', key, value }
    if (r < 0.65) return { type: 'delete', key }
    if (r < 0.9 || !allowRange) return { type: 'cas', key, expected: prng.next() < 0.3 ? null : new TextEncoder().encode(`c${prng.int(0, 2)}.${prng.int(1, seq)}`), next: value }
    return { type: 'range', start: 'a', end: null, limit: 0 }
  }

  /** Where each client sends requests: the node that last served it, until that fails. */
  const targets = new Map<string, string | undefined>()
  /** Each client's session: its writes are numbered 1, 2, …; one at a time, so all before the current one are acknowledged. */
  const writeSeqs = new Map<string, number>()
  const perform = async (client: string, cmd: KvCommand): Promise<void> => {
    summary.ops++
    inFlight++
    const h = history.invoke(client, kvInputOf(cmd))
    const bytes = encodeKvCommand(cmd)
    const write = cmd.type !== 'get' && cmd.type !== 'range'
    const seq = write ? (writeSeqs.get(client) ?? 0) + 1 : 0
    if (write) writeSeqs.set(client, seq)
    let target = targets.get(client)
    if (!write && prng.next() < 0.4) {
      // followers serve reads too (through the leader's ReadIndex)
      const live = liveNodes()
      if (live.length > 0) target = live[prng.int(0, live.length - 1)].id
    }
    for (;;) {
      if (finished) { inFlight--; return }
      const s = target !== undefined ? nodes.get(target) : undefined
      const to = s?.node !== undefined && !s.removed ? s : (leader() ?? liveNodes()[prng.int(0, Math.max(0, liveNodes().length - 1))])
      if (to?.node === undefined) { await sleep(20); continue }
      try {
        const res = write
          ? await to.node.propose(bytes, { session: { clientId: client, seq, ackedSeq: seq - 1 } })
          : await to.node.read(bytes)
        if (finished) { inFlight--; return }
        h.ok(kvOutputOf(decodeKvResult(res)))
        targets.set(client, to.id)
        summary.completed++
        inFlight--
        return
      } catch (err) {
        const e = err as Error & { leaderHint?: string }
        // follow a leader hint; otherwise try any node (a real client does not know who leads)
        const live = liveNodes()
        target = e.name === 'NotLeaderError' && e.leaderHint !== undefined ? e.leaderHint : live.length > 0 ? live[prng.int(0, live.length - 1)].id : undefined
        targets.set(client, target)
        await sleep(prng.int(5, 30))
      }
    }
  }

  const runClient = async (n: number): Promise<void> => {
    const id = `client${n}`
    let seq = 0
    while (issuing && !finished) {
      await perform(id, randomCommand(n, ++seq))
      await sleep(prng.int(0, 15))
    }
  }

  const wallStart = performance.now()
  const run = async (ms: number): Promise<void> => {
    const end = clock.now() + ms
    while (clock.now() < end) {
      if (env.RAFT_SIM_PROGRESS !== undefined && performance.now() - wallStart > 10_000) fail(`seed ${seed} is taking too long (virtual t=${clock.now()})`)
      try {
        await clock.runForAsync(Math.min(5, end - clock.now()), 100_000)
      } catch (err) {
        const dump = [...nodes.values()].filter((x) => x.node?.raft !== undefined).map((x) => {
          const c = x.node!.raft!
          const l = c.log
          return `${x.id}: ${c.role} term ${c.term} commit ${l.committed} applying ${l.applying} handedOut ${l.handedOut} last ${l.lastIndex()} snap ${l.snapshot.index} stable ${l.stable} trunc ${l.truncateFrom} pendSnap ${l.pendingSnapshot?.index} hard ${JSON.stringify(c.hardState())}`
        })
        fail(`${(err as Error).message}\n${dump.join('\n')}`)
      }
      check()
    }
  }

  // ---------------------------------------------------------------- faults
  await run(300)
  const clients = [0, 1, 2, 3].map((n) => runClient(n))
  const faultyMs = prng.int(1500, 3000)
  const faultEnd = clock.now() + faultyMs
  const ids = (): string[] => [...nodes.values()].filter((s) => !s.removed).map((s) => s.id)
  while (clock.now() < faultEnd) {
    await run(prng.int(30, 250))
    const r = prng.next()
    const members = ids()
    const pick = (xs: string[]): string => xs[prng.int(0, xs.length - 1)]
    if (r < 0.06) {
      const l = leader()
      if (l !== undefined) { net.partition([l.id]); note(`isolate leader ${l.id}`) }
    } else if (r < 0.12) {
      const cut = members.filter(() => prng.next() < 0.4)
      net.partition(cut)
      note(`partition [${cut.join(',')}] | rest`)
    } else if (r < 0.2) {
      const a = pick(members)
      const b = pick(members)
      if (a !== b) { net.block(a, b); note(`block ${a} -> ${b}`) }
    } else if (r < 0.32) {
      net.heal()
      note('heal')
    } else if (r < 0.4) {
      net.setOptions({ loss: prng.next() * 0.2, duplicate: prng.next() * 0.1, reorder: prng.next() * 0.2 })
      note('link faults changed')
    } else if (r < 0.45) {
      const a = pick(members)
      const b = pick(members)
      if (a !== b) { net.setLinkOptions(a, b, { latency: { min: 50, max: 250 } }); note(`delay spike ${a} -> ${b}`) }
    } else if (r < 0.58) {
      const up = members.filter((id) => nodes.get(id)!.node !== undefined)
      if (up.length > 0) crash(nodes.get(pick(up))!)
    } else if (r < 0.72) {
      const down = members.filter((id) => nodes.get(id)!.node === undefined)
      if (down.length > 0) boot(nodes.get(pick(down))!)
    } else if (r < 0.8) {
      const l = leader()
      if (l !== undefined) {
        const conf = l.node!.status().conf
        const to = pick(conf.voters)
        if (to !== l.id) {
          summary.transfers++
          note(`transfer ${l.id} -> ${to}`)
          l.node!.transferLeadership(to).catch(() => {})
        }
      }
    } else if (r < 0.88) {
      const l = leader()
      if (l !== undefined) {
        const conf = l.node!.status().conf
        if (prng.next() < 0.5 && conf.voters.length + conf.learners.length < 6 && nextId < POOL.length) {
          const id = POOL[nextId++]
          const s: SimNode = { id, durable: new MemoryRaftStorage(), join: true, removed: false, node: undefined, sm: undefined, storage: undefined, transport: undefined, incarnation: 0 }
          nodes.set(id, s)
          boot(s)
          summary.confChanges++
          note(`add ${id} via ${l.id}`)
          l.node!.addNode(id).then(() => note(`added ${id}`), (e: Error) => note(`add ${id} failed: ${e.name}`))
        } else if (conf.voters.length > 3) {
          const victim = pick([...conf.voters, ...conf.learners])
          summary.confChanges++
          note(`remove ${victim} via ${l.id}`)
          l.node!.removeNode(victim).then(() => {
            note(`removed ${victim}`)
            const v = nodes.get(victim)!
            if (!v.removed) { v.removed = true; if (v.node !== undefined) { v.node.stop().catch(() => {}); net.crash(victim); v.node = undefined } }
          }, (e: Error) => note(`remove ${victim} failed: ${e.name}`))
        }
      }
    }
  }

  // ---------------------------------------------------------------- heal and check liveness
  issuing = false
  net.heal()
  net.setOptions({ loss: 0, duplicate: 0, reorder: 0 })
  for (const a of POOL) for (const b of POOL) if (a !== b) net.setLinkOptions(a, b, {})
  for (const s of nodes.values()) if (!s.removed && s.node === undefined) boot(s)
  note('healed; all nodes restarted')
  const deadline = clock.now() + 15_000
  while (clock.now() < deadline && (inFlight > 0 || leader() === undefined)) await run(50)
  if (leader() === undefined) fail('liveness: no leader 15 s after healing')
  if (inFlight > 0) fail(`liveness: ${inFlight} client operations still pending 15 s after healing`)
  const settled = async (p: Promise<unknown>, what: string, ms: number): Promise<void> => {
    let done = false
    void p.then(() => { done = true })
    const until = clock.now() + ms
    while (!done && clock.now() < until) await run(20)
    if (!done) fail(`liveness: ${what} did not complete within ${ms} ms after healing`)
  }
  await settled(Promise.all(clients), 'the clients', 1000)

  // a final read of every key joins the history
  for (const key of KEYS) await settled(perform('final', { type: 'get', key }), `the final read of ${key}`, 5000)

  // every member converges
  const membersOf = (l: SimNode): string[] => { const c = l.node!.status().conf; return [...c.voters, ...c.learners] }
  const converged = (): boolean => {
    const l = leader()
    if (l === undefined) return false
    const commit = l.node!.status().commit
    return membersOf(l).every((id) => nodes.get(id)?.node?.raft !== undefined && nodes.get(id)!.node!.status().applied >= commit)
  }
  const until = clock.now() + 10_000
  while (!converged() && clock.now() < until) await run(50)
  const l = leader()
  if (l === undefined) fail('liveness: no leader at the end')
  const members = membersOf(l!)
  if (!converged()) fail(`members did not catch up: ${members.map((id) => `${id}@${nodes.get(id)?.node?.status().applied}`).join(' ')} vs commit ${l!.node!.status().commit}`)
  const states = members.map((id) => Array.from(nodes.get(id)!.sm!.snapshot() as Uint8Array).join(','))
  if (new Set(states).size !== 1) fail(`members hold different states: ${members.join(',')}`)
  for (const id of members) if ((nodes.get(id)!.node!.status().snapshotIndex) > 0) summary.snapshots++
  finished = true

  if (env.RAFT_SIM_PROGRESS !== undefined) process.stderr.write(`checking ${history.operations.length} ops (range: ${allowRange}) at ${(performance.now() - wallStart).toFixed(0)} ms\n`)
  const result = checkLinearizable(history.operations, kvModel)
  if (result.ok !== true) fail(`history is not linearizable: ${JSON.stringify(result).slice(0, 2000)}`)
  for (const s of nodes.values()) await s.node?.stop()
  return summary
}

const env = process.env
const totals = (label: string, all: Summary[], ms: number): void => {
  const sum = (k: keyof Summary): number => all.reduce((a, s) => a + s[k], 0)
  console.log(`${label}: ${all.length} seeds in ${ms.toFixed(0)} ms; ops ${sum('ops')} (completed ${sum('completed')}), crashes ${sum('crashes')}, ` +
    `conf changes ${sum('confChanges')}, transfers ${sum('transfers')}, leaders ${sum('leaders')}, members with snapshots ${sum('snapshots')}`)
}

describe('raft simulation', () => {
  it('3 nodes: safe under faults, live after healing, linearizable', async () => {
    const all: Summary[] = []
    const t0 = performance.now()
    await runSeeds(Number(env.RAFT_SIM_SEEDS_3 ?? 2000), async (seed, prng) => { if (env.RAFT_SIM_PROGRESS !== undefined) process.stderr.write(`seed ${seed}\n`); all.push(await simulate(seed, prng, 3)) }, { env, name: '3 nodes' })
    totals('3 nodes', all, performance.now() - t0)
    expect(all.length).toBeGreaterThan(0)
  }, 600_000)

  it('5 nodes: safe under faults, live after healing, linearizable', async () => {
    const all: Summary[] = []
    const t0 = performance.now()
    await runSeeds(Number(env.RAFT_SIM_SEEDS_5 ?? 1000), async (seed, prng) => { all.push(await simulate(seed, prng, 5)) }, { env, name: '5 nodes', baseSeed: 100_001 })
    totals('5 nodes', all, performance.now() - t0)
    expect(all.length).toBeGreaterThan(0)
  }, 600_000)
})
