/**
 * Runtime membership of the hubs' Raft group over real WebSockets on
 * 127.0.0.1: the member directory binds each node id to a member id; a hub
 * whose data directory was wiped is refused until `members remove` and
 * `members add`; a hub joins with `join`; a hub of another cluster (same
 * secret) is refused; a leader that removes itself hands over first.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { Doc, type Logger } from 'aegis-replication'
import { WebSocketProvider } from 'aegis-replication/websocket'
import { createHub, type Hub, type HubOptions } from 'aegis-replication/hub'
import { adminRequest } from '../../../adapters/hub/admin-client.js'
import { runMembersCli } from '../../../adapters/hub/members-cli.js'
import type { AdminAnswer } from '../../../adapters/hub/membership.js'
import { freePort, until as untilWithin } from '../../support/net.js'

const until = async (cond: () => boolean | Promise<boolean>, what: string, ms = 40_000): Promise<void> => { await untilWithin(cond, what, ms, 25) }

const SECRET = 'raft-membership-test-secret-0123456789'
const FAST = { electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 30 }

let root = ''
const hubs = new Set<Hub>()
const providers: WebSocketProvider[] = []
afterEach(async () => {
  for (const p of providers.splice(0)) p.destroy()
  for (const h of hubs) await h.close()
  hubs.clear()
  if (root !== '') await rm(root, { recursive: true, force: true })
  root = ''
  delete process.env.AEGIS_HUB_CLUSTER_SECRET
})

/** Warnings the hubs logged, for the refusals. */
const warnings: string[] = []
const logger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (msg, fields) => { warnings.push(`${msg} ${JSON.stringify(fields ?? {})}`) },
  error: (msg, fields) => { warnings.push(`${msg} ${JSON.stringify(fields ?? {})}`) }
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array | null): string | null => b === null ? null : new TextDecoder().decode(b)

const startHub = async (name: string, options: HubOptions): Promise<Hub> => {
  if (root === '') root = await mkdtemp(join(tmpdir(), 'aegis-raft-members-'))
  const dataDir = join(root, name)
  await mkdir(dataDir, { recursive: true })
  const hub = await createHub({ dataDir, logger, fsync: false, raft: FAST, clusterSecret: SECRET, ...options })
  hubs.add(hub)
  return hub
}

interface Group { hubs: Map<string, Hub>, ports: Record<string, number>, url: (id: string) => string, peersOf: (id: string) => Record<string, string> }

const startGroup = async (): Promise<Group> => {
  const ids = ['n1', 'n2', 'n3']
  const ports = Object.fromEntries(await Promise.all(ids.map(async id => [id, await freePort()] as const)))
  const url = (id: string): string => `ws://127.0.0.1:${ports[id]}`
  const peersOf = (id: string): Record<string, string> => Object.fromEntries(ids.filter(p => p !== id).map(p => [p, url(p)]))
  const started = await Promise.all(ids.map(async id => [id, await startHub(id, { port: ports[id], id, peers: peersOf(id) })] as const))
  return { hubs: new Map(started), ports, url, peersOf }
}

const client = (hub: Hub): WebSocketProvider => {
  const p = new WebSocketProvider(hub.url, 'kv-members-room', new Doc(), { WebSocket: WebSocket as never })
  providers.push(p)
  return p
}

const list = async (hub: Hub): Promise<Extract<AdminAnswer, { ok: true }>> => {
  const a = await adminRequest(hub.url, SECRET, { op: 'list' }, { timeoutMs: 10_000 })
  if (!a.ok) throw new Error(a.error)
  return a
}

const leaderOf = (g: Group): string | undefined => [...g.hubs.values()].map(h => h.metrics().raft).find(r => r?.role === 'leader')?.id

/** The directory is complete: a cluster id, and every member's URL and member id. */
const bound = async (hub: Hub, n: number): Promise<boolean> => {
  const l = await list(hub)
  return l.clusterId !== '' && l.members.length === n && l.members.every(m => m.memberId !== null && m.url !== null)
}

