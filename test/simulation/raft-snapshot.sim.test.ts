/**
 * Many-seed simulation of streamed snapshots (issue 10): 3 `RaftNode`s
 * replicating a `KvStateMachine` whose values are a few hundred bytes,
 * snapshots every few entries and sent in small chunks (tens of chunks per
 * snapshot), so followers cut off for a while catch up from a snapshot.
 * The seeded script injects, besides loss, duplication and reordering of
 * every frame (chunks and acks included), faults aimed at transfers in
 * progress: the receiving follower crashes, the leader is cut off or hands
 * leadership over (a new leader takes over the transfer), and chunks are
 * corrupted in flight.
 *
 * Checked like `raft.sim.test.ts`: safety every 5 ms of virtual time; at the
 * end, with faults healed, every member converges to the same state and the
 * client history (plus a final read of every key) is linearizable. Across
 * the seeds, transfers must have completed and each targeted fault must
 * have hit a transfer in progress.
 *
 * Replay a failure with `AEGIS_SEED=<n> npx vitest run test/simulation/raft-snapshot.sim.test.ts`;
 * `RAFT_SNAP_SIM_SEEDS` sets the count (default 100); `RAFT_SIM_TRACE=1` streams the log.
 */
import { describe, expect, it } from 'vitest'
import type { Clock } from 'aegis-replication'
import { InMemoryNetwork, type Transport } from 'aegis-replication/transport'
import { Prng, runSeeds } from 'aegis-replication/testing'
import {
  KvStateMachine, MemoryRaftStorage, RaftNode, decodeSnapshotStreamMessage, encodeSnapshotStreamMessage, isSnapshotStreamFrame,
  type Entry, type HardState, type KvCommand, type RaftStorage, type Snapshot, type SnapshotInfo, type SnapshotMeta, type SnapshotSink, type SnapshotStore
} from 'aegis-replication/raft'
import { KvWorkload, SafetyChecker, finishAndCheck, networkFaults } from '../support/raft-sim-checks.js'

const IDS = ['n1', 'n2', 'n3']
const KEYS = ['a', 'b', 'c', 'd']
const PAD = '.'.repeat(200)

/** A streaming storage whose writes take virtual time; a crash loses the write in flight (a received snapshot not yet installed is lost with the process). */
class SimStorage implements RaftStorage, SnapshotStore {
  private inflight = false
  constructor (readonly durable: MemoryRaftStorage, private readonly clock: Clock, private readonly prng: Prng) {}
  private op<T> (f: () => Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      this.inflight = true
      this.clock.setTimeout(() => { this.inflight = false; f().then(resolve, reject) }, this.prng.int(0, 3))
    })
  }

  crash (): void { this.inflight = false }
  async load (): ReturnType<RaftStorage['load']> { return await this.durable.load() }
  saveHardState (hs: HardState): Promise<void> { return this.op(() => this.durable.saveHardState(hs)) }
  append (entries: Entry[]): Promise<void> { return this.op(() => this.durable.append(entries)) }
  truncateSuffix (from: number): Promise<void> { return this.op(() => this.durable.truncateSuffix(from)) }
  saveSnapshot (s: Snapshot): Promise<void> { return this.op(() => this.durable.saveSnapshot(s)) }
  snapshotInfo (): SnapshotInfo | undefined { return this.durable.snapshotInfo() }
  readSnapshotChunk (index: number, offset: number, length: number): Promise<Uint8Array | undefined> { return this.op(() => this.durable.readSnapshotChunk(index, offset, length)) }
  readSnapshotData (): Promise<Uint8Array | undefined> { return this.durable.readSnapshotData() }
  receiveSnapshot (info: SnapshotInfo): Promise<SnapshotSink> { return this.durable.receiveSnapshot(info) }
  installReceivedSnapshot (sink: SnapshotSink, meta: SnapshotMeta): Promise<void> { return this.op(() => this.durable.installReceivedSnapshot(sink, meta)) }
}

interface SimNode { id: string, durable: MemoryRaftStorage, removed: boolean, node: RaftNode | undefined, sm: KvStateMachine | undefined, storage: SimStorage | undefined, incarnation: number }

interface Summary { ops: number, delivered: number, chunks: number, corrupt: number, crashMidTransfer: number, leaderChangeMidTransfer: number, peakInflight: number, window: number }

/** Outgoing frames of `t`, with snapshot chunks corrupted while `corrupt()` says so. */
const corrupting = (t: Transport, corrupt: () => boolean, onCorrupt: () => void): Transport => ({
  send: (to, frame) => {
    if (isSnapshotStreamFrame(frame) && corrupt()) {
      const m = decodeSnapshotStreamMessage(frame)
      if (m.type === 'snapshot-chunk' && m.data.length > 0) {
        const data = m.data.slice()
        data[data.length >> 1] ^= 0x5a
        onCorrupt()
        return t.send(to, encodeSnapshotStreamMessage({ ...m, data }))
      }
    }
    t.send(to, frame)
  },
  id: t.id,
  peers: () => t.peers(),
  broadcast: (frame) => t.broadcast(frame),
  close: async () => await t.close(),
  on: (e, f) => t.on(e, f),
  off: (e, f) => t.off(e, f)
})

