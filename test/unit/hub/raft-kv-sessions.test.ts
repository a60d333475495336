/**
 * Exactly-once KV sessions end to end on an in-process hub (a Raft group of
 * one): the client's acknowledged point (`ackedSeq`) travels from the wire
 * into the log, so the group drops answers the client has, refuses a retry
 * of an acknowledged request, and tells an expired session from a new one.
 * Each test uses requests whose second application would show (a `cas` from
 * absent, with the key deleted by another session in between).
 */
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { encodeKvCommand, decodeKvResult } from 'aegis-replication/raft'
import { decodeMessage, KvStatus, MessageType, SyncClient, type KvRequestMessage } from 'aegis-replication/sync'
import type { Hub } from 'aegis-replication/hub'
import { KvSocket, type RawKvAnswer } from '../../support/kv-socket.js'
import { later, startHub } from './hub-harness.js'
import { freePort, until } from '../../support/net.js'

const TIMEOUT_MS = 400
const TIMING = { electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 30 }
/** Sessions expire after 400 ms idle (for the expiry tests only: on a loaded machine other tests could idle that long). */
const FAST = { ...TIMING, sessionLimits: { timeoutMs: TIMEOUT_MS } }
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

let unique = 0
const open = async (hub: Hub): Promise<KvSocket> => { const s = await KvSocket.open(hub.url); later(() => s.close()); return s }
const ok = (a: RawKvAnswer): RawKvAnswer => { expect(a.status, a.reason).toBe(KvStatus.Ok); return a }
/** Another session's write (its leader timestamp moves the sessions' clock). */
const other = async (s: KvSocket, cmd: Parameters<KvSocket['send']>[0]['cmd']): Promise<void> => { ok(await s.send({ session: `other-${++unique}`, seq: 1, ackedSeq: 0, cmd })) }
const read = async (s: KvSocket, key: string): Promise<string | null> => {
  const r = ok(await s.send({ session: 'reader', seq: 0, cmd: { type: 'get', key } })).result!
  return r.type === 'get' && r.value !== null ? new TextDecoder().decode(r.value) : null
}

/**
 * A hub whose replicated session timeout is in force: a probe session
 * writes, idles past the timeout, another session writes, and the probe's
 * next request is refused as expired (the leader proposes the limits
 * shortly after it is elected; until then probes stay alive).
 */
const hubWithExpiry = async (): Promise<{ hub: Hub, s: KvSocket }> => {
  const hub = await startHub({ id: 'solo', raft: FAST })
  const s = await open(hub)
  await expiryInForce(s)
  return { hub, s }
}

const expiryInForce = async (s: KvSocket): Promise<void> => {
  const end = Date.now() + 20_000
  for (let probe = 0; Date.now() < end; probe++) {
    const a = await s.send({ session: `probe-${probe}`, seq: 1, ackedSeq: 0, cmd: { type: 'put', key: 'probe', value: enc('x') } })
    if (a.status !== KvStatus.Ok) { await sleep(50); continue }
    await sleep(TIMEOUT_MS + 200)
    await other(s, { type: 'put', key: 'probe', value: enc('y') })
    const b = await s.send({ session: `probe-${probe}`, seq: 2, ackedSeq: 1, cmd: { type: 'put', key: 'probe', value: enc('z') } })
    if (b.status === KvStatus.SessionExpired) return
  }
  throw new Error('no probe session was ever refused as expired: the hub does not carry ackedSeq into the log')
}

