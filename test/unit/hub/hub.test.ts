/**
 * The hub over real WebSockets on 127.0.0.1: relay, durable rooms, auth,
 * misbehaving clients, lazy loading and unloading, /healthz and /metrics,
 * and a `kill -9` of the hub process mid-stream (needs dist/: `npm test`
 * builds it).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { Doc, silentLogger } from 'aegis-replication'
import { decodeMessage, encodeMessage, ErrorCode, MessageType, SyncClient, type ClientRoom, type ClientRoomOptions, type SyncMessage } from 'aegis-replication/sync'
import { Prng } from 'aegis-replication/testing'
import { createHub, type Hub, type HubOptions } from 'aegis-replication/hub'
import { spawnListeningHub } from '../../support/hub-process.js'

const dirs: string[] = []
const hubs: Hub[] = []
const sockets: WebSocket[] = []
const children: ChildProcess[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate()
  for (const c of children.splice(0)) c.kill('SIGKILL')
  for (const h of hubs.splice(0)) await h.close()
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

const tempDir = async (): Promise<string> => {
  const d = await mkdtemp(join(tmpdir(), 'aegis-hub-'))
  dirs.push(d)
  return d
}

const startHub = async (options: HubOptions = {}): Promise<Hub> => {
  const hub = await createHub({ port: 0, dataDir: await tempDir(), logger: silentLogger, ...options })
  hubs.push(hub)
  return hub
}

const until = async (cond: () => boolean, what: string, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 5))
  }
}

/** Decodes a frame for a test to look at; undefined when it does not decode. */
const peek = (frame: Uint8Array): SyncMessage | undefined => {
  try { return decodeMessage(frame) } catch { return undefined }
}

/**
 * A bare client: one socket, SyncClient on it. `onSend` sees every message
 * the client sends, and `acked` records the seqs the hub acknowledged (per
 * room), frame by frame, so a test can count acknowledgements as the hub
 * gave them rather than wait for a moment with nothing in flight.
 */
const connect = async (url: string) => {
  const ws = new WebSocket(url)
  sockets.push(ws)
  ws.binaryType = 'arraybuffer'
  const closes: Array<{ code: number, reason: string }> = []
  const acked = new Map<string, Set<number>>()
  const onSend: Array<(m: SyncMessage) => void> = []
  const client = new SyncClient({
    send: (f) => {
      if (onSend.length > 0) { const m = peek(f); if (m !== undefined) for (const h of onSend) h(m) }
      ws.send(f)
    }
  })
  ws.on('message', (data) => {
    const frame = new Uint8Array(data as ArrayBuffer)
    const m = peek(frame)
    if (m?.type === MessageType.Ack) {
      let set = acked.get(m.room)
      if (set === undefined) acked.set(m.room, (set = new Set()))
      for (let seq = m.from; seq <= m.to; seq++) set.add(seq)
    }
    client.receive(frame)
  })
  ws.on('close', (code, reason) => { closes.push({ code, reason: reason.toString() }); client.disconnected() })
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
  client.connected()
  const join = async (room: string, doc: Doc, options?: ClientRoomOptions): Promise<ClientRoom> => {
    const r = client.addRoom(room, doc, options)
    await until(() => r.synced || r.status === 'denied', `room ${room} to sync`)
    return r
  }
  return { ws, client, closes, join, acked, onSend }
}

