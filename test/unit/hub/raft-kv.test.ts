/**
 * The hubs' Raft KV over real WebSockets on 127.0.0.1: a hub of one, a
 * group of three where clients talk to followers (forwarded to the leader),
 * racing claims with exactly one winner, a linearizable history of
 * concurrent clients, auth, and a hub without a group.
 */
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { Doc } from 'aegis-replication'
import { KvRequestError } from 'aegis-replication/sync'
import { WebSocketProvider } from 'aegis-replication/websocket'
import { type Hub } from 'aegis-replication/hub'
import { checkLinearizable, HistoryRecorder } from '../../support/linearizability.js'
import { kvModel, type KvInput, type KvOutput } from '../../support/kv-model.js'
import { freePort, until as untilWithin } from '../../support/net.js'
import { destroyLater, startHub } from './hub-harness.js'

const until = async (cond: () => boolean, what: string, ms = 20_000): Promise<void> => { await untilWithin(cond, what, ms) }

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array | null): string | null => b === null ? null : new TextDecoder().decode(b)

const FAST = { electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 30 }

/** Three hubs on fixed free ports, each knowing the other two. */
const startGroup = async (): Promise<Hub[]> => {
  const ports = await Promise.all([0, 1, 2].map(async () => await freePort()))
  const ids = ['n1', 'n2', 'n3']
  const urls = Object.fromEntries(ids.map((id, i) => [id, `ws://127.0.0.1:${ports[i]}`]))
  return await Promise.all(ids.map(async (id, i) => await startHub({
    port: ports[i], id, peers: Object.fromEntries(ids.filter(p => p !== id).map(p => [p, urls[p]])), raft: FAST, clusterSecret: 'raft-kv-test-secret-0123456789'
  })))
}

const client = (hub: Hub, token?: string): WebSocketProvider => {
  const p = new WebSocketProvider(hub.url, 'kv-test-room', new Doc(), { WebSocket: WebSocket as never, token })
  destroyLater(p)
  return p
}

const leaderOf = (group: Hub[]): string | undefined => {
  const leaders = group.map(h => h.metrics().raft).filter(r => r?.role === 'leader')
  return leaders.length === 1 ? leaders[0]!.id : undefined
}

describe('hub Raft KV', () => {
  it('a hub of one serves put, get, cas, delete and range through provider.kv', async () => {
    const hub = await startHub({ id: 'solo', raft: FAST })
    const kv = client(hub).kv
    await kv.put('board/name', enc('Roadmap'))
    expect(dec(await kv.get('board/name'))).toBe('Roadmap')
    expect(await kv.cas('board/name', enc('Roadmap'), enc('Plans'))).toBe(true)
    expect(await kv.cas('board/name', enc('Roadmap'), enc('Other'))).toBe(false)
    expect(await kv.cas('seat/1', null, enc('alice'))).toBe(true)
    expect((await kv.range('', null)).map(e => e.key)).toEqual(['board/name', 'seat/1'])
    expect(await kv.delete('seat/1')).toBe(true)
    expect(await kv.get('seat/1')).toBe(null)
    expect(hub.metrics().raft?.role).toBe('leader')
  })

  it('three hubs: followers forward to the leader, and of racing claims exactly one wins', async () => {
    const group = await startGroup()
    await until(() => leaderOf(group) !== undefined, 'a leader')
    const leader = leaderOf(group)!
    const followers = group.filter(h => h.metrics().raft?.id !== leader)
    const [a, b] = followers.map(h => client(h).kv)
    const results = await Promise.all([a.cas('name/acme', null, enc('alice')), b.cas('name/acme', null, enc('bob'))])
    expect(results.filter(Boolean)).toHaveLength(1)
    const winner = results[0] ? 'alice' : 'bob'
    for (const h of group) expect(dec(await client(h).kv.get('name/acme'))).toBe(winner)
  })

  it('concurrent clients on all three hubs produce a linearizable history', async () => {
    const group = await startGroup()
    await until(() => leaderOf(group) !== undefined, 'a leader')
    const t0 = performance.now()
    const recorder = new HistoryRecorder<KvInput, KvOutput>(() => performance.now() - t0)
    const clients = group.flatMap(h => [client(h), client(h)])
    let step = 0
    await Promise.all(clients.map(async (c, ci) => {
      for (let i = 0; i < 15; i++) {
        const key = `k${(ci + i) % 3}`
        const v = `c${ci}-${i}`
        const n = step++ % 4
        if (n === 0) {
          const op = recorder.invoke(ci, { op: 'put', key, value: v })
          await c.kv.put(key, enc(v)); op.ok({ op: 'put' })
        } else if (n === 1 || n === 3) {
          const op = recorder.invoke(ci, { op: 'get', key })
          op.ok({ op: 'get', value: dec(await c.kv.get(key)) })
        } else {
          const cur = dec(await c.kv.get(key))
          const op = recorder.invoke(ci, { op: 'cas', key, expected: cur, next: v })
          op.ok({ op: 'cas', ok: await c.kv.cas(key, cur === null ? null : enc(cur), enc(v)) })
        }
      }
    }))
    const r = checkLinearizable(recorder.operations, kvModel)
    expect(r, JSON.stringify(r)).toEqual({ ok: true })
  })

  it('auth decides KV access under the room "@kv": read-only tokens cannot write, denied ones cannot read', async () => {
    const hub = await startHub({
      id: 'solo', raft: FAST,
      auth: (token, room) => room !== '@kv' ? 'write' : token === 'admin' ? 'write' : token === 'viewer' ? 'read' : 'deny'
    })
    await client(hub, 'admin').kv.put('x', enc('1'))
    const viewer = client(hub, 'viewer').kv
    expect(dec(await viewer.get('x'))).toBe('1')
    await expect(viewer.put('x', enc('2'))).rejects.toBeInstanceOf(KvRequestError)
    await expect(client(hub, 'nobody').kv.get('x')).rejects.toThrow(/denied/)
  })

  it('a hub without --id refuses KV requests with a reason', async () => {
    const hub = await startHub({})
    await expect(client(hub).kv.get('x')).rejects.toThrow(/no Raft group/)
  })
})
