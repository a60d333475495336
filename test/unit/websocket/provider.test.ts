import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { Doc, type Logger } from 'aegis-replication'
import { Awareness, ErrorCode, HubRoom, SyncServer, type AuthDecision, type RoomStore } from 'aegis-replication/sync'
import { Prng, runSeeds } from 'aegis-replication/testing'
import {
  WebSocketProvider, type ProviderStatus, type RoomError, type WebSocketLike, type WebSocketProviderOptions
} from '../../../adapters/websocket/index.js'
import { backoffDelay } from '../../../adapters/websocket/backoff.js'
import { FakeClock } from '../../support/fake-clock.js'

const SEED = 0x5eed

class MemoryStore implements RoomStore {
  readonly updates: Uint8Array[] = []
  async append (u: Uint8Array): Promise<void> { this.updates.push(u) }
}

interface HubOptions {
  port?: number
  stores?: Map<string, MemoryStore>
  auth?: (token: string, room: string) => AuthDecision
  maxFrameBytes?: number
}

interface Hub {
  port: number
  url: string
  server: SyncServer
  stores: Map<string, MemoryStore>
  /** Rooms opened, by name. */
  rooms: Map<string, HubRoom>
  /** Tokens `auth` was asked about. */
  tokens: string[]
  /** Sockets accepted since start. */
  accepted: number
  largestFrameIn: number
  largestFrameOut: number
  /** Drops every socket and stops listening. */
  close: () => Promise<void>
}

/** A hub in the test: `ws` on 127.0.0.1, each socket piped into a SyncServer. */
const startHub = async (options: HubOptions = {}): Promise<Hub> => {
  const stores = options.stores ?? new Map<string, MemoryStore>()
  const tokens: string[] = []
  const server = new SyncServer({
    maxFrameBytes: options.maxFrameBytes,
    auth: (token, room) => { tokens.push(token); return options.auth?.(token, room) ?? 'write' },
    openRoom: async (name) => {
      let store = stores.get(name)
      if (store === undefined) stores.set(name, (store = new MemoryStore()))
      const doc = new Doc({ replicaId: 'hub' })
      for (const u of store.updates) doc.applyUpdate(u)
      const room = new HubRoom(name, doc, store)
      hub.rooms.set(name, room)
      return room
    }
  })
  const wss = new WebSocketServer({ host: '127.0.0.1', port: options.port ?? 0 })
  await new Promise<void>((resolve, reject) => { wss.once('listening', resolve); wss.once('error', reject) })
  const port = (wss.address() as AddressInfo).port
  const hub: Hub = {
    port,
    url: `ws://127.0.0.1:${port}`,
    server,
    stores,
    rooms: new Map(),
    tokens,
    accepted: 0,
    largestFrameIn: 0,
    largestFrameOut: 0,
    close: async (): Promise<void> => {
      for (const ws of wss.clients) ws.terminate()
      await new Promise<void>(resolve => wss.close(() => resolve()))
    }
  }
  let n = 0
  wss.on('connection', (ws) => {
    hub.accepted++
    const conn = server.connect(`c${n++}`, {
      send: (frame) => { hub.largestFrameOut = Math.max(hub.largestFrameOut, frame.length); ws.send(frame) },
      close: (code, reason) => ws.close(code, reason)
    })
    ws.on('message', (data) => {
      const b = data as Buffer
      hub.largestFrameIn = Math.max(hub.largestFrameIn, b.length)
      conn.receive(new Uint8Array(b.buffer, b.byteOffset, b.byteLength))
    })
    ws.on('close', () => conn.disconnected())
  })
  hubs.push(hub)
  return hub
}

const hubs: Hub[] = []
const providers: WebSocketProvider[] = []

/** A `WebSocket` constructor of its own: one simulated device (its own shared-socket registry slot). */
const device = (): typeof WebSocket => class extends WebSocket {}

