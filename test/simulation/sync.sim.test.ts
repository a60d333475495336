/**
 * Many-seed simulation of the sync protocol: one hub (SyncServer + HubRoom
 * on a durable in-memory log) and 2–5 clients (SyncClient + Doc) on the
 * in-memory network with partitions, one-way blocks, loss, duplication,
 * reordering, small frames (chunking), client crashes and hub crashes.
 *
 * Checked:
 * - after healing, every client and the hub hold the same `toJSON()` and
 *   state vector, and no client has unacknowledged updates left;
 * - durability: whenever the hub crashes, everything it had acknowledged to
 *   a client is in its log (the restarted hub rebuilds from the log alone).
 *
 * Replay a failure with `AEGIS_SEED=<n> npx vitest run test/simulation/sync.sim.test.ts`;
 * `AEGIS_SEEDS=<k>` runs more seeds.
 */
import { describe, expect, it } from 'vitest'
import { Doc } from 'aegis-replication'
import { InMemoryNetwork, type PeerId, type Transport } from 'aegis-replication/transport'
import { Prng, runSeeds } from 'aegis-replication/testing'
import { HubRoom, type RoomStore, SyncClient, SyncServer, type ServerConnection, type ClientRoom } from 'aegis-replication/sync'

const ROOM = 'board'
const MAX_FRAME = 512

/** The hub's disk: survives crashes; a write takes virtual time, and one in flight at a crash never lands. */
class MemoryLog implements RoomStore {
  readonly updates: Uint8Array[] = []
  /** Bumped by a crash. */
  epoch = 0
  constructor (private readonly writeDelay: () => Promise<void>) {}
  async append (update: Uint8Array): Promise<void> {
    const epoch = this.epoch
    await this.writeDelay()
    if (epoch !== this.epoch) return new Promise<void>(() => {}) // the process died mid-write: never resolves
    this.updates.push(update)
  }
  rebuild (): Doc {
    const d = new Doc({ replicaId: 'hub' })
    for (const u of this.updates) d.applyUpdate(u)
    return d
  }
}

class HubPeer {
  transport: Transport | undefined
  server: SyncServer | undefined
  room: HubRoom | undefined
  private conns = new Map<PeerId, ServerConnection>()

  constructor (private readonly net: InMemoryNetwork, readonly log: MemoryLog) {}

  get up (): boolean { return this.transport !== undefined }

  start (): void {
    const t = this.net.createTransport('hub')
    const clock = this.net.clockFor('hub')
    this.transport = t
    this.conns = new Map()
    this.room = undefined
    const server = this.server = new SyncServer({
      maxFrameBytes: MAX_FRAME,
      now: () => clock.now(),
      openRoom: async (name) => (this.room = new HubRoom(name, this.log.rebuild(), this.log))
    })
    const connOf = (peer: PeerId): ServerConnection => {
      let c = this.conns.get(peer)
      if (c === undefined) {
        c = server.connect(peer, { send: (f) => { if (this.transport === t) t.send(peer, f) }, close: () => { this.conns.delete(peer) } })
        this.conns.set(peer, c)
      }
      return c
    }
    t.on('message', (from, frame) => connOf(from).receive(frame))
    t.on('peer-left', (peer) => { this.conns.get(peer)?.disconnected(); this.conns.delete(peer) })
    t.on('close', () => { if (this.transport === t) this.transport = undefined })
  }
}

class ClientPeer {
  readonly doc: Doc
  transport: Transport | undefined
  client: SyncClient | undefined
  room: ClientRoom | undefined
  /** This client's own version when the hub had acknowledged everything. */
  ackedOwn = 0

  constructor (readonly id: PeerId, private readonly net: InMemoryNetwork) {
    this.doc = new Doc({ replicaId: id })
  }

  get up (): boolean { return this.transport !== undefined }

  start (): void {
    const t = this.net.createTransport(this.id)
    const clock = this.net.clockFor(this.id)
    this.transport = t
    const client = this.client = new SyncClient({
      send: (f) => { if (this.transport === t) t.send('hub' as PeerId, f) },
      now: () => clock.now(),
      maxFrameBytes: MAX_FRAME,
      resendAfterMs: 300,
      resyncEveryMs: 1000
    })
    const room = this.room = client.addRoom(ROOM, this.doc)
    room.on('pending', (n) => { if (n === 0) this.ackedOwn = this.doc.version().get(this.id) })
    t.on('message', (from, frame) => { if (from === 'hub') client.receive(frame) })
    t.on('peer-joined', (peer) => { if (peer === 'hub') client.connected() })
    t.on('peer-left', (peer) => { if (peer === 'hub') client.disconnected() })
    t.on('close', () => { if (this.transport === t) { this.transport = undefined; client.destroy() } })
    if (t.peers().includes('hub' as PeerId)) client.connected()
    const tick = (): void => {
      if (this.transport !== t) return
      client.tick()
      clock.setTimeout(tick, 100)
    }
    clock.setTimeout(tick, 100)
  }