const simulate = async (seed: number, prng: Prng): Promise<Summary> => {
  const window = prng.int(1, 4)
  const summary: Summary = { ops: 0, delivered: 0, chunks: 0, corrupt: 0, crashMidTransfer: 0, leaderChangeMidTransfer: 0, peakInflight: 0, window }
  const log: string[] = []
  const net = new InMemoryNetwork({ seed, latency: { min: 1, max: prng.int(3, 10) }, traceLimit: 60, settle: async () => { for (let i = 0; i < 6; i++) await undefined } })
  const clock = net.clock
  const note = (s: string): void => { log.push(`t=${clock.now()} ${s}`); if (log.length > 200) log.shift(); if (env.RAFT_SIM_TRACE !== undefined) process.stderr.write(`t=${clock.now()} ${s}\n`) }
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => clock.setTimeout(resolve, ms))
  const nodes = new Map<string, SimNode>()
  const chunkBytes = prng.int(48, 400)
  const corruptRate = { p: 0 }
  const tally = (s: SimNode): void => {
    const st = s.node?.snapshotStreaming
    if (st === undefined) return
    summary.delivered += st.receiver.stats.delivered
    summary.chunks += st.sender.stats.chunksSent
    summary.peakInflight = Math.max(summary.peakInflight, st.sender.stats.peakInflight)
  }

  const boot = (s: SimNode): void => {
    s.incarnation++
    const raw = net.getTransport(s.id) === undefined ? net.createTransport(s.id) : net.restart(s.id)
    const t = corrupting(raw, () => prng.next() < corruptRate.p, () => { summary.corrupt++ })
    const c = net.clockFor(s.id)
    s.storage = new SimStorage(s.durable, c, new Prng(seed * 31 + s.incarnation * 7 + s.id.charCodeAt(1)))
    s.sm = new KvStateMachine()
    s.node = new RaftNode({
      nodeId: s.id, peers: IDS.filter((p) => p !== s.id), electionTimeout: { min: 100, max: 200 }, heartbeatInterval: 20, tickInterval: 10,
      requestTimeout: 400, snapshotThreshold: prng.int(6, 20), maxMessageBytes: 600, maxInflightMessages: 4, snapshotChunkBytes: chunkBytes, snapshotWindow: window
    }, s.storage, t, s.sm, { clock: c, random: new Prng(seed * 1000 + s.incarnation * 17 + s.id.charCodeAt(1)) })
    void s.node.start().catch(() => {})
    note(`start ${s.id} (#${s.incarnation})`)
  }
  const crash = (s: SimNode): void => {
    if (s.node === undefined) return
    tally(s)
    s.storage!.crash()
    net.crash(s.id)
    s.node = undefined
    s.sm = undefined
    note(`crash ${s.id}`)
  }
  for (const id of IDS) {
    const s: SimNode = { id, durable: new MemoryRaftStorage(), removed: false, node: undefined, sm: undefined, storage: undefined, incarnation: 0 }
    nodes.set(id, s)
    boot(s)
  }

  const fail = (msg: string): never => {
    throw new Error(`${msg}\n--- simulation log (last 80) ---\n${log.slice(-80).join('\n')}\n--- network trace ---\n${net.formatTrace(40)}`)
  }
  const safety = new SafetyChecker(fail, (id, term) => { note(`${id} leads term ${term}`) })
  const w = new KvWorkload({ nodes, prng, now: () => clock.now(), sleep })
  const leader = (): SimNode | undefined => w.leader()
  const value = (s: string): Uint8Array => new TextEncoder().encode(s + PAD)
  const randomCommand = (client: number, seq: number): KvCommand => {
    const key = KEYS[prng.int(0, KEYS.length - 1)]
    const r = prng.next()
    if (r < 0.25) return { type: 'get', key }
    if (r < 0.8) return { type: 'put', key, value: value(`c${client}.${seq}`) }
    if (r < 0.85) return { type: 'delete', key }
    return { type: 'cas', key, expected: prng.next() < 0.3 ? null : value(`c${prng.int(0, 2)}.${prng.int(1, seq)}`), next: value(`c${client}.${seq}`) }
  }
  const writeSeqs = new Map<string, number>()
  const perform = (client: string, cmd: KvCommand): Promise<void> => {
    const write = cmd.type !== 'get' && cmd.type !== 'range'
    const seq = write ? (writeSeqs.get(client) ?? 0) + 1 : 0
    if (write) writeSeqs.set(client, seq)
    return w.perform(client, cmd, {
      send: (to, isWrite, bytes) => isWrite ? to.node!.propose(bytes, { session: { clientId: client, seq, ackedSeq: seq - 1 } }) : to.node!.read(bytes)
    })
  }
  const runClient = async (n: number): Promise<void> => {
    let seq = 0
    while (w.issuing && !w.finished) {
      await perform(`client${n}`, randomCommand(n, ++seq))
      await sleep(prng.int(0, 10))
    }
  }
  const run = async (ms: number): Promise<void> => {
    const end = clock.now() + ms
    while (clock.now() < end) {
      await clock.runForAsync(Math.min(5, end - clock.now()), 100_000)
      safety.check(nodes.values())
    }
  }
  /** A live follower receiving a snapshot now, if any. */
  const receiving = (): SimNode | undefined => [...nodes.values()].find((s) => s.node?.snapshotStreaming?.receiver.receiving !== undefined && !s.node.isLeader())

  const faults = networkFaults(net, prng, note)
  await run(300)
  const clients = [0, 1, 2].map((n) => runClient(n))
  const end = clock.now() + prng.int(2000, 3500)
  while (clock.now() < end) {
    await run(prng.int(20, 150))
    const r = prng.next()
    const rx = receiving()
    if (rx !== undefined && r < 0.3) {
      // aimed at the transfer in progress
      const what = prng.next()
      if (what < 0.4) {
        summary.crashMidTransfer++
        note(`crash ${rx.id} mid-transfer (${JSON.stringify(rx.node!.snapshotStreaming!.receiver.receiving)})`)
        crash(rx)
      } else {
        const l = leader()
        if (l === undefined) continue
        summary.leaderChangeMidTransfer++
        if (what < 0.7) { note(`isolate leader ${l.id} mid-transfer`); faults.isolate(l) } else {
          const to = IDS.find((id) => id !== l.id && id !== rx.id)!
          note(`transfer ${l.id} -> ${to} mid-transfer`)
          l.node!.transferLeadership(to).catch(() => {})
        }
      }
      continue
    }
    if (r < 0.25) {
      // cut a follower off so that it falls behind the compacted log
      const l = leader()
      const f = IDS.filter((id) => id !== l?.id)[prng.int(0, 1)]
      note(`cut off ${f}`)
      net.partition([f])
    } else if (r < 0.4) faults.heal()
    else if (r < 0.5) faults.linkFaults(0.15)
    else if (r < 0.55) { corruptRate.p = prng.next() * 0.05; note(`corrupt chunks p=${corruptRate.p.toFixed(3)}`) } else if (r < 0.65) {
      const up = IDS.filter((id) => nodes.get(id)!.node !== undefined)
      if (up.length > 2) crash(nodes.get(up[prng.int(0, up.length - 1)])!)
    } else if (r < 0.8) {
      const down = IDS.filter((id) => nodes.get(id)!.node === undefined)
      if (down.length > 0) boot(nodes.get(down[0])!)
    }
  }
  w.issuing = false
  corruptRate.p = 0
  faults.healAll(IDS)
  for (const s of nodes.values()) if (s.node === undefined) boot(s)
  note('healed; all nodes restarted')
  await finishAndCheck({ workload: w, now: () => clock.now(), run, fail, clients, finalRead: (key) => perform('final', { type: 'get', key }), keys: KEYS })
  for (const s of nodes.values()) { tally(s); await s.node?.stop() }
  for (const s of nodes.values()) if (s.node?.raft !== undefined && s.node.raft.log.snapshot.data.length > 0) fail(`${s.id}'s core holds snapshot bytes`)
  summary.ops = w.ops
  return summary
}

