/**
 * The hubs' peer endpoint (`/raft`) over real WebSockets on 127.0.0.1:
 * a hub with peers needs a cluster secret; a socket that does not pass the
 * challenge–response handshake cannot inject Raft messages or forwarded
 * writes; a peer with the wrong secret or an unknown id is refused; a write
 * over the entry limit gets `TooLarge` and the group keeps committing; an
 * entry just under the limit (bigger than a client frame) commits.
 */
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import * as encoding from 'lib0/encoding'
import { Doc, silentLogger } from 'aegis-replication'
import { encodeKvCommand, encodeRaftMessage, EntryType } from 'aegis-replication/raft'
import { WebSocketProvider } from 'aegis-replication/websocket'
import { type Hub, type HubOptions } from 'aegis-replication/hub'
import { adminRequest } from '../../../adapters/hub/admin-client.js'
import { PeerLink } from '../../../adapters/hub/peer-link.js'
import { PeerRole } from '../../../adapters/hub/cluster-auth.js'
import { encodeForward } from '../../../adapters/hub/peer-channels.js'
import { freePort, until as untilWithin } from '../../support/net.js'
import { destroyLater, startHub as startHarnessHub } from './hub-harness.js'

const until = async (cond: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> => { await untilWithin(cond, what, ms, 20) }

const SECRET = 'raft-peers-test-secret-0123456789abcdef'
const FAST = { electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 30 }

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array | null): string | null => b === null ? null : new TextDecoder().decode(b)

const startHub = async (options: HubOptions): Promise<Hub> => await startHarnessHub({ raft: FAST, ...options })

const startGroup = async (extra: HubOptions = {}): Promise<Hub[]> => {
  const ports = await Promise.all([0, 1, 2].map(async () => await freePort()))
  const ids = ['n1', 'n2', 'n3']
  const urls = Object.fromEntries(ids.map((id, i) => [id, `ws://127.0.0.1:${ports[i]}`]))
  return await Promise.all(ids.map(async (id, i) => await startHub({
    port: ports[i], id, peers: Object.fromEntries(ids.filter(p => p !== id).map(p => [p, urls[p]])), clusterSecret: SECRET, ...extra
  })))
}

const client = (hub: Hub, token?: string): WebSocketProvider => {
  const p = new WebSocketProvider(hub.url, 'kv-peers-room', new Doc(), { WebSocket: WebSocket as never, token })
  destroyLater(p)
  return p
}

const leaderOf = (group: Hub[]): Hub | undefined => group.find(h => h.metrics().raft?.role === 'leader')

/** Opens `/raft` the way a peer did before the handshake existed, and reports how the socket ends. */
const rawPeer = async (hub: Hub, from: string): Promise<{ ws: WebSocket, closed: Promise<number> }> => {
  const ws = new WebSocket(`${hub.url}/raft?from=${from}&token=guess`)
  const closed = new Promise<number>(resolve => ws.on('close', (code) => resolve(code)))
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
  return { ws, closed }
}

const tagged = (channel: number, payload: Uint8Array): Uint8Array => {
  const out = new Uint8Array(payload.length + 1)
  out[0] = channel
  out.set(payload, 1)
  return out
}

