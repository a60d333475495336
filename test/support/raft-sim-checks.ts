/**
 * What the Raft simulations (test/simulation/raft*.sim.test.ts) share: the
 * safety checks run on the nodes' cores, the KV client workload that records
 * a history, and the end-of-run liveness, convergence and linearizability
 * checks.
 */
import type { Prng } from 'aegis-replication/testing'
import {
  decodeKvResult, encodeKvCommand,
  type Entry, type KvCommand, type KvStateMachine, type RaftNode
} from 'aegis-replication/raft'
import { HistoryRecorder, checkLinearizable } from './linearizability.js'
import { kvInputOf, kvModel, kvOutputOf, type KvInput, type KvOutput } from './kv-model.js'

/** A simulated node as the checks see it. */
export interface CheckedNode {
  id: string
  incarnation: number
  removed: boolean
  node: RaftNode | undefined
  sm: KvStateMachine | undefined
}

/** Throws the simulation's failure (with its log). */
export type Fail = (msg: string) => never

const dataKey = (e: Entry): string => `${e.type}:${Array.from(e.data).join(',')}`

/**
 * Election safety (one leader a term), leader completeness, state-machine
 * safety (no two nodes commit different entries at an index) and, every
 * tenth `check`, log matching. `onLeader` hears of each term's first leader.
 */
export class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, string>()
  private readonly committed = new Map<number, { term: number, data: string }>()
  private maxCommitted = 0
  private readonly checkedTo = new Map<string, number>()
  private checks = 0
  constructor (private readonly fail: Fail, private readonly onLeader: (id: string, term: number) => void) {}

  /** Checks one node's core (if it runs). */
  checkNode (s: CheckedNode): void {
    const core = s.node?.raft
    if (core === undefined) return
    const l = core.log
    if (core.role === 'leader') {
      const prev = this.leaderOfTerm.get(core.term)
      if (prev !== undefined && prev !== s.id) this.fail(`two leaders in term ${core.term}: ${prev} and ${s.id}`)
      if (prev === undefined) {
        this.leaderOfTerm.set(core.term, s.id)
        this.onLeader(s.id, core.term)
        for (let i = l.snapshot.index + 1; i <= this.maxCommitted; i++) {
          const c = this.committed.get(i)
          if (c !== undefined && l.termAt(i) !== c.term) this.fail(`leader completeness: ${s.id}, leader of term ${core.term}, lacks committed entry ${i} (term ${c.term}, has ${l.termAt(i)})`)
        }
      }
    }
    const key = `${s.id}#${s.incarnation}`
    for (let i = Math.max(this.checkedTo.get(key) ?? 0, l.snapshot.index) + 1; i <= l.committed; i++) {
      const e = l.entries[i - l.snapshot.index - 1]
      const c = this.committed.get(i)
      if (c === undefined) { this.committed.set(i, { term: e.term, data: dataKey(e) }); this.maxCommitted = Math.max(this.maxCommitted, i) }
      else if (c.term !== e.term || c.data !== dataKey(e)) this.fail(`state-machine safety: ${s.id} committed a different entry at ${i}: term ${e.term} vs ${c.term}`)
    }
    this.checkedTo.set(key, Math.max(this.checkedTo.get(key) ?? 0, l.committed))
  }

  /** Checks every running node; log matching every tenth call. */
  check (nodes: Iterable<CheckedNode>): void {
    this.checks++
    const live = [...nodes].filter((s) => s.node?.raft !== undefined)
    for (const s of live) this.checkNode(s)
    if (this.checks % 10 !== 0) return
    for (let a = 0; a < live.length; a++) {
      for (let b = a + 1; b < live.length; b++) {
        const la = live[a].node!.raft!.log
        const lb = live[b].node!.raft!.log
        const lo = Math.max(la.snapshot.index, lb.snapshot.index)
        let i = Math.min(la.lastIndex(), lb.lastIndex())
        while (i > lo && la.termAt(i) !== lb.termAt(i)) i--
        for (let j = i; j > lo; j--) {
          if (la.termAt(j) !== lb.termAt(j)) this.fail(`log matching: ${live[a].id} and ${live[b].id} agree at ${i} but differ at ${j}`)
        }
      }
    }
  }
}

/** How a workload reaches the simulation. */
export interface KvWorkloadOptions<N extends CheckedNode> {
  nodes: Map<string, N>
  prng: Prng
  now: () => number
  sleep: (ms: number) => Promise<void>
}

