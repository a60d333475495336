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
  KvStateMachine, MemoryRaftStorage, RaftNode,
  type Entry, type HardState, type KvCommand, type RaftStorage, type Snapshot, type SnapshotInfo, type SnapshotMeta, type SnapshotSink, type SnapshotStore
} from 'aegis-replication/raft'
import { KvWorkload, SafetyChecker, finishAndCheck, networkFaults } from '../support/raft-sim-checks.js'

const POOL = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8', 'n9']
const KEYS = ['a', 'b', 'c']

/** A storage whose writes take virtual time; a crash loses the write in flight (or lands a torn prefix of an append). */
class SimStorage implements RaftStorage, SnapshotStore {
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
  // streamed snapshots (SnapshotStore): reads at once, the install takes virtual time like the other writes
  snapshotInfo (): SnapshotInfo | undefined { return this.durable.snapshotInfo() }
  readSnapshotChunk (index: number, offset: number, length: number): Promise<Uint8Array | undefined> { return this.durable.readSnapshotChunk(index, offset, length) }
  readSnapshotData (): Promise<Uint8Array | undefined> { return this.durable.readSnapshotData() }
  receiveSnapshot (info: SnapshotInfo): Promise<SnapshotSink> { return this.durable.receiveSnapshot(info) }
  installReceivedSnapshot (sink: SnapshotSink, meta: SnapshotMeta): Promise<void> { return this.op(() => this.durable.installReceivedSnapshot(sink, meta)) }
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
  const fail = (msg: string): never => {
    throw new Error(`${msg}\n--- simulation log (last 80) ---\n${log.slice(-80).join('\n')}\n--- network trace ---\n${net.formatTrace(40)}`)
  }
  const safety = new SafetyChecker(fail, (id, term) => { summary.leaders++; note(`${id} leads term ${term}`) })
  const check = (): void => { safety.check(nodes.values()) }

  // ---------------------------------------------------------------- clients
  const w = new KvWorkload({ nodes, prng, now: () => clock.now(), sleep })
  const liveNodes = (): SimNode[] => w.liveNodes()
  const leader = (): SimNode | undefined => w.leader()
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

  /** Each client's session: its writes are numbered 1, 2, …; one at a time, so all before the current one are acknowledged. */
  const writeSeqs = new Map<string, number>()
  const perform = (client: string, cmd: KvCommand): Promise<void> => {
    const write = cmd.type !== 'get' && cmd.type !== 'range'
    const seq = write ? (writeSeqs.get(client) ?? 0) + 1 : 0
    if (write) writeSeqs.set(client, seq)
    return w.perform(client, cmd, {
      firstTarget: (isWrite, last) => {
        // followers serve reads too (through the leader's ReadIndex)
        if (isWrite || prng.next() >= 0.4) return last
        const live = liveNodes()
        return live.length > 0 ? live[prng.int(0, live.length - 1)].id : last
      },
      send: (to, isWrite, bytes) => isWrite
        ? to.node!.propose(bytes, { session: { clientId: client, seq, ackedSeq: seq - 1 } })
        : to.node!.read(bytes)
    })
  }

  const runClient = async (n: number): Promise<void> => {
    const id = `client${n}`
    let seq = 0
    while (w.issuing && !w.finished) {
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
  const faults = networkFaults(net, prng, note)
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
    if (r < 0.06) faults.isolate(leader())
    else if (r < 0.12) faults.partition(members)
    else if (r < 0.2) faults.block(members)
    else if (r < 0.32) faults.heal()
    else if (r < 0.4) faults.linkFaults(0.2)
    else if (r < 0.45) faults.delaySpike(members, { min: 50, max: 250 })
    else if (r < 0.58) {
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
  w.issuing = false
  faults.healAll(POOL)
  for (const s of nodes.values()) if (!s.removed && s.node === undefined) boot(s)
  note('healed; all nodes restarted')
  const members = await finishAndCheck({
    workload: w,
    now: () => clock.now(),
    run,
    fail,
    clients,
    finalRead: (key) => perform('final', { type: 'get', key }),
    keys: KEYS,
    beforeCheck: () => { if (env.RAFT_SIM_PROGRESS !== undefined) process.stderr.write(`checking ${w.history.operations.length} ops (range: ${allowRange}) at ${(performance.now() - wallStart).toFixed(0)} ms\n`) }
  })
  for (const id of members) if ((nodes.get(id)!.node!.status().snapshotIndex) > 0) summary.snapshots++
  summary.ops = w.ops
  summary.completed = w.completed
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