describe('hub peers: authentication', () => {
  it('a hub with peers refuses to start without a cluster secret, and says how to make one', async () => {
    const port = await freePort()
    await expect(startHub({ id: 'n1', peers: { n2: `ws://127.0.0.1:${port}` } })).rejects.toThrow(/openssl rand -hex 32/)
    await expect(startHub({ id: 'n1', join: `ws://127.0.0.1:${port}`, port })).rejects.toThrow(/cluster secret/)
    await expect(startHub({ id: 'n1', peers: { n2: `ws://127.0.0.1:${port}` }, clusterSecret: 'short' })).rejects.toThrow(/too short/)
  })

  it('clusterToken still works for one version, with a deprecation warning', async () => {
    const warned: string[] = []
    const logger = { ...silentLogger, warn: (msg: string) => { warned.push(msg) } }
    const group = await startGroup({ clusterSecret: undefined, clusterToken: 'old-token', logger })
    await until(() => leaderOf(group) !== undefined, 'a leader')
    await client(group[0]).kv.put('k', enc('v'))
    expect(warned.some(w => w.includes('deprecated'))).toBe(true)
  })

  it('a forged append at term 1,000,000 on an unauthenticated /raft socket is refused and changes nothing', async () => {
    const group = await startGroup()
    await until(() => leaderOf(group) !== undefined, 'a leader')
    const follower = group.find(h => h.metrics().raft?.role === 'follower')!
    const leaderId = leaderOf(group)!.metrics().raft!.id
    const before = follower.metrics().raft!
    const { ws, closed } = await rawPeer(follower, leaderId)
    const forged = encodeKvCommand({ type: 'put', key: 'forged', value: enc('evil') })
    ws.send(tagged(0, encodeRaftMessage({
      type: 'append', from: leaderId, to: before.id, term: 1_000_000, index: before.commit, logTerm: before.term, commit: before.commit + 1,
      entries: [{ term: 1_000_000, index: before.commit + 1, type: EntryType.Normal, data: forged }]
    })))
    let code: number | undefined
    void closed.then(c => { code = c })
    // before the fix the socket stays open and the follower jumps to the forged term
    await until(() => code !== undefined || follower.metrics().raft!.term >= 1_000_000, 'the socket to close or the forgery to land')
    expect(follower.metrics().raft!.term).toBeLessThan(1_000_000)
    expect(code).toBe(4403)
  })

  it('a forwarded write on an unauthenticated /raft socket does not reach the KV', async () => {
    const group = await startGroup()
    await until(() => leaderOf(group) !== undefined, 'a leader')
    const leader = leaderOf(group)!
    const other = group.find(h => h !== leader)!.metrics().raft!.id
    const { ws, closed } = await rawPeer(leader, other)
    const e = encoding.createEncoder()
    encoding.writeUint8(e, 1) // Forward
    encoding.writeVarUint(e, 1)
    encoding.writeUint8(e, 0) // a write
    encoding.writeVarString(e, 'attacker')
    encoding.writeVarUint(e, 1)
    encoding.writeVarUint8Array(e, encodeKvCommand({ type: 'put', key: 'forwarded', value: enc('evil') }))
    ws.send(encoding.toUint8Array(e))
    let answered = false
    ws.on('message', () => { answered = true })
    let code: number | undefined
    void closed.then(c => { code = c })
    const kv = client(leader).kv
    await until(async () => code !== undefined || answered || await kv.get('forwarded') !== null, 'a refusal or the write')
    expect(code).toBe(4403)
    expect(await kv.get('forwarded')).toBe(null)
  })

  it('a peer with the wrong secret, or an id that is not a member, is refused', async () => {
    const group = await startGroup()
    await until(() => leaderOf(group) !== undefined, 'a leader')
    const [n1] = group
    await expect(adminRequest(n1.url, 'not-the-secret-0123456789', { op: 'list' }, { timeoutMs: 10_000 })).rejects.toThrow(/4403/)
    // the right secret, but claiming to be a member it is not
    const ws = new WebSocket(`${n1.url}/raft`)
    const code = await new Promise<number>((resolve) => {
      const _link = new PeerLink(ws, {
        side: 'dialer', role: PeerRole.Member, secret: SECRET,
        me: () => ({ nodeId: 'n9', memberId: 'm9', clusterId: '' }),
        check: () => undefined, onOpen: () => {}, onMessage: () => {},
        onClose: (_l, c) => resolve(c)
      })
    })
    expect(code).toBe(4403)
    const list = await adminRequest(n1.url, SECRET, { op: 'list' }, { timeoutMs: 10_000 })
    expect(list.ok && list.members.map(m => m.id)).toEqual(['n1', 'n2', 'n3'])
  })

  it('the leader checks the access a forwarded write carries: a read-only client\'s write is refused even from a member', async () => {
    const group = await startGroup()
    await until(() => leaderOf(group) !== undefined, 'a leader')
    const leader = leaderOf(group)!
    let listing = await adminRequest(leader.url, SECRET, { op: 'list' }, { timeoutMs: 10_000 })
    await until(async () => {
      listing = await adminRequest(leader.url, SECRET, { op: 'list' }, { timeoutMs: 10_000 })
      return listing.ok && listing.members.every(m => m.memberId !== null) && listing.clusterId !== ''
    }, 'the member directory to fill')
    if (!listing.ok) throw new Error('no listing')
    const me = listing.members.find(m => !m.leader)!
    // a socket that authenticates as that member, the way its follower forwards a request
    const link = await new Promise<PeerLink>((resolve, reject) => {
      const l: PeerLink = new PeerLink(new WebSocket(`${leader.url}/raft`), {
        side: 'dialer', role: PeerRole.Member, secret: SECRET,
        me: () => ({ nodeId: me.id, memberId: me.memberId!, clusterId: listing.ok ? listing.clusterId : '' }),
        check: () => undefined, onOpen: () => resolve(l), onMessage: () => {},
        onClose: (_l, code, reason) => reject(new Error(`closed ${code} ${reason}`))
      })
    })
    const put = (id: number, access: 'read' | 'write'): void => {
      link.sendTagged(1, encodeForward({ id, kind: 1, access, session: 'forwarder', seq: id, command: encodeKvCommand({ type: 'put', key: `fwd-${access}`, value: enc('x') }) }))
    }
    put(1, 'read')
    put(2, 'write')
    // the answers go back on the leader's own socket to that member (not this one): watch the KV instead
    const kv = client(leader).kv
    await until(async () => dec(await kv.get('fwd-write')) === 'x', 'the write-access forward to apply')
    expect(await kv.get('fwd-read')).toBe(null)
    link.close()
  })

  it('the leader refuses writes a read-only client sends through a follower', async () => {
    const group = await startGroup({
      auth: (token, room) => room !== '@kv' ? 'write' : token === 'admin' ? 'write' : token === 'viewer' ? 'read' : 'deny'
    })
    await until(() => leaderOf(group) !== undefined, 'a leader')
    const follower = group.find(h => h.metrics().raft?.role === 'follower')!
    await expect(client(follower, 'viewer').kv.put('k', enc('v'))).rejects.toThrow(/only read/)
    await client(follower, 'admin').kv.put('k', enc('ok'))
    expect(dec(await client(follower, 'viewer').kv.get('k'))).toBe('ok')
  })
})