/** One operation's way of being sent. */
export interface PerformOptions<N extends CheckedNode> {
  /**
   * Sends the encoded command to `to` once (a proposal for a write, a read
   * otherwise). An error with `outcome: 'unknown'` ends the operation
   * (left pending in the history); any other is retried.
   */
  send: (to: N, write: boolean, bytes: Uint8Array) => Promise<Uint8Array>
  /** Called with the answer of a completed operation (and the node that gave it). */
  answered?: (to: N, result: Uint8Array) => void
  /** The first node to try, given the one that last served the client. @default that one */
  firstTarget?: (write: boolean, last: string | undefined) => string | undefined
}

/**
 * Clients issuing KV operations to the simulated nodes, retried on any error
 * (following a leader hint, else any live node), recorded in a history.
 */
export class KvWorkload<N extends CheckedNode> {
  readonly history: HistoryRecorder<KvInput, KvOutput>
  /** Clients start new operations while set. */
  issuing = true
  /** Set at the end: operations still running give up. */
  finished = false
  inFlight = 0
  ops = 0
  completed = 0
  /** Operations given up with an unknown outcome (they stay pending in the history). */
  unknown = 0
  /** Where each client sends requests: the node that last served it, until that fails. */
  private readonly targets = new Map<string, string | undefined>()
  constructor (private readonly o: KvWorkloadOptions<N>) {
    this.history = new HistoryRecorder<KvInput, KvOutput>(o.now)
  }

  /** The node named `id` (live or not). */
  node (id: string): N | undefined { return this.o.nodes.get(id) }
  liveNodes (): N[] { return [...this.o.nodes.values()].filter((s) => s.node !== undefined && !s.removed) }
  leader (): N | undefined { return this.liveNodes().find((s) => s.node!.isLeader()) }

  /** Runs one client operation until it completes (or the run finishes). */
  async perform (client: string, cmd: KvCommand, p: PerformOptions<N>): Promise<void> {
    const { prng, nodes, sleep } = this.o
    this.ops++
    this.inFlight++
    const h = this.history.invoke(client, kvInputOf(cmd))
    const bytes = encodeKvCommand(cmd)
    const write = cmd.type !== 'get' && cmd.type !== 'range'
    let target = this.targets.get(client)
    if (p.firstTarget !== undefined) target = p.firstTarget(write, target)
    for (;;) {
      if (this.finished) { this.inFlight--; return }
      const s = target !== undefined ? nodes.get(target) : undefined
      const to = s?.node !== undefined && !s.removed ? s : (this.leader() ?? this.liveNodes()[prng.int(0, Math.max(0, this.liveNodes().length - 1))])
      if (to?.node === undefined) { await sleep(20); continue }
      try {
        const res = await p.send(to, write, bytes)
        if (this.finished) { this.inFlight--; return }
        h.ok(kvOutputOf(decodeKvResult(res)))
        p.answered?.(to, res)
        this.targets.set(client, to.id)
        this.completed++
        this.inFlight--
        return
      } catch (err) {
        const e = (err instanceof AggregateError ? err.errors[0] : err) as Error & { leaderHint?: string, outcome?: string }
        // the client gave up: whether it took effect is unknown (it stays pending: it may or may not have happened)
        if (e.outcome === 'unknown') { this.unknown++; this.inFlight--; return }
        // follow a leader hint; otherwise try any node (a real client does not know who leads)
        const live = this.liveNodes()
        target = e.name === 'NotLeaderError' && e.leaderHint !== undefined ? e.leaderHint : live.length > 0 ? live[prng.int(0, live.length - 1)].id : undefined
        this.targets.set(client, target)
        await sleep(prng.int(5, 30))
      }
    }
  }
}

/** What the end-of-run checks drive. */
export interface FinishOptions<N extends CheckedNode> {
  workload: KvWorkload<N>
  now: () => number
  /** Runs the simulation (and the safety checks) for `ms` of virtual time. */
  run: (ms: number) => Promise<void>
  fail: Fail
  /** The client loops. */
  clients: Array<Promise<unknown>>
  /** Reads `key` through the workload (joins the history). */
  finalRead: (key: string) => Promise<void>
  keys: string[]
  /** Said of a history that is not linearizable. */
  notLinearizable?: string
  /** Called before the linearizability check. */
  beforeCheck?: () => void
}

/**
 * With faults healed: a leader is elected and every operation completes
 * (15 s), the clients stop, a final read of every key joins the history,
 * every member catches up and holds the same state, and the history is
 * linearizable. Returns the final members.
 */
