/**
 * The peer handshake and framing ({@link PeerLink}) on real sockets on
 * 127.0.0.1: the same secret opens both ends and carries a message larger
 * than a frame intact; a wrong secret, a tampered proof or data before the
 * handshake are refused, and a dialer without the secret learns nothing
 * about the hub; a message over the limit closes the socket.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import type { AddressInfo } from 'node:net'
import { PeerLink, type PeerLinkOptions } from '../../../adapters/hub/peer-link.js'
import { PeerFrame, PeerRole, transcriptMac, type PeerIdentity } from '../../../adapters/hub/cluster-auth.js'

const SECRET = 'raft-auth-test-secret-0123456789abcdef'
const servers: WebSocketServer[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) {
    for (const c of s.clients) c.terminate()
    await new Promise<void>(resolve => s.close(() => resolve()))
  }
})

interface End { link: PeerLink, opened: Promise<void>, closed: Promise<{ code: number, reason: string }>, got: Uint8Array[] }

const end = (socket: WebSocket, options: Partial<PeerLinkOptions> & Pick<PeerLinkOptions, 'side'>, me: PeerIdentity): End => {
  const got: Uint8Array[] = []
  let open!: () => void
  let close!: (v: { code: number, reason: string }) => void
  const opened = new Promise<void>(resolve => { open = resolve })
  const closed = new Promise<{ code: number, reason: string }>(resolve => { close = resolve })
  const link = new PeerLink(socket, {
    secret: SECRET, me: () => me, check: () => undefined, onOpen: () => open(), onMessage: (m) => got.push(m.slice()),
    onClose: (_l, code, reason) => close({ code, reason }), ...options
  })
  return { link, opened, closed, got }
}

/** A server whose accepted socket becomes an acceptor link with `options`. */
const serve = async (options: Partial<PeerLinkOptions> = {}): Promise<{ url: string, accepted: Promise<End> }> => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  servers.push(wss)
  await new Promise<void>(resolve => wss.once('listening', () => resolve()))
  const accepted = new Promise<End>(resolve => wss.once('connection', (ws) => {
    resolve(end(ws, { side: 'acceptor', ...options }, { nodeId: 'n1', memberId: 'm1', clusterId: 'c1' }))
  }))
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, accepted }
}

describe('peer link', () => {
  it('opens both ends with the same secret and carries a message of many fragments intact, both ways', async () => {
    const { url, accepted } = await serve({ fragmentBytes: 1024 })
    const dialer = end(new WebSocket(url), { side: 'dialer', role: PeerRole.Member, expect: 'n1', fragmentBytes: 1024 }, { nodeId: 'n2', memberId: 'm2', clusterId: 'c1' })
    const acceptor = await accepted
    await Promise.all([dialer.opened, acceptor.opened])
    expect(acceptor.link.remote).toEqual({ nodeId: 'n2', memberId: 'm2', clusterId: 'c1' })
    expect(dialer.link.remote).toEqual({ nodeId: 'n1', memberId: 'm1', clusterId: 'c1' })
    const big = new Uint8Array(200 * 1024).map((_, i) => i * 7)
    dialer.link.sendTagged(3, big)
    acceptor.link.send(new Uint8Array([1, 2, 3]))
    await new Promise<void>((resolve) => { const t = setInterval(() => { if (acceptor.got.length > 0 && dialer.got.length > 0) { clearInterval(t); resolve() } }, 5) })
    expect(acceptor.got[0][0]).toBe(3)
    expect(Buffer.compare(acceptor.got[0].subarray(1), big)).toBe(0) // toEqual on 200 KiB is slow
    expect(dialer.got[0]).toEqual(new Uint8Array([1, 2, 3]))
  })

  it('refuses a dialer with another secret, which learns nothing about the hub', async () => {
    const { url, accepted } = await serve()
    const dialer = end(new WebSocket(url), { side: 'dialer', secret: 'another-secret-0123456789abcdef' }, { nodeId: 'n2', memberId: 'm2', clusterId: '' })
    const acceptor = await accepted
    const [d, a] = await Promise.all([dialer.closed, acceptor.closed])
    expect(d.code).toBe(4403)
    expect(a.code).toBe(4403)
    expect(dialer.link.remote).toBe(undefined)
    expect(acceptor.link.open).toBe(false)
  })

  it('refuses a tampered proof, data before the handshake, and a peer the check refuses', async () => {
    // a proof whose MAC does not match the transcript
    let s = await serve()
    const raw = new WebSocket(s.url)
    const frames: Uint8Array[] = []
    raw.on('message', (d) => frames.push(new Uint8Array(d as Buffer)))
    await new Promise<void>(resolve => raw.once('open', () => resolve()))
    const hello = new Uint8Array([PeerFrame.Hello, 1, 0, 32, ...new Uint8Array(32)])
    raw.send(hello)
    await new Promise<void>((resolve) => { const t = setInterval(() => { if (frames.length > 0) { clearInterval(t); resolve() } }, 5) })
    const identity = new Uint8Array([2, 110, 50, 2, 109, 50, 0])
    const mac = transcriptMac(SECRET, 'dialer', hello, frames[0], identity)
    mac[0] ^= 1
    raw.send(new Uint8Array([PeerFrame.Proof, ...identity, 32, ...mac]))
    expect((await (await s.accepted).closed).code).toBe(4403)

    // a Raft message without a handshake
    s = await serve()
    const early = new WebSocket(s.url)
    early.on('error', () => {})
    early.once('open', () => early.send(new Uint8Array([0, 1, 2, 3])))
    expect((await (await s.accepted).closed).code).toBe(4403)

    // the right secret, but the acceptor's check says no: the reason reaches the dialer
    s = await serve({ check: (peer) => `hub ${peer.nodeId} is not a member of this group` })
    const refused = end(new WebSocket(s.url), { side: 'dialer' }, { nodeId: 'n9', memberId: 'm9', clusterId: '' })
    const closed = await refused.closed
    expect(closed).toEqual({ code: 4403, reason: 'hub n9 is not a member of this group' })
  })

  it('closes a socket whose message is over maxMessageBytes', async () => {
    const { url, accepted } = await serve({ maxMessageBytes: 10_000 })
    const dialer = end(new WebSocket(url), { side: 'dialer', fragmentBytes: 1024 }, { nodeId: 'n2', memberId: 'm2', clusterId: '' })
    const acceptor = await accepted
    await dialer.opened
    dialer.link.send(new Uint8Array(20_000))
    expect((await acceptor.closed).code).toBe(1009)
    expect(acceptor.got.length).toBe(0)
  })
})