const provider = (url: string, room: string, doc: Doc, opts: WebSocketProviderOptions = {}): WebSocketProvider => {
  const p = new WebSocketProvider(url, room, doc, {
    WebSocket: device(), minBackoffMs: 10, maxBackoffMs: 100, random: new Prng(SEED), tickMs: 100, ...opts
  })
  providers.push(p)
  return p
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

const waitFor = async (cond: () => boolean, what: string, ms = 5000): Promise<void> => {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

const json = (doc: Doc): string => JSON.stringify(doc.toJSON())

afterEach(async () => {
  for (const p of providers.splice(0)) p.destroy()
  for (const h of hubs.splice(0)) await h.close()
})

describe('WebSocketProvider', () => {
  it('two providers on one room converge through the hub', async () => {
    const hub = await startHub()
    const da = new Doc({ replicaId: 'a' })
    const db = new Doc({ replicaId: 'b' })
    da.map('tasks').set('t0', 'written before connecting')
    const a = provider(hub.url, 'board', da)
    const b = provider(hub.url, 'board', db)
    const statuses: ProviderStatus[] = []
    a.on('status', s => statuses.push(s))
    expect(await a.whenSynced).toBe(a)
    await b.whenSynced
    expect(statuses).toEqual(['connected'])
    expect([a.status, b.status]).toEqual(['connected', 'connected'])
    da.map('tasks').set('t1', { title: 'from a' })
    db.counter('votes').increment(3)
    await waitFor(() => json(da) === json(db) && db.map('tasks').has('t1') && da.counter('votes').value() === 3, 'convergence')
    await waitFor(() => a.pending === 0 && b.pending === 0, 'acks')
    expect(db.map('tasks').get('t0')).toBe('written before connecting')
    expect(hub.server.roomNames).toEqual(['board'])
  })

  it('edits made while the hub is down go out when it comes back on the same port', async () => {
    const stores = new Map<string, MemoryStore>()
    const hub = await startHub({ stores })
    const da = new Doc({ replicaId: 'a' })
    const db = new Doc({ replicaId: 'b' })
    const a = provider(hub.url, 'room', da)
    const b = provider(hub.url, 'room', db)
    await Promise.all([a.whenSynced, b.whenSynced])
    da.map('m').set('online', 1)
    await waitFor(() => db.map('m').get('online') === 1 && a.pending === 0, 'first edit')
    const pendingEvents: number[] = []
    a.on('pending', n => pendingEvents.push(n))
    const connecting: number[] = []
    a.on('status', s => { if (s === 'connecting') connecting.push(Date.now()) })

    await hub.close()
    await waitFor(() => a.status !== 'connected' && b.status !== 'connected' && !a.synced && !b.synced, 'both offline')
    da.map('m').set('offline-a', 'a')
    da.counter('c').increment()
    db.map('m').set('offline-b', 'b')
    expect([a.pending, b.pending]).toEqual([2, 1])
    await waitFor(() => connecting.length >= 2, 'failed reconnect attempts')

    const again = await startHub({ port: hub.port, stores })
    await waitFor(() => a.synced && b.synced && a.pending === 0 && b.pending === 0, 'resync after the restart')
    await waitFor(() => json(da) === json(db), 'convergence')
    expect(db.map('m').get('offline-a')).toBe('a')
    expect(da.map('m').get('offline-b')).toBe('b')
    expect(db.counter('c').value()).toBe(1)
    expect(pendingEvents.at(-1)).toBe(0)
    expect(Math.max(...pendingEvents)).toBe(2)
    // the restarted hub holds everything, loaded from the store and received since
    const hubDoc = new Doc({ replicaId: 'check' })
    for (const u of stores.get('room')!.updates) hubDoc.applyUpdate(u)
    expect(json(hubDoc)).toBe(json(da))
    expect(again.accepted).toBe(2)
  })

  it('with a persistence, tells the hub what is durable on this device', async () => {
    const hub = await startHub()
    let flushes = 0
    const persistence = { flush: async (): Promise<void> => { flushes++ } }
    const doc = new Doc()
    const p = provider(hub.url, 'held', doc, { WebSocket: device(), persistence, heldEveryMs: 20 })
    await p.whenSynced
    doc.map('m').set('k', 1)
    await waitFor(() => hub.rooms.get('held')?.durableCopies() === 1, 'the hub to know this device holds everything')
    expect(flushes).toBeGreaterThan(0)
  })

  it('rooms to one URL share one socket, closed when the last provider goes', async () => {
    const hub = await startHub()
    const WS = device()
    const one = provider(hub.url, 'r1', new Doc(), { WebSocket: WS })
    const two = provider(hub.url, 'r2', new Doc(), { WebSocket: WS })
    await Promise.all([one.whenSynced, two.whenSynced])
    expect(hub.accepted).toBe(1)
    expect(hub.server.connectionCount).toBe(1)
    // the same room again (a second doc of it in this process) gets a socket of its own
    const again = provider(hub.url, 'r1', new Doc(), { WebSocket: WS })
    await again.whenSynced
    expect(hub.server.connectionCount).toBe(2)
    again.destroy()
    one.destroy()
    await waitFor(() => hub.server.connectionCount === 1, 'the second socket to close')
    await sleep(50)
    expect(hub.server.connectionCount).toBe(1)
    expect(two.status).toBe('connected')
    // a room added later joins over the same open socket
    const doc3 = new Doc()
    const three = provider(hub.url, 'r3', doc3, { WebSocket: WS })
    await three.whenSynced
    expect(hub.accepted).toBe(2) // the first socket and the one of the second r1 provider
    two.destroy()
    doc3.destroy() // destroying the doc destroys its providers
    await waitFor(() => hub.server.connectionCount === 0, 'the socket to close')
    expect(three.status).toBe('disconnected')
  })

  it('disconnect() stays offline until connect(); its edits go out then', async () => {
    const hub = await startHub()
    const da = new Doc({ replicaId: 'a' })
    const db = new Doc({ replicaId: 'b' })
    const a = provider(hub.url, 'room', da)
    const b = provider(hub.url, 'room', db)
    await Promise.all([a.whenSynced, b.whenSynced])
    const pendingEvents: number[] = []
    a.on('pending', n => pendingEvents.push(n))
    a.disconnect()
    expect([a.status, a.synced, a.shouldConnect]).toEqual(['disconnected', false, false])
    da.map('m').set('k', 'while disconnected')
    da.map('m').set('k2', 'again')
    expect(a.pending).toBe(2)
    await sleep(200) // many backoff periods: no reconnect
    expect(hub.accepted).toBe(2)
    expect(db.map('m').has('k')).toBe(false)
    a.connect()
    await waitFor(() => a.synced && a.pending === 0 && db.map('m').get('k2') === 'again', 'edits to go out')
    expect(hub.accepted).toBe(3)
    expect(pendingEvents).toEqual([2, 1, 0]) // one event per microtask; never over-counted
  })

  it('the token reaches the hub; a denied room emits error while the others on the socket carry on', async () => {
    const hub = await startHub({ auth: (token, room) => room !== 'secret' || token === 'letmein' ? 'write' : 'deny' })
    const WS = device()
    const open = provider(hub.url, 'public', new Doc(), { WebSocket: WS, token: 'anyone' })
    const denied = provider(hub.url, 'secret', new Doc(), { WebSocket: WS, token: 'wrong' })
    const errors: RoomError[] = []
    denied.on('error', e => errors.push(e))
    await open.whenSynced
    await waitFor(() => errors.length === 1, 'the denial')
    expect(errors[0].code).toBe(ErrorCode.Denied)
    expect(errors[0].reason).toMatch(/denied/)
    expect(hub.tokens).toEqual(expect.arrayContaining(['anyone', 'wrong']))
    expect(denied.synced).toBe(false)
    await sleep(50)
    expect([open.status, hub.server.connectionCount, hub.accepted]).toEqual(['connected', 1, 1])
    const doc = new Doc()
    const allowed = provider(hub.url, 'secret', doc, { token: 'letmein' })
    await allowed.whenSynced
    expect(hub.tokens).toContain('letmein')
    expect(hub.server.connectionCount).toBe(2)
    // left with only its denied room, the first socket closes
    open.destroy()
    await waitFor(() => hub.server.connectionCount === 1, 'the first socket to close')
    expect(denied.status).toBe('disconnected')
  })

  it('a socket whose every room is denied stops reconnecting', async () => {
    const hub = await startHub({ auth: () => 'deny' })
    const p = provider(hub.url, 'room', new Doc())
    const errors: RoomError[] = []
    p.on('error', e => errors.push(e))
    await waitFor(() => errors.length === 1 && p.status === 'disconnected', 'the denial')
    await sleep(250) // more than the largest backoff
    expect(hub.accepted).toBe(1)
    expect(errors.map(e => e.code)).toEqual([ErrorCode.Denied])
    // connect() again (say, with fixed permissions) tries once more
    p.disconnect()
    p.connect()
    await waitFor(() => errors.length === 2, 'the second denial')
    expect(hub.accepted).toBe(2)
    const rejected = expect(p.whenSynced).rejects.toThrow(expect.objectContaining({ name: 'AbortError' }))
    p.destroy()
    await rejected
  })

  it('logs a 44xx close with its reason and reconnects', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await new Promise<void>(resolve => wss.once('listening', resolve))
    let accepted = 0
    wss.on('connection', ws => { accepted++; ws.close(ErrorCode.RateLimited, 'slow down') })
    const warnings: Array<Record<string, unknown> | undefined> = []
    const logger: Logger = { debug: () => {}, info: () => {}, error: () => {}, warn: (_m, f) => { warnings.push(f) } }
    try {
      provider(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, 'room', new Doc(), { logger })
      await waitFor(() => accepted >= 3, 'reconnects')
      expect(warnings).toContainEqual(expect.objectContaining({ code: 4429, reason: 'slow down' }))
    } finally {
      for (const p of providers.splice(0)) p.destroy()
      await new Promise<void>(resolve => wss.close(() => resolve()))
    }
  })

  it('awareness: B sees the state A set before B came; it goes when A is destroyed', async () => {
    const hub = await startHub()
    const a = provider(hub.url, 'room', new Doc())
    a.awareness.setLocalStateField('user', { name: 'Alice' })
    await a.whenSynced
    const awarenessB = new Awareness()
    const b = provider(hub.url, 'room', new Doc(), { awareness: awarenessB })
    expect(b.awareness).toBe(awarenessB)
    b.awareness.setLocalStateField('user', { name: 'Bob' })
    await waitFor(() => awarenessB.getStates().has(a.awareness.clientID), 'B to see A')
    expect(awarenessB.getStates().get(a.awareness.clientID)).toEqual({ user: { name: 'Alice' } })
    await waitFor(() => a.awareness.getStates().get(awarenessB.clientID) !== undefined, 'A to see B')
    expect(a.awareness.getStates().get(awarenessB.clientID)).toEqual({ user: { name: 'Bob' } })
    a.awareness.setLocalStateField('cursor', 7)
    await waitFor(() => (awarenessB.getStates().get(a.awareness.clientID) as { cursor?: number } | undefined)?.cursor === 7, 'a live change')
    const idA = a.awareness.clientID
    a.destroy()
    await waitFor(() => !awarenessB.getStates().has(idA), 'A to go', 1000) // far below the 30 s timeout
    expect([...awarenessB.getStates().keys()]).toEqual([awarenessB.clientID])
  })

  it('a 2 MB update syncs through a hub with 64 KiB frames (chunking)', async () => {
    const maxFrameBytes = 64 * 1024
    const hub = await startHub({ maxFrameBytes })
    const da = new Doc({ replicaId: 'a' })
    const db = new Doc({ replicaId: 'b' })
    const a = provider(hub.url, 'big', da, { maxFrameBytes })
    const b = provider(hub.url, 'big', db, { maxFrameBytes })
    await Promise.all([a.whenSynced, b.whenSynced])
    const prng = new Prng(SEED)
    let big = ''
    for (let i = 0; i < 2 * 1024 * 1024; i++) big += String.fromCharCode(32 + prng.int(0, 94))
    let updateBytes = 0
    da.on('update', u => { updateBytes += u.length })
    da.map('files').set('blob', big)
    expect(updateBytes).toBeGreaterThan(2 * 1024 * 1024)
    await waitFor(() => db.map('files').get('blob') === big, 'the big update', 15_000)
    await waitFor(() => a.pending === 0, 'the ack')
    expect(hub.largestFrameIn).toBeLessThanOrEqual(maxFrameBytes)
    expect(hub.largestFrameOut).toBeLessThanOrEqual(maxFrameBytes)
  })
})

/** Sockets that never touch the network: the test opens or fails them. */
const fakeSockets = () => {
  const sockets: FakeSocket[] = []
  class FakeSocket implements WebSocketLike {
    binaryType = 'blob'
    readyState = 0
    onopen: WebSocketLike['onopen'] = null
    onmessage: WebSocketLike['onmessage'] = null
    onclose: WebSocketLike['onclose'] = null
    onerror: WebSocketLike['onerror'] = null
    constructor (readonly url: string) { sockets.push(this) }
    send (_data: Uint8Array): void {}
    close (): void { this.readyState = 3 }
    open (): void { this.readyState = 1; this.onopen?.({}) }
    fail (code = 1006): void { this.readyState = 3; this.onerror?.({}); this.onclose?.({ code, reason: '' }) }
  }
  return { FakeSocket, sockets }
}

describe('WebSocketProvider reconnect backoff', () => {
  it('backoffDelay stays in [0, min(max, min·2^attempt))', () => {
    const prng = new Prng(SEED)
    for (let i = 0; i < 2000; i++) {
      const attempt = prng.int(0, 40)
      const d = backoffDelay(attempt, 250, 30_000, prng)
      expect(d).toBeGreaterThanOrEqual(0)
      expect(d).toBeLessThan(Math.min(30_000, 250 * 2 ** attempt))
    }
  })

  it('retries are spaced with full jitter, grow to the cap, reset after an open, stop on disconnect()', () => runSeeds(5, (seed, prng) => {
    const clock = new FakeClock()
    const draws: number[] = []
    const random = { next: () => { const x = prng.next(); draws.push(x); return x } }
    const { FakeSocket, sockets } = fakeSockets()
    const statuses: ProviderStatus[] = []
    const p = new WebSocketProvider(`ws://hub.test/${seed}`, 'room', new Doc(), {
      WebSocket: FakeSocket, clock, random, minBackoffMs: 100, maxBackoffMs: 1000, connect: false
    })
    p.on('status', s => statuses.push(s))
    try {
      expect(sockets.length).toBe(0)
      p.connect()
      expect(sockets.length).toBe(1) // the first attempt is immediate
      expect(sockets[0].binaryType).toBe('arraybuffer')
      const retry = (attempt: number, code = 1006): void => {
        const before = sockets.length
        sockets.at(-1)!.fail(code)
        expect(p.status).toBe('disconnected')
        const timer = clock.timers.at(-1)!
        const cap = Math.min(1000, 100 * 2 ** attempt)
        expect(timer.ms).toBe(draws.at(-1)! * cap)
        expect(timer.ms).toBeGreaterThanOrEqual(0)
        expect(timer.ms).toBeLessThan(cap)
        clock.advance(Math.max(0, timer.ms - 0.01))
        expect(sockets.length).toBe(before)
        clock.advance(0.01)
        expect(sockets.length).toBe(before + 1)
        expect(p.status).toBe('connecting')
      }
      for (let attempt = 0; attempt < 8; attempt++) retry(attempt)
      sockets.at(-1)!.open()
      expect(p.status).toBe('connected')
      retry(0) // reset by the successful open
      retry(1)
      // a hub that accepts and then refuses (44xx) does not reset the backoff
      for (let attempt = 3; attempt < 7; attempt++) {
        sockets.at(-1)!.open()
        retry(attempt, ErrorCode.RateLimited)
      }
      sockets.at(-1)!.fail()
      p.disconnect()
      const count = sockets.length
      clock.advance(60_000)
      expect(sockets.length).toBe(count)
      expect(statuses.slice(0, 3)).toEqual(['connecting', 'disconnected', 'connecting'])
      expect(statuses.at(-1)).toBe('disconnected')
    } finally {
      p.destroy()
    }
  }, { env: process.env }))
})