describe('hub membership', () => {
  it('--peers only bootstraps: a restart with other peers warns and keeps the configuration in the log', async () => {
    const port = await freePort()
    const first = await startHub('solo', { port, id: 'n1' })
    await until(() => first.metrics().raft?.role === 'leader', 'the hub of one to lead')
    await first.close()
    hubs.delete(first)
    warnings.length = 0
    const again = await startHub('solo', { port, id: 'n1', peers: { n2: `ws://127.0.0.1:${await freePort()}` } })
    expect(warnings.some(w => w.includes('--peers differs from the configuration in the Raft log'))).toBe(true)
    await until(() => again.metrics().raft?.role === 'leader', 'the hub of one to lead again')
    expect(again.metrics().raft?.voters).toEqual(['n1'])
  })

  it('a hub whose data directory was wiped is refused as a voter until it is removed and added again', async () => {
    const g = await startGroup()
    await until(async () => leaderOf(g) !== undefined && await bound(g.hubs.get('n1')!, 3), 'the member directory to fill')
    const old = (await list(g.hubs.get('n1')!)).members.find(m => m.id === 'n3')!.memberId
    await client(g.hubs.get('n1')!).kv.put('before', enc('1'))

    // n3 loses its disk and comes back with the same id and peers
    const n3 = g.hubs.get('n3')!
    await n3.close()
    hubs.delete(n3)
    await rm(join(root, 'n3'), { recursive: true, force: true })
    warnings.length = 0
    g.hubs.set('n3', await startHub('n3', { port: g.ports.n3, id: 'n3', peers: g.peersOf('n3') }))
    await until(() => warnings.some(w => w.includes('refused a peer hub socket') && w.includes('new data directory')), 'the group to refuse the wiped hub')
    expect((await list(g.hubs.get('n1')!)).members.find(m => m.id === 'n3')!.memberId).toBe(old)
    await client(g.hubs.get('n2')!).kv.put('during', enc('2')) // two of three still commit

    // re-add it: remove (through any member), then add with its URL
    process.env.AEGIS_HUB_CLUSTER_SECRET = SECRET
    const out: string[] = []
    await runMembersCli(['remove', 'n3', '--hub', g.hubs.get('n2')!.url], l => out.push(l))
    expect((await list(g.hubs.get('n1')!)).members.map(m => m.id)).toEqual(['n1', 'n2'])
    await runMembersCli(['add', `n3=${g.url('n3')}`, '--hub', g.hubs.get('n1')!.url], l => out.push(l))
    await until(async () => {
      const n = (await list(g.hubs.get('n1')!)).members.find(m => m.id === 'n3')
      return n?.role === 'voter' && n.memberId !== null && n.memberId !== old
    }, 'n3 to be a voter again with its new member id')
    expect(dec(await client(g.hubs.get('n3')!).kv.get('during'))).toBe('2')
    expect(dec(await client(g.hubs.get('n3')!).kv.get('before'))).toBe('1')
    expect(out.join('')).toMatch(/n3\tvoter/)
  })

  it('a new hub joins with `join`, catches up and serves reads; members list shows it everywhere', async () => {
    const g = await startGroup()
    await until(async () => leaderOf(g) !== undefined && await bound(g.hubs.get('n1')!, 3), 'the member directory to fill')
    await client(g.hubs.get('n2')!).kv.put('seen-by-n4', enc('hello'))
    const port = await freePort()
    const n4 = await startHub('n4', { port, id: 'n4', join: g.hubs.get('n2')!.url })
    await until(() => n4.metrics().raft?.voters.includes('n4') === true, 'n4 to be promoted to voter')
    expect(dec(await client(n4).kv.get('seen-by-n4'))).toBe('hello')
    for (const h of [...g.hubs.values(), n4]) await until(async () => await bound(h, 4), 'every hub to know n4')
    const l = await list(g.hubs.get('n3')!)
    expect(l.members.find(m => m.id === 'n4')?.url).toBe(`ws://127.0.0.1:${port}`)
  })

  it('a hub of another cluster (same secret) is refused', async () => {
    const g = await startGroup()
    await until(async () => leaderOf(g) !== undefined && await bound(g.hubs.get('n1')!, 3), 'the member directory to fill')
    const port = await freePort()
    const other = await startHub('x1', { port, id: 'x1' })
    await until(async () => (await list(other)).clusterId !== '', 'the other cluster to get its id')
    warnings.length = 0
    // added by mistake: the group dials it and refuses it (its promotion never comes)
    void adminRequest(g.hubs.get('n1')!.url, SECRET, { op: 'add', id: 'x1', url: `ws://127.0.0.1:${port}` }, { timeoutMs: 5_000 }).catch(() => {})
    await until(() => warnings.some(w => w.includes('another cluster')), 'the refusal of the other cluster\'s hub')
  })

  it('a leader asked to remove itself hands leadership over first', async () => {
    const g = await startGroup()
    await until(async () => leaderOf(g) !== undefined && await bound(g.hubs.get('n1')!, 3), 'the member directory to fill')
    const leader = leaderOf(g)!
    process.env.AEGIS_HUB_CLUSTER_SECRET = SECRET
    await runMembersCli(['remove', leader, '--hub', g.hubs.get(leader)!.url], () => {})
    const rest = [...g.hubs.entries()].filter(([id]) => id !== leader).map(([, h]) => h)
    await until(() => rest.some(h => h.metrics().raft?.role === 'leader'), 'a new leader among the others')
    expect((await list(rest[0])).members.map(m => m.id)).not.toContain(leader)
    await client(rest[0]).kv.put('after-removal', enc('ok'))
    expect(dec(await client(rest[1]).kv.get('after-removal'))).toBe('ok')
  })
})