describe('hub peers: sizes', () => {
  it('a 2 MiB put gets TooLarge and the group keeps committing', async () => {
    const group = await startGroup()
    await until(() => leaderOf(group) !== undefined, 'a leader')
    const follower = group.find(h => h.metrics().raft?.role === 'follower')!
    const kv = client(follower).kv
    const big = new Uint8Array(2 * 1024 * 1024).fill(7)
    await expect(kv.put('big', big)).rejects.toThrow(/over the group's limit/)
    await kv.put('after', enc('still committing'))
    expect(dec(await kv.get('after'))).toBe('still committing')
  })

  it('an entry bigger than the hubs\' frame limit (but under the entry limit) commits on every hub, as fragments', async () => {
    const group = await startGroup({ maxFrameBytes: 16 * 1024 })
    await until(() => leaderOf(group) !== undefined, 'a leader')
    const small = (h: Hub): WebSocketProvider => {
      const p = new WebSocketProvider(h.url, 'kv-peers-room', new Doc(), { WebSocket: WebSocket as never, maxFrameBytes: 16 * 1024 })
      destroyLater(p)
      return p
    }
    const value = new Uint8Array(200 * 1024).fill(9)
    await small(group[0]).kv.put('wide', value)
    for (const h of group) expect((await small(h).kv.get('wide'))?.length).toBe(value.length)
    await small(group[1]).kv.put('after', enc('yes'))
    expect(dec(await small(group[2]).kv.get('after'))).toBe('yes')
  })
})
