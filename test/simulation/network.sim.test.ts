/**
 * Many-seed simulation of the in-memory network: peers run a tiny
 * anti-entropy gossip of grow-only sets through random partitions, one-way
 * blocks, loss, duplication, reordering and crashes. Once the network heals
 * and every peer is back, all peers must converge on every element ever
 * added. A failing seed is reported with its replay command
 * (`AEGIS_SEED=<n> npx vitest run test/simulation/network.sim.test.ts`);
 * `AEGIS_SEEDS=<k>` runs more seeds.
 */
import { describe, expect, it } from 'vitest'
import { InMemoryNetwork, type PeerId, type Transport } from 'aegis-replication/transport'
import { Prng, runSeeds } from 'aegis-replication/testing'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Frame: 1 byte kind (0 = push, 1 = push that asks for a reply), then the JSON array of elements. */
const encode = (kind: 0 | 1, elements: Iterable<string>): Uint8Array => {
  const body = encoder.encode(JSON.stringify([...elements]))
  const frame = new Uint8Array(body.length + 1)
  frame[0] = kind
  frame.set(body, 1)
  return frame
}
const decode = (frame: Uint8Array): { kind: number, elements: string[] } =>
  ({ kind: frame[0], elements: JSON.parse(decoder.decode(frame.subarray(1))) as string[] })

interface GossipOptions {
  /** Milliseconds between two gossip rounds of one peer. */
  interval: number
  /** Answer a push with what the sender lacks (push-pull). Off only to show the check catches divergence. */
  pull: boolean
}

/**
 * A grow-only set replicated by anti-entropy: every `interval` ms (jittered)
 * a peer pushes its whole set to one random known peer and asks for a reply;
 * a peer that has elements the sender lacked answers with its set. The set
 * is durable (it survives crashes); the transport and timers are not.
 */
class GossipPeer {
  readonly set = new Set<string>()
  private transport: Transport | undefined
  private rounds = 0

  constructor (readonly id: PeerId, private readonly net: InMemoryNetwork, private readonly prng: Prng, private readonly options: GossipOptions) {}

  get up (): boolean {
    return this.transport !== undefined
  }

  add (element: string): void {
    this.set.add(element)
  }

  /** Attaches a fresh transport and starts the gossip timer (after a crash: a restart). */
  start (): void {
    const t = this.net.createTransport(this.id)
    this.transport = t
    t.on('message', (from, frame) => this.receive(t, from, frame))
    t.on('close', () => { if (this.transport === t) this.transport = undefined })
    const clock = this.net.clockFor(this.id)
    const tick = (): void => {
      if (this.transport !== t) return
      const peers = t.peers()
      if (peers.length > 0) t.send(this.prng.pick(peers), encode(1, this.set))
      this.rounds++
      clock.setTimeout(tick, this.options.interval * (0.5 + this.prng.next()))
    }
    clock.setTimeout(tick, this.prng.next() * this.options.interval)
  }

  private receive (t: Transport, from: PeerId, frame: Uint8Array): void {
    const { kind, elements } = decode(frame)
    const theirs = new Set(elements)
    for (const e of elements) this.set.add(e)
    if (kind === 1 && this.options.pull && [...this.set].some((e) => !theirs.has(e))) t.send(from, encode(0, this.set))
  }
}

const sameSets = (peers: GossipPeer[], expected: Set<string>): boolean =>
  peers.every((p) => p.set.size === expected.size && [...expected].every((e) => p.set.has(e)))

/** What one run went through, to check that the faults really happened. */
interface Summary { added: number, crashes: number, cuts: number, reordered: number, duplicated: number, dropped: number }