describe('hub', () => {
  it('relays between clients, acknowledges durably, and serves /healthz and /metrics', async () => {
    const hub = await startHub()
    const a = await connect(hub.url); const b = await connect(hub.url)
    const da = new Doc({ replicaId: 'a' }); const db = new Doc({ replicaId: 'b' })
    const ra = await a.join('board', da); await b.join('board', db)
    da.map('tasks').set('t1', { title: 'ship' })
    db.counter('votes').increment(3)
    await until(() => JSON.stringify(da.toJSON()) === JSON.stringify(db.toJSON()) && ra.pending === 0, 'convergence')
    expect(da.toJSON()).toEqual({ tasks: { t1: { title: 'ship' } }, votes: 3 })
    const base = `http://127.0.0.1:${hub.port}`
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' })
    const m = await (await fetch(`${base}/metrics.json`)).json() as Record<string, number>
    expect(m.rooms).toBe(1)
    expect(m.connections).toBe(2)
    expect(m.bytesIn).toBeGreaterThan(0)
    expect((await fetch(`${base}/nope`)).status).toBe(404)
  })

  it('keeps rooms on disk across a restart and loads them lazily', async () => {
    const dataDir = await tempDir()
    const first = await createHub({ port: 0, dataDir, logger: silentLogger })
    const a = await connect(first.url)
    const da = new Doc({ replicaId: 'a' })
    const ra = await a.join('notes', da)
    for (let i = 0; i < 50; i++) da.map('m').set(`k${i}`, i)
    await until(() => ra.pending === 0, 'acks')
    a.ws.terminate()
    await first.close()
    const second = await startHub({ dataDir })
    expect(second.metrics().rooms).toBe(0) // nothing loaded until someone joins
    const b = await connect(second.url)
    const db = new Doc({ replicaId: 'b' })
    await b.join('notes', db)
    expect(db.map('m').size).toBe(50)
    expect(second.metrics().rooms).toBe(1)
  })

  it('unloads idle rooms and reloads them on the next join', async () => {
    const hub = await startHub({ idleMs: 50 })
    const a = await connect(hub.url)
    const da = new Doc({ replicaId: 'a' })
    const ra = await a.join('r', da)
    da.set('s').add('x')
    await until(() => ra.pending === 0, 'ack')
    a.client.removeRoom('r')
    await until(() => hub.metrics().rooms === 0, 'unload')
    const db = new Doc({ replicaId: 'b' })
    await a.join('r', db)
    expect(db.set('s').values()).toEqual(['x'])
  })

  it('auth: a denied client gets nothing, a read-only client reads but cannot write', async () => {
    const hub = await startHub({ auth: async (token) => token === 'w' ? 'write' : token === 'r' ? 'read' : 'deny' })
    const w = await connect(hub.url); const r = await connect(hub.url); const x = await connect(hub.url)
    const dw = new Doc({ replicaId: 'w' }); const dr = new Doc({ replicaId: 'r' }); const dx = new Doc({ replicaId: 'x' })
    dw.map('m').set('from', 'writer')
    await w.join('r', dw, { token: 'w' })
    const rr = await r.join('r', dr, { token: 'r' })
    const rx = await x.join('r', dx, { token: 'nope' })
    expect(rx.status).toBe('denied')
    expect(dx.toJSON()).toEqual({})
    expect(dr.toJSON()).toEqual({ m: { from: 'writer' } })
    expect(rr.access).toBe('read')
    dr.map('m').set('from', 'reader') // stays local: a read-only room never sends
    await new Promise(res => setTimeout(res, 100))
    const check = new Doc({ replicaId: 'c' })
    await (await connect(hub.url)).join('r', check, { token: 'w' })
    expect(check.toJSON()).toEqual({ m: { from: 'writer' } })
  })

  it('closes a client that sends garbage with 4400; the others and the room carry on', async () => {
    const hub = await startHub()
    const good = await connect(hub.url); const bad = await connect(hub.url)
    const dg = new Doc({ replicaId: 'g' })
    const rg = await good.join('r', dg)
    bad.ws.send(new Uint8Array([1, 99, 0, 0, 7]))
    await until(() => bad.closes.length > 0, 'the bad client to be closed')
    expect(bad.closes[0].code).toBe(ErrorCode.BadMessage)
    dg.map('m').set('still', 'works')
    await until(() => rg.pending === 0, 'ack after the bad client left')
    const other = new Doc({ replicaId: 'o' })
    await (await connect(hub.url)).join('r', other)
    expect(other.toJSON()).toEqual({ m: { still: 'works' } })
  })

  it('fuzz: random and mutated frames from many clients never take the hub down or disturb a good client', async () => {
    const hub = await startHub({ messagesPerSecond: 100_000 })
    const good = await connect(hub.url)
    const dg = new Doc({ replicaId: 'good' })
    const rg = await good.join('r', dg)
    // valid frames to mutate: a join, an update, a state vector request
    const sample = new Doc({ replicaId: 'sample' })
    sample.map('m').set('k', 'v')
    const frames = [
      encodeMessage({ type: MessageType.Join, room: 'r', token: '', access: 'write', stateVector: sample.encodeStateVector() }),
      encodeMessage({ type: MessageType.Update, room: 'r', seq: 1, update: sample.encodeStateAsUpdate() }),
      encodeMessage({ type: MessageType.SyncStep1, room: 'r', stateVector: sample.encodeStateVector() })
    ]
    const prng = new Prng(1234)
    let closedByHub = 0
    for (let c = 0; c < 30; c++) {
      const evil = await connect(hub.url)
      evil.ws.on('close', () => { closedByHub++ })
      for (let i = 0; i < 40 && evil.ws.readyState === evil.ws.OPEN; i++) {
        const base = prng.pick(frames)
        const f = prng.next() < 0.3
          ? new Uint8Array(prng.int(0, 64)).map(() => prng.int(0, 255))
          : base.map((b, j) => (j === prng.int(0, base.length - 1) ? prng.int(0, 255) : b))
        evil.ws.send(prng.next() < 0.1 ? f.slice(0, prng.int(0, f.length)) : f)
      }
      dg.map('m').set(`round-${c}`, c)
    }
    await until(() => rg.pending === 0, 'the good client to be acknowledged')
    expect(closedByHub).toBeGreaterThan(0)
    expect((await fetch(`http://127.0.0.1:${hub.port}/healthz`)).status).toBe(200)
    const check = new Doc({ replicaId: 'check' })
    await (await connect(hub.url)).join('r', check)
    for (let c = 0; c < 30; c++) expect(check.map('m').get(`round-${c}`)).toBe(c)
  })

  it('a frame over the limit closes that connection (1009) and nothing else', async () => {
    const hub = await startHub({ maxFrameBytes: 4096 })
    const big = await connect(hub.url)
    big.ws.send(new Uint8Array(100_000))
    await until(() => big.closes.length > 0, 'close')
    expect(big.closes[0].code).toBe(1009)
    expect((await fetch(`http://127.0.0.1:${hub.port}/healthz`)).status).toBe(200)
  })
})

