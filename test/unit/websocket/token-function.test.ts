/**
 * The token function's contract in detail: asked on every (re)connect, a
 * token that arrives after its socket dropped is never sent, a fixed token
 * the hub finds expired is final (the socket closes, no retry loop), and
 * the worker adapter (`RoomBackend`, what `exposeDoc` runs per room) hands a
 * function of the room through to its provider. A hub in the test process
 * (`SyncServer` over `ws` on 127.0.0.1) sees every token; timers run on a
 * manual clock.
 */
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { Doc } from 'aegis-replication'
import { Awareness, ErrorCode, HubRoom, SyncServer, type AuthDecision, type RoomStore } from 'aegis-replication/sync'
import { WebSocketProvider, type RoomError, type WebSocketProviderOptions } from 'aegis-replication/websocket'
import { RoomBackend } from 'aegis-replication/worker'
import { FakeClock } from '../../support/fake-clock.js'

interface TestHub { url: string, joins: string[], dropAll: () => void, close: () => Promise<void> }

const hubs: TestHub[] = []
const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
  for (const h of hubs.splice(0)) await h.close()
})

/** A hub whose `auth` records `room token` and asks `decide`. */
const startHub = async (decide: (token: string) => AuthDecision): Promise<TestHub> => {
  const joins: string[] = []
  const store: RoomStore = { append: async () => {} }
  const server = new SyncServer({
    auth: (token, room) => { joins.push(`${room} ${token}`); return decide(token) },
    openRoom: async (name) => new HubRoom(name, new Doc({ replicaId: 'hub' }), store)
  })
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve, reject) => { wss.once('listening', resolve); wss.once('error', reject) })
  let n = 0
  wss.on('connection', (ws) => {
    const conn = server.connect(`c${n++}`, { send: (frame) => ws.send(frame), close: (code, reason) => ws.close(code, reason) })
    ws.on('message', (data) => { const b = data as Buffer; conn.receive(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)) })
    ws.on('close', () => conn.disconnected())
  })
  const hub: TestHub = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    joins,
    dropAll: () => { for (const ws of wss.clients) ws.terminate() },
    close: async () => {
      for (const ws of wss.clients) ws.terminate()
      await new Promise<void>(resolve => wss.close(() => resolve()))
    }
  }
  hubs.push(hub)
  return hub
}

const provider = (url: string, room: string, opts: WebSocketProviderOptions): WebSocketProvider => {
  const p = new WebSocketProvider(url, room, new Doc(), { WebSocket: WebSocket as never, random: { next: () => 0.5 }, ...opts })
  cleanups.push(() => p.destroy())
  return p
}

const drive = async (clock: FakeClock, cond: () => boolean, what: string, stepMs = 100): Promise<void> => {
  const end = Date.now() + 30_000
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (fake time ${clock.now()} ms)`)
    clock.advance(stepMs)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

describe('token functions', () => {
  it('are asked on every reconnect; a token that arrives after its socket dropped is not sent', async () => {
    const clock = new FakeClock()
    const hub = await startHub(() => 'write')
    let n = 0
    const waiting: Array<(t: string) => void> = []
    const p = provider(hub.url, 'r', {
      clock,
      token: async () => await new Promise<string>(resolve => { n++; waiting.push(resolve) })
    })
    await drive(clock, () => waiting.length === 1, 'the first token request')
    waiting.shift()!(`t${n}`)
    await drive(clock, () => p.synced, 'the sync with t1')
    hub.dropAll()
    await drive(clock, () => waiting.length === 1, 'a token request on the reconnect')
    expect(n).toBe(2)
    // the socket drops again before the token comes: it must not be sent on the next socket
    const late = waiting.shift()!
    hub.dropAll()
    await drive(clock, () => waiting.length === 1, 'a token request on the second reconnect')
    late('t2-late')
    waiting.shift()!(`t${n}`)
    await drive(clock, () => p.synced, 'the sync with t3')
    expect(hub.joins).toEqual(['r t1', 'r t3'])
  })

  it('a fixed token the hub finds expired is final: the room is denied and the socket closes', async () => {
    const clock = new FakeClock()
    const hub = await startHub(() => 'expired')
    const p = provider(hub.url, 'r', { clock, token: 'old' })
    const errors: RoomError[] = []
    p.on('error', e => errors.push(e))
    await drive(clock, () => errors.length > 0 && p.status === 'disconnected', 'the refusal')
    expect(errors[0].code).toBe(ErrorCode.TokenExpired)
    expect(p.room?.status).toBe('denied')
    clock.advance(300_000)
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(hub.joins).toEqual(['r old'])
  })

  it('the worker adapter passes a function of the room through, asked again after 4401', async () => {
    const clock = new FakeClock()
    let valid = 'none'
    const hub = await startHub(token => token === valid ? 'write' : 'expired')
    const asked: string[] = []
    const backend = new RoomBackend('board-1', new Doc(), new Awareness(), {
      url: hub.url,
      persistence: false,
      token: async (room) => { asked.push(room); valid = `fresh-${asked.length}`; return asked.length === 1 ? 'stale' : valid },
      websocketOptions: { WebSocket: WebSocket as never, clock, random: { next: () => 0.5 } }
    })
    cleanups.push(async () => await backend.destroy())
    await drive(clock, () => backend.provider?.synced === true, 'the sync after one stale token')
    expect(asked).toEqual(['board-1', 'board-1'])
    expect(hub.joins).toEqual(['board-1 stale', 'board-1 fresh-2'])
  })
})