describe('hub Raft KV sessions (ackedSeq end to end)', () => {
  it('a pipelined request 2 that overtakes request 1: both apply once; retries get the stored answers until acknowledged', async () => {
    const hub = await startHub({ id: 'solo', raft: TIMING })
    const s = await open(hub)
    const cas = (key: string, v: string) => ({ type: 'cas', key, expected: null, next: enc(v) }) as const
    // request 2 reaches the group first
    const [a2, a1] = await Promise.all([s.send({ session: 'p', seq: 2, ackedSeq: 0, cmd: cas('a2', '2') }), s.send({ session: 'p', seq: 1, ackedSeq: 0, cmd: cas('a1', '1') })])
    expect([ok(a1).result, ok(a2).result]).toEqual([{ type: 'cas', ok: true }, { type: 'cas', ok: true }])
    await other(s, { type: 'delete', key: 'a1' })
    await other(s, { type: 'delete', key: 'a2' })
    // retries (their answers were lost): the stored answers, not a second cas
    expect(ok(await s.send({ session: 'p', seq: 1, ackedSeq: 0, cmd: cas('a1', '1') })).result).toEqual({ type: 'cas', ok: true })
    expect(ok(await s.send({ session: 'p', seq: 2, ackedSeq: 0, cmd: cas('a2', '2') })).result).toEqual({ type: 'cas', ok: true })
    expect([await read(s, 'a1'), await read(s, 'a2')]).toEqual([null, null])
    // the client acknowledges both: a stray duplicate of either is refused, never applied
    ok(await s.send({ session: 'p', seq: 3, ackedSeq: 2, cmd: { type: 'put', key: 'a3', value: enc('3') } }))
    const late = await s.send({ session: 'p', seq: 1, ackedSeq: 2, cmd: cas('a1', '1') })
    expect(late.status).toBe(KvStatus.SessionExpired)
    expect(late.reason).toMatch(/at or below its acknowledged point/)
    expect(await read(s, 'a1')).toBe(null)
  })

  it('a retry of an answered request after later ones were acknowledged: stored answer while unacknowledged, SessionExpired after, never a second apply', async () => {
    const hub = await startHub({ id: 'solo', raft: TIMING })
    const s = await open(hub)
    const cas = (key: string) => ({ type: 'cas', key, expected: null, next: enc(key) }) as const
    ok(await s.send({ session: 'r', seq: 1, ackedSeq: 0, cmd: { type: 'put', key: 'b1', value: enc('1') } }))
    ok(await s.send({ session: 'r', seq: 2, ackedSeq: 1, cmd: cas('b2') }))
    ok(await s.send({ session: 'r', seq: 3, ackedSeq: 1, cmd: cas('b3') })) // 2's answer "lost": the point stays at 1
    await other(s, { type: 'delete', key: 'b2' })
    await other(s, { type: 'delete', key: 'b3' })
    expect(ok(await s.send({ session: 'r', seq: 2, ackedSeq: 1, cmd: cas('b2') })).result).toEqual({ type: 'cas', ok: true })
    ok(await s.send({ session: 'r', seq: 4, ackedSeq: 3, cmd: { type: 'put', key: 'b4', value: enc('4') } }))
    const again = await s.send({ session: 'r', seq: 3, ackedSeq: 3, cmd: cas('b3') })
    expect(again.status).toBe(KvStatus.SessionExpired)
    expect([await read(s, 'b2'), await read(s, 'b3')]).toEqual([null, null])
  })

  it('an expired session gets SessionExpired (not a second apply); the client goes on with a new session', async () => {
    const { hub, s } = await hubWithExpiry()
    // a raw session: request 2 applied, its answer lost; the session idles past the timeout
    ok(await s.send({ session: 'idle', seq: 1, ackedSeq: 0, cmd: { type: 'put', key: 'c1', value: enc('1') } }))
    ok(await s.send({ session: 'idle', seq: 2, ackedSeq: 1, cmd: { type: 'cas', key: 'c2', expected: null, next: enc('2') } }))
    await sleep(TIMEOUT_MS + 200)
    await other(s, { type: 'delete', key: 'c2' })
    const retry = await s.send({ session: 'idle', seq: 2, ackedSeq: 1, cmd: { type: 'cas', key: 'c2', expected: null, next: enc('2') } })
    expect(retry.status).toBe(KvStatus.SessionExpired)
    expect(await read(s, 'c2')).toBe(null)

    // the library's client: its next write after the idle spell is refused once, then goes in session `app.1`
    const ws = new WebSocket(hub.url)
    later(() => ws.terminate())
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
    const sent: KvRequestMessage[] = []
    const client = new SyncClient({ send: (f) => { const m = decodeMessage(f); if (m.type === MessageType.KvRequest) sent.push(m); ws.send(f) }, kvSession: 'app' })
    ws.on('message', (data: Buffer) => { client.receive(new Uint8Array(data)) })
    client.connected()
    const put = (v: string): Uint8Array => encodeKvCommand({ type: 'put', key: 'app', value: enc(v) })
    await client.kv(put('first'))
    await sleep(TIMEOUT_MS + 200)
    await other(s, { type: 'put', key: 'tick', value: enc('t') })
    expect(decodeKvResult(await client.kv(put('second')))).toEqual({ type: 'put' })
    expect(sent.map(m => [m.session, m.seq, m.ackedSeq])).toEqual([['app', 1, 0], ['app', 2, 1], ['app.1', 1, 0]])
    expect(await read(s, 'app')).toBe('second')
    client.destroy()
  })

  it('through a follower: the forward to the leader carries ackedSeq, so an expired session is refused there too', async () => {
    const ports = await Promise.all([0, 1, 2].map(async () => await freePort()))
    const ids = ['n1', 'n2', 'n3']
    const urls = Object.fromEntries(ids.map((id, i) => [id, `ws://127.0.0.1:${ports[i]}`]))
    const group = await Promise.all(ids.map(async (id, i) => await startHub({
      port: ports[i], id, peers: Object.fromEntries(ids.filter(p => p !== id).map(p => [p, urls[p]])), raft: FAST, clusterSecret: 'raft-kv-sessions-secret-0123456789'
    })))
    await until(() => group.filter(h => h.metrics().raft?.role === 'leader').length === 1, 'a leader', 20_000)
    const follower = group.find(h => h.metrics().raft?.role !== 'leader')!
    const s = await open(follower)
    await expiryInForce(s)
    ok(await s.send({ session: 'via', seq: 1, ackedSeq: 0, cmd: { type: 'put', key: 'f1', value: enc('1') } }))
    ok(await s.send({ session: 'via', seq: 2, ackedSeq: 1, cmd: { type: 'cas', key: 'f2', expected: null, next: enc('2') } }))
    await sleep(TIMEOUT_MS + 200)
    await other(s, { type: 'delete', key: 'f2' })
    const retry = await s.send({ session: 'via', seq: 2, ackedSeq: 1, cmd: { type: 'cas', key: 'f2', expected: null, next: enc('2') } })
    expect(retry.status).toBe(KvStatus.SessionExpired)
    expect(await read(s, 'f2')).toBe(null)
  })
})