  edit (prng: Prng, step: number): void {
    const r = prng.next()
    const key = `k${prng.int(0, 8)}`
    if (r < 0.35) this.doc.map('tasks').set(key, `${this.id}@${step}`)
    else if (r < 0.5) this.doc.map('tasks').delete(key)
    else if (r < 0.65) this.doc.map('tasks').map(key).counter('votes').increment(prng.int(1, 3))
    else if (r < 0.8) this.doc.set('tags').add(`t${prng.int(0, 5)}`)
    else if (r < 0.9) this.doc.set('tags').remove(`t${prng.int(0, 5)}`)
    else this.doc.register('big').set('x'.repeat(prng.int(600, 3000)) + step) // over the frame limit: chunked
  }
}

const json = (d: Doc): string => JSON.stringify(d.toJSON())
const sv = (d: Doc): string => JSON.stringify(d.version().toJSON())

interface Summary { edits: number, hubCrashes: number, clientCrashes: number, dropped: number, duplicated: number }

const simulate = async (seed: number, prng: Prng): Promise<Summary> => {
  const summary: Summary = { edits: 0, hubCrashes: 0, clientCrashes: 0, dropped: 0, duplicated: 0 }
  const net = new InMemoryNetwork({
    seed,
    latency: { min: prng.int(0, 5), max: prng.int(5, 60) },
    loss: prng.next() * 0.2,
    duplicate: prng.next() * 0.2,
    reorder: prng.next() * 0.3,
    traceLimit: 100
  })
  // the hub's clock as of now: a crash cancels the timers of the old one
  const log = new MemoryLog(() => new Promise<void>(resolve => { net.clockFor('hub').setTimeout(resolve, prng.int(0, 30)) }))
  const hub = new HubPeer(net, log)
  hub.start()
  const clients = Array.from({ length: prng.int(2, 6) }, (_, i) => new ClientPeer(`c${i}` as PeerId, net))
  for (const c of clients) c.start()
  const ids = ['hub', ...clients.map(c => c.id)]

  const steps = prng.int(20, 40)
  for (let step = 0; step < steps; step++) {
    const r = prng.next()
    if (r < 0.45) {
      prng.pick(clients).edit(prng, step) // offline clients edit too
      summary.edits++
    } else if (r < 0.55) {
      const shuffled = prng.shuffle([...ids])
      const cut = prng.int(1, ids.length - 1)
      net.partition(shuffled.slice(0, cut), shuffled.slice(cut))
    } else if (r < 0.62) {
      net.block(prng.pick(ids), prng.pick(ids))
    } else if (r < 0.72) {
      net.heal()
    } else if (r < 0.8) {
      const up = clients.filter(c => c.up)
      if (up.length > 0) { net.crash(prng.pick(up).id); summary.clientCrashes++ }
    } else if (r < 0.87) {
      if (hub.up) {
        // durability: all the hub acknowledged must be in its log
        const rebuilt = log.rebuild()
        for (const c of clients) {
          if (rebuilt.version().get(c.id) < c.ackedOwn) {
            throw new Error(`hub lost acknowledged updates of ${c.id}: log has ${rebuilt.version().get(c.id)}, acked ${c.ackedOwn}`)
          }
        }
        net.crash('hub')
        log.epoch++
        summary.hubCrashes++
      }
    } else {
      if (!hub.up) hub.start()
      for (const c of clients) if (!c.up && prng.next() < 0.5) c.start()
    }
    await net.runForAsync(prng.int(0, 300))
  }

  net.heal()
  for (const a of ids) for (const b of ids) if (a !== b) net.setLinkOptions(a, b, {})
  if (!hub.up) hub.start()
  for (const c of clients) if (!c.up) c.start()
  const done = (): boolean => {
    const room = hub.room
    if (room === undefined) return false
    const want = json(room.doc)
    const wantSv = sv(room.doc)
    return clients.every(c => c.room?.synced === true && c.room.pending === 0 && json(c.doc) === want && sv(c.doc) === wantSv)
  }
  const ok = await net.runUntilAsync(done, 120_000)
  if (!ok) {
    const state = clients.map(c => `${c.id}: ${c.room?.status} pending=${c.room?.pending} ${json(c.doc).slice(0, 120)}`).join('\n')
    throw new Error(`no convergence 120 s after healing\nhub: ${hub.room === undefined ? 'no room' : json(hub.room.doc).slice(0, 120)}\n${state}\nlast network events:\n${net.formatTrace(30)}`)
  }
  // and the hub's log alone holds it all
  expect(json(log.rebuild())).toBe(json(hub.room!.doc))
  summary.dropped = net.stats.dropped
  summary.duplicated = net.stats.duplicated
  return summary
}

describe('simulation: sync protocol through a hub on the in-memory network', () => {
  it('clients and hub converge, and nothing acknowledged is lost, under partitions, loss, duplication, reordering and crashes', async () => {
    const total: Summary = { edits: 0, hubCrashes: 0, clientCrashes: 0, dropped: 0, duplicated: 0 }
    await runSeeds(300, async (seed, prng) => {
      const s = await simulate(seed, prng)
      for (const k of Object.keys(total) as Array<keyof Summary>) total[k] += s[k]
    }, { env: process.env, name: 'clients and hub converge' })
    console.log('sync simulation totals', total)
    if (process.env.AEGIS_SEED === undefined) for (const [k, v] of Object.entries(total)) expect(v, k).toBeGreaterThan(0)
  })
})