const env = process.env

describe('raft simulation: streamed snapshots', () => {
  it('3 nodes: lagging followers catch up from chunked snapshots through loss, duplication, reordering, corruption, leader changes and crashes mid-transfer', async () => {
    const all: Summary[] = []
    const t0 = performance.now()
    await runSeeds(Number(env.RAFT_SNAP_SIM_SEEDS ?? 100), async (seed, prng) => { all.push(await simulate(seed, prng)) }, { env, name: 'streamed snapshots', baseSeed: 200_001 })
    const sum = (k: keyof Summary): number => all.reduce((a, s) => a + s[k], 0)
    console.log(`streamed snapshots: ${all.length} seeds in ${(performance.now() - t0).toFixed(0)} ms; ops ${sum('ops')}, snapshots delivered ${sum('delivered')}, ` +
      `chunks sent ${sum('chunks')}, corrupted ${sum('corrupt')}, crashes mid-transfer ${sum('crashMidTransfer')}, leader changes mid-transfer ${sum('leaderChangeMidTransfer')}`)
    for (const s of all) expect(s.peakInflight).toBeLessThanOrEqual(s.window)
    if (all.length >= 20) {
      expect(sum('delivered')).toBeGreaterThan(all.length / 2)
      expect(sum('corrupt')).toBeGreaterThan(0)
      expect(sum('crashMidTransfer')).toBeGreaterThan(0)
      expect(sum('leaderChangeMidTransfer')).toBeGreaterThan(0)
    }
  }, 900_000)
})