export const finishAndCheck = async <N extends CheckedNode>(f: FinishOptions<N>): Promise<string[]> => {
  const { workload: w, run, fail, now } = f
  const deadline = now() + 15_000
  while (now() < deadline && (w.inFlight > 0 || w.leader() === undefined)) await run(50)
  if (w.leader() === undefined) fail('liveness: no leader 15 s after healing')
  if (w.inFlight > 0) fail(`liveness: ${w.inFlight} client operations still pending 15 s after healing`)
  const settled = async (p: Promise<unknown>, what: string, ms: number): Promise<void> => {
    let done = false
    void p.then(() => { done = true })
    const until = now() + ms
    while (!done && now() < until) await run(20)
    if (!done) fail(`liveness: ${what} did not complete within ${ms} ms after healing`)
  }
  await settled(Promise.all(f.clients), 'the clients', 1000)
  for (const key of f.keys) await settled(f.finalRead(key), `the final read of ${key}`, 5000)

  const nodeOf = (id: string): N | undefined => w.node(id)
  const membersOf = (l: N): string[] => { const c = l.node!.status().conf; return [...c.voters, ...c.learners] }
  const converged = (): boolean => {
    const l = w.leader()
    if (l === undefined) return false
    const commit = l.node!.status().commit
    return membersOf(l).every((id) => nodeOf(id)?.node?.raft !== undefined && nodeOf(id)!.node!.status().applied >= commit)
  }
  const until = now() + 10_000
  while (!converged() && now() < until) await run(50)
  const l = w.leader()
  if (l === undefined) fail('liveness: no leader at the end')
  const members = membersOf(l!)
  if (!converged()) fail(`members did not catch up: ${members.map((id) => `${id}@${nodeOf(id)?.node?.status().applied}`).join(' ')} vs commit ${l!.node!.status().commit}`)
  const states = members.map((id) => Array.from(nodeOf(id)!.sm!.snapshot() as Uint8Array).join(','))
  if (new Set(states).size !== 1) fail(`members hold different states: ${members.join(',')}`)
  w.finished = true
  f.beforeCheck?.()
  const result = checkLinearizable(w.history.operations, kvModel)
  if (result.ok !== true) fail(`${f.notLinearizable ?? 'history is not linearizable'}: ${JSON.stringify(result).slice(0, 2000)}`)
  return members
}

/** The network of a simulation, as the fault script drives it. */
interface FaultNet {
  partition: (ids: string[]) => void
  block: (from: string, to: string) => void
  heal: () => void
  setOptions: (o: { loss: number, duplicate: number, reorder: number }) => void
  setLinkOptions: (from: string, to: string, o: { latency?: { min: number, max: number } }) => void
}

/**
 * The network faults the simulations inject (each draws from `prng` in a
 * fixed order, so a seed replays), noted in the simulation log.
 */
export const networkFaults = (net: FaultNet, prng: Prng, note: (s: string) => void) => {
  const pick = (xs: string[]): string => xs[prng.int(0, xs.length - 1)]
  return {
    /** Cuts the leader off from everyone. */
    isolate: (leader: { id: string } | undefined): void => {
      if (leader !== undefined) { net.partition([leader.id]); note(`isolate leader ${leader.id}`) }
    },
    /** Splits `ids` in two at random. */
    partition: (ids: string[]): void => {
      const cut = ids.filter(() => prng.next() < 0.4)
      net.partition(cut)
      note(`partition [${cut.join(',')}] | rest`)
    },
    /** Blocks one direction between two of `ids`. */
    block: (ids: string[]): void => {
      const a = pick(ids)
      const b = pick(ids)
      if (a !== b) { net.block(a, b); note(`block ${a} -> ${b}`) }
    },
    heal: (): void => { net.heal(); note('heal') },
    /** New loss (up to `maxLoss`), duplication and reordering on every link. */
    linkFaults: (maxLoss: number): void => {
      net.setOptions({ loss: prng.next() * maxLoss, duplicate: prng.next() * 0.1, reorder: prng.next() * 0.2 })
      note('link faults changed')
    },
    /** A slow link between two of `ids`. */
    delaySpike: (ids: string[], latency: { min: number, max: number }): void => {
      const a = pick(ids)
      const b = pick(ids)
      if (a !== b) { net.setLinkOptions(a, b, { latency }); note(`delay spike ${a} -> ${b}`) }
    },
    /** Heals every partition and link fault among `pool`. */
    healAll: (pool: string[]): void => {
      net.heal()
      net.setOptions({ loss: 0, duplicate: 0, reorder: 0 })
      for (const a of pool) for (const b of pool) if (a !== b) net.setLinkOptions(a, b, {})
    }
  }
}
