/**
 * WebRTCProvider in Node, against a real hub (in process, over `ws`) for
 * signaling, with an in-memory stand-in for RTCPeerConnection: the mesh
 * logic (who offers, maxPeers and the fallback to syncing through the hub,
 * re-offering a dead channel, presence, destroy) without a browser. The
 * real WebRTC path runs in test/browser/webrtc.browser.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { Doc, silentLogger } from 'aegis-replication'
import { createHub, type Hub } from 'aegis-replication/hub'
import { WebRTCProvider, type WebRTCProviderOptions } from 'aegis-replication/webrtc'

// ------------------------------------------------- a stand-in for WebRTC
const later = (f: () => void): void => { setTimeout(f, 0) }
const pcs = new Map<number, FakePeerConnection>()
let nextPc = 0

class FakeDataChannel {
  readyState: 'connecting' | 'open' | 'closing' | 'closed' = 'connecting'
  binaryType = 'blob'
  bufferedAmount = 0
  bufferedAmountLowThreshold = 0
  onopen: (() => void) | null = null
  onclose: (() => void) | null = null
  onerror: ((e: unknown) => void) | null = null
  onmessage: ((e: { data: ArrayBuffer }) => void) | null = null
  onbufferedamountlow: (() => void) | null = null
  peer: FakeDataChannel | undefined
  /** Messages sent, for tests that look at the frames. */
  sent = 0

  send (data: Uint8Array): void {
    if (this.readyState !== 'open') throw new Error('InvalidStateError: the channel is not open')
    this.sent++
    const copy = data.slice().buffer
    const peer = this.peer
    later(() => { if (peer?.readyState === 'open') peer.onmessage?.({ data: copy }) })
  }

  open (): void {
    if (this.readyState !== 'connecting') return
    this.readyState = 'open'
    later(() => this.onopen?.())
  }

  close (): void {
    if (this.readyState === 'closed') return
    this.readyState = 'closed'
    later(() => this.onclose?.())
    this.peer?.close()
  }
}

class FakePeerConnection {
  readonly id = nextPc++
  localDescription: { type: string, sdp: string } | null = null
  remoteDescription: { type: string, sdp: string } | null = null
  signalingState = 'stable'
  connectionState = 'new'
  onicecandidate: ((e: { candidate: { toJSON: () => unknown } | null }) => void) | null = null
  onconnectionstatechange: (() => void) | null = null
  dc: FakeDataChannel | undefined

  constructor () { pcs.set(this.id, this) }

  createDataChannel (): FakeDataChannel {
    this.dc = new FakeDataChannel()
    return this.dc
  }

  async createOffer (): Promise<{ type: string, sdp: string }> { return { type: 'offer', sdp: `fake-pc ${this.id}` } }
  async createAnswer (): Promise<{ type: string, sdp: string }> { return { type: 'answer', sdp: `fake-pc ${this.id}` } }

  async setLocalDescription (d: { type: string, sdp: string }): Promise<void> {
    this.localDescription = d
    this.signalingState = d.type === 'offer' ? 'have-local-offer' : 'stable'
    later(() => {
      this.onicecandidate?.({ candidate: { toJSON: () => ({ candidate: `candidate:${this.id} 1 udp 1 127.0.0.1 9 typ host`, sdpMid: '0', sdpMLineIndex: 0 }) } })
      this.onicecandidate?.({ candidate: null })
    })
  }

  async setRemoteDescription (d: { type: string, sdp: string }): Promise<void> {
    this.remoteDescription = d
    this.signalingState = d.type === 'offer' ? 'have-remote-offer' : 'stable'
    if (d.type === 'answer') {
      // the offerer has the answer: the two ends connect
      const other = pcs.get(Number(d.sdp.split(' ')[1]))
      if (other?.dc === undefined || this.dc === undefined || other.connectionState === 'closed') return
      this.dc.peer = other.dc
      other.dc.peer = this.dc
      for (const pc of [this, other]) {
        pc.connectionState = 'connected'
        pc.dc!.open()
      }
    }
  }

  async addIceCandidate (): Promise<void> {}

  close (): void {
    this.connectionState = 'closed'
    this.dc?.close()
    pcs.delete(this.id)
  }
}

/** Kills the data channel between two providers' links, as a network failure would. */
const cutChannel = (a: WebRTCProvider, b: WebRTCProvider): void => {
  for (const pc of pcs.values()) {
    const peer = pc.dc?.peer
    if (pc.dc?.readyState !== 'open' || peer === undefined) continue
    const owners = [a, b].map(p => (p as unknown as { links: Map<string, { pc: unknown }> }).links)
    const ours = [...owners[0].values()].some(l => l.pc === pc)
    if (ours) { pc.dc.close(); return }
  }
  throw new Error('no open channel between the two')
}