/** One seeded run; throws (with the tail of the network trace) if the peers do not converge after healing. */
const simulate = (seed: number, prng: Prng, gossip: Partial<GossipOptions> = {}): Summary => {
  const summary: Summary = { added: 0, crashes: 0, cuts: 0, reordered: 0, duplicated: 0, dropped: 0 }
  const n = prng.int(3, 6)
  const net = new InMemoryNetwork({
    seed,
    latency: { min: prng.int(0, 5), max: prng.int(5, 40) },
    loss: prng.next() * 0.3,
    duplicate: prng.next() * 0.2,
    reorder: prng.next() * 0.3,
    traceLimit: 200,
    onTrace: (e) => {
      if (e.type === 'crash') summary.crashes++
      else if (e.type === 'drop' && e.reason === 'partition') summary.cuts++
      else if (e.type === 'schedule' && e.reordered) summary.reordered++
    }
  })
  const options: GossipOptions = { interval: prng.int(10, 40), pull: true, ...gossip }
  const peers = Array.from({ length: n }, (_, i) => new GossipPeer(`p${i}` as PeerId, net, prng.fork(), options))
  const ids = peers.map((p) => p.id)
  peers.forEach((p) => p.start())
  const added = new Set<string>()

  // Chaos: random adds, partitions, blocks, per-link faults, crashes and restarts.
  const steps = prng.int(20, 40)
  for (let step = 0; step < steps; step++) {
    const r = prng.next()
    const up = peers.filter((p) => p.up)
    if (r < 0.35 && up.length > 0) {
      const p = prng.pick(up)
      const element = `${p.id}:${step}`
      p.add(element)
      added.add(element)
    } else if (r < 0.5) {
      const shuffled = prng.shuffle([...ids])
      const cut = prng.int(1, n - 1)
      net.partition(shuffled.slice(0, cut), shuffled.slice(cut))
    } else if (r < 0.6) {
      net.block(prng.pick(ids), prng.pick(ids))
    } else if (r < 0.7) {
      net.heal()
    } else if (r < 0.8) {
      net.setLinkOptions(prng.pick(ids), prng.pick(ids), { loss: prng.next(), latency: { min: 0, max: prng.int(1, 200) } })
    } else if (r < 0.9 && up.length > 1) {
      net.crash(prng.pick(up).id)
    } else {
      const down = peers.filter((p) => !p.up)
      if (down.length > 0) prng.pick(down).start()
    }
    net.runFor(prng.int(0, 150))
  }

  // Heal: every cut goes, every peer comes back; random faults stay (lossy links lose at most half).
  net.heal()
  for (const from of ids) for (const to of ids) if (from !== to) net.setLinkOptions(from, to, {})
  net.setOptions({ loss: Math.min(0.5, prng.next() * 0.3) })
  for (const p of peers) if (!p.up) p.start()

  const converged = net.runUntil(() => sameSets(peers, added), 60_000)
  if (!converged) {
    const sizes = peers.map((p) => `${p.id}:${p.set.size}/${added.size}`).join(' ')
    throw new Error(`no convergence 60 s after healing (${sizes}, ${JSON.stringify(net.stats)})\n` +
      `last network events:\n${net.formatTrace(40)}`)
  }
  const { duplicated, dropped } = net.stats
  return { ...summary, added: added.size, duplicated, dropped }
}

describe('simulation: anti-entropy gossip on the in-memory network', () => {
  it('grow-only sets converge after partitions, loss, duplication, reordering and crashes heal', () => {
    const total: Summary = { added: 0, crashes: 0, cuts: 0, reordered: 0, duplicated: 0, dropped: 0 }
    runSeeds(200, (seed, prng) => {
      const s = simulate(seed, prng)
      for (const k of Object.keys(total) as Array<keyof Summary>) total[k] += s[k]
    }, { env: process.env, name: 'grow-only sets converge' })
    // every kind of fault was exercised (over many seeds; a replayed single seed may lack some)
    if (process.env.AEGIS_SEED === undefined) for (const [k, v] of Object.entries(total)) expect(v, k).toBeGreaterThan(0)
  })

  it('a protocol that cannot converge is caught and reported with its seed and replay command', () => {
    const errors: string[] = []
    let thrown: unknown
    try {
      // Push only, and rarely: a peer that missed pushes during the chaos is never
      // answered, so over 20 seeds some run must leave a peer behind within the deadline.
      runSeeds(20, (seed, prng) => { simulate(seed, prng, { pull: false, interval: 40_000 }) }, {
        logger: { error: (msg) => errors.push(msg) },
        env: {}
      })
    } catch (err) {
      thrown = err
    }
    expect(thrown).toBeInstanceOf(Error)
    const message = (thrown as Error).message
    expect(message).toMatch(/^seed \d+ failed: no convergence/)
    expect(message).toMatch(/replay: AEGIS_SEED=\d+ npx vitest run test\/simulation\/network\.sim\.test\.ts/)
    expect(message).toContain('last network events:')
    expect(errors).toEqual([message])
  })
})