describe('hub process (aegis-hub CLI)', () => {
  const bin = fileURLToPath(new URL('../../../bin/aegis-hub.mjs', import.meta.url))
  const dist = fileURLToPath(new URL('../../../dist/hub.js', import.meta.url))

  const spawnHub = async (dataDir: string, port = 0): Promise<{ child: ChildProcess, url: string }> => {
    if (!existsSync(dist)) throw new Error('dist/hub.js is missing: run `npm run build` (npm test builds it)')
    return await spawnListeningHub(['--port', String(port), '--data', dataDir], children)
  }

  it('createHub on a port that is taken rejects with EADDRINUSE and the process keeps running', async () => {
    const first = await startHub()
    await expect(createHub({ port: first.port, dataDir: await tempDir(), logger: silentLogger })).rejects.toMatchObject({ code: 'EADDRINUSE' })
    expect((await fetch(`http://127.0.0.1:${first.port}/healthz`)).status).toBe(200)
  })

  it('--help prints the usage', async () => {
    if (!existsSync(dist)) throw new Error('dist/hub.js is missing: run `npm run build` (npm test builds it)')
    const child = spawn(process.execPath, [bin, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
    const code = await new Promise(r => child.once('exit', r))
    expect(code).toBe(0)
    expect(out).toMatch(/usage: aegis-hub \[--port 4444\]/)
  })

  it('every acknowledged update survives kill -9 of the hub mid-stream', async () => {
    const dataDir = await tempDir()
    const { child, url } = await spawnHub(dataDir)
    const port = Number(new URL(url).port)
    const a = await connect(url)
    const da = new Doc({ replicaId: 'writer' })
    const room = await a.join('stream', da)
    expect(room.pending).toBe(0)
    // each write goes out as one update frame: remember the key each seq
    // carries, and count as acknowledged exactly the seqs the hub's ack
    // frames name (on a loaded machine acks lag behind a writer every
    // millisecond, so `pending` rarely reaches 0 while it writes)
    let sent = 0
    const keyOfSeq = new Map<number, number>()
    a.onSend.push((m) => { if (m.type === MessageType.Update && m.room === 'stream') keyOfSeq.set(m.seq, sent) })
    const acked = (): Set<number> => a.acked.get('stream') ?? new Set()
    // write continuously; kill the hub once 200 writes are acknowledged, with more in flight
    const writer = setInterval(() => { sent++; da.map('m').set(`k${sent}`, sent) }, 1)
    await until(() => acked().size >= 200, '200 acknowledged writes', 60_000)
    child.kill('SIGKILL')
    await new Promise(r => child.once('exit', r))
    clearInterval(writer)
    const ackedAtKill = [...acked()].map(seq => keyOfSeq.get(seq))
    expect(ackedAtKill.every(k => k !== undefined), 'every acknowledged seq is one this test sent').toBe(true)
    console.log(`kill -9 with ${ackedAtKill.length} acknowledged of ${sent} written`)
    a.ws.terminate()
    const again = await spawnHub(dataDir, port)
    const b = await connect(again.url)
    const db = new Doc({ replicaId: 'reader' })
    await b.join('stream', db)
    for (const i of ackedAtKill as number[]) expect(db.map('m').get(`k${i}`), `k${i}`).toBe(i)
  })
})