// --------------------------------------------------------------- the tests
describe('WebRTCProvider (Node, stand-in RTCPeerConnection, real hub)', () => {
  let dir: string
  let hub: Hub
  const providers: WebRTCProvider[] = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aegis-webrtc-unit-'))
    hub = await createHub({ port: 0, dataDir: dir, logger: silentLogger, fsync: false })
  })

  afterEach(() => {
    for (const p of providers.splice(0)) p.destroy()
  })

  afterAll(async () => {
    await hub.close()
    await rm(dir, { recursive: true, force: true })
  })

  const open = (room: string, name: string, options: Partial<WebRTCProviderOptions> = {}): WebRTCProvider => {
    const doc = new Doc()
    const p = new WebRTCProvider(room, doc, {
      signaling: [hub.url],
      WebSocket,
      RTCPeerConnection: FakePeerConnection as unknown as typeof RTCPeerConnection,
      minBackoffMs: 10,
      maxBackoffMs: 100,
      connectTimeoutMs: 2000,
      ...options
    })
    p.awareness.setLocalStateField('name', name)
    providers.push(p)
    return p
  }

  const json = (p: WebRTCProvider): string => JSON.stringify(p.doc.toJSON())
  const converged = async (ps: WebRTCProvider[], pred: (j: Record<string, unknown>) => boolean = () => true): Promise<void> => {
    await expect.poll(() => ps.every(p => json(p) === json(ps[0]) && pred(p.doc.toJSON())), { timeout: 10_000, interval: 20 }).toBe(true)
  }

  it('three peers form a full mesh (the smaller id offers) and converge', async () => {
    const ps = ['a', 'b', 'c'].map(n => open('mesh', n))
    await expect.poll(() => ps.map(p => p.peers.length), { timeout: 10_000, interval: 20 }).toEqual([2, 2, 2])
    ps.forEach((p, i) => p.doc.map('m').set(`k${i}`, i))
    await converged(ps, j => Object.keys((j.m ?? {}) as object).length === 3)
    expect(ps.every(p => !p.hubSync && p.synced && p.status === 'connected')).toBe(true)
    // presence over the channels
    await expect.poll(() => ps.map(p => [...p.awareness.getStates().values()].map(s => s.name).sort()), { timeout: 5000, interval: 20 })
      .toEqual([['a', 'b', 'c'], ['a', 'b', 'c'], ['a', 'b', 'c']])
  })

  it('past maxPeers a peer syncs through the hub as well, and every peer converges', async () => {
    const ps = ['a', 'b', 'c'].map(n => open('capped', n, { maxPeers: 1 }))
    await expect.poll(() => ps.filter(p => p.hubSync).length, { timeout: 10_000, interval: 20 }).toBeGreaterThan(0)
    for (const p of ps) expect(p.peers.length).toBeLessThanOrEqual(1)
    ps.forEach((p, i) => p.doc.counter('n').increment(i + 1))
    await converged(ps, j => j.n === 6)
    // later edits too
    ps[2].doc.map('m').set('late', true)
    await converged(ps, j => (j.m as { late?: boolean } | undefined)?.late === true)
  })

  it('a dead channel is offered again (with backoff) and syncing resumes', async () => {
    const [a, b] = [open('redial', 'a'), open('redial', 'b')]
    await expect.poll(() => [a.peers.length, b.peers.length], { timeout: 10_000, interval: 20 }).toEqual([1, 1])
    const seen: string[] = []
    a.on('peers', ({ added, removed }) => { seen.push(...added.map(x => `+${x}`), ...removed.map(x => `-${x}`)) })
    cutChannel(a, b)
    await expect.poll(() => seen, { timeout: 10_000, interval: 20 }).toEqual([`-${b.peerId}`, `+${b.peerId}`])
    b.doc.map('m').set('after', 'the redial')
    await converged([a, b], j => (j.m as { after?: string } | undefined)?.after === 'the redial')
  })

  it('colliding offers resolve: the smaller id\'s offer stands, the other side answers it', async () => {
    const logs: Array<[string, string]> = []
    const logger = (who: string) => ({ ...silentLogger, debug: (msg: string) => { logs.push([who, msg]) } })
    const a = open('glare', 'a', { logger: logger('a') })
    const b = open('glare', 'b', { logger: logger('b') })
    await expect.poll(() => [a.peers.length, b.peers.length], { timeout: 10_000, interval: 20 }).toEqual([1, 1])
    // both redial at the same moment: the two offers cross in the hub (joining at once may have collided already)
    logs.length = 0
    const redial = (p: WebRTCProvider, to: string): void => { (p as unknown as { connect: (peer: string) => void }).connect(to) }
    redial(a, b.peerId)
    redial(b, a.peerId)
    await expect.poll(() => [a.peers, b.peers], { timeout: 10_000, interval: 20 }).toEqual([[b.peerId], [a.peerId]])
    const [small, large] = a.peerId < b.peerId ? ['a', 'b'] : ['b', 'a']
    expect(logs.filter(([, m]) => m === 'ignored a colliding offer').map(([who]) => who)).toEqual([small])
    expect(logs.some(([who, m]) => who === large && m === 'ignored a colliding offer')).toBe(false)
    a.doc.map('m').set('x', 1)
    b.doc.map('m').set('y', 2)
    await converged([a, b], j => Object.keys((j.m ?? {}) as object).length === 2)
  })

  it('destroy closes the channels and takes the presence away', async () => {
    const [a, b] = [open('bye', 'a'), open('bye', 'b')]
    await expect.poll(() => a.awareness.getStates().size, { timeout: 10_000, interval: 20 }).toBe(2)
    b.destroy()
    await expect.poll(() => [a.peers.length, a.awareness.getStates().size], { timeout: 10_000, interval: 20 }).toEqual([0, 1])
  })

  it('refuses what it cannot work with', () => {
    const doc = new Doc()
    expect(() => new WebRTCProvider('r', doc, { signaling: [], WebSocket })).toThrow(/at least one hub URL/)
    expect(() => new WebRTCProvider('r', doc, { signaling: ['not a url'], WebSocket })).toThrow(/not a URL/)
    // Node has no RTCPeerConnection of its own
    expect(() => new WebRTCProvider('r', doc, { signaling: [hub.url], WebSocket })).toThrow(/no RTCPeerConnection/)
  })
})
