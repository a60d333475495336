/**
 * The hub's socket-level limits (issue 9, finding 5 and the connection
 * caps): half-open header sockets (slowloris) are closed after
 * `headerTimeoutMs` while /healthz and new clients keep working; upgrades
 * past `maxConnections` / `maxConnectionsPerIp` are refused with 503 / 429
 * before a WebSocket exists; a socket that never answers pings is closed.
 */
import { connect, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { Doc } from 'aegis-replication'
import { closed, later, openSocket, startHub, syncedRoom, upgradeStatus } from './hub-harness.js'
import { until } from '../../support/net.js'

/** A socket that opens an upgrade request and then sends one header line every `everyMs`, never finishing. */
const slowloris = (port: number, everyMs: number): { socket: Socket, closed: () => boolean } => {
  const socket = connect(port, '127.0.0.1')
  let isClosed = false
  socket.on('error', () => {})
  socket.on('close', () => { isClosed = true; clearInterval(timer) })
  socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n')
  let n = 0
  const timer = setInterval(() => { if (!socket.destroyed) socket.write(`X-Slow-${n++}: 1\r\n`) }, everyMs)
  later(() => { clearInterval(timer); socket.destroy() })
  return { socket, closed: () => isClosed }
}

describe('hub limits', () => {
  it('closes half-open header sockets after headerTimeoutMs while /healthz and a new client keep working', async () => {
    const hub = await startHub({ limits: { headerTimeoutMs: 2000 } })
    const attackers = Array.from({ length: 200 }, () => slowloris(hub.port, 100))
    // the bystander, while the attackers trickle their headers
    const health = await fetch(`http://127.0.0.1:${hub.port}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok' })
    const a = await syncedRoom(await openSocket(hub.url), 'board', new Doc({ replicaId: 'a' }))
    const b = await syncedRoom(await openSocket(hub.url), 'board', new Doc({ replicaId: 'b' }))
    a.doc.map('m').set('k', 1)
    await until(() => b.doc.map('m').get('k') === 1, 'the bystanders to sync', 20_000)
    // Node's own headersTimeout (60 s, checked every 30 s) would keep them far longer
    await until(() => attackers.every(s => s.closed()), 'every half-open socket to be closed', 20_000)
    expect((await fetch(`http://127.0.0.1:${hub.port}/healthz`)).status).toBe(200)
  })

  it('lets one IP hold at most maxConnectionsPerIp unfinished requests; a complete request still gets in', async () => {
    const hub = await startHub({ limits: { headerTimeoutMs: 120_000, maxConnectionsPerIp: 50 } })
    const attackers: Array<ReturnType<typeof slowloris>> = []
    for (let i = 0; i < 100; i++) attackers.push(slowloris(hub.port, 1000))
    await until(() => attackers.filter(s => s.closed()).length >= 50, 'the oldest 50 to be closed', 20_000)
    expect((await fetch(`http://127.0.0.1:${hub.port}/healthz`)).status).toBe(200) // a complete request still gets in
    expect(await upgradeStatus(hub.url)).toBe('open')
  })

  it('refuses upgrades past maxConnections with 503 and past maxConnectionsPerIp with 429, before upgrading', async () => {
    const full = await startHub({ limits: { maxConnections: 2 } })
    await openSocket(full.url); await openSocket(full.url)
    expect(await upgradeStatus(full.url)).toBe('HTTP 503')
    expect(full.metrics().connections).toBe(2)

    const perIp = await startHub({ limits: { maxConnectionsPerIp: 1 } })
    const first = await openSocket(perIp.url)
    expect(await upgradeStatus(perIp.url)).toBe('HTTP 429')
    first.close()
    await until(() => perIp.metrics().connections === 0, 'the first socket to be gone', 20_000)
    expect(await upgradeStatus(perIp.url)).toBe('open') // the slot is free again
  })

  it('counts per IP from X-Forwarded-For only with trustProxy', async () => {
    const proxied = await startHub({ trustProxy: true, limits: { maxConnectionsPerIp: 1 } })
    await openSocket(proxied.url, { headers: { 'x-forwarded-for': '203.0.113.1' } })
    expect(await upgradeStatus(proxied.url, { headers: { 'x-forwarded-for': '198.51.100.7, 203.0.113.2' } })).toBe('open')
    expect(await upgradeStatus(proxied.url, { headers: { 'x-forwarded-for': '203.0.113.1' } })).toBe('HTTP 429')

    const direct = await startHub({ limits: { maxConnectionsPerIp: 1 } })
    await openSocket(direct.url, { headers: { 'x-forwarded-for': '203.0.113.1' } })
    expect(await upgradeStatus(direct.url, { headers: { 'x-forwarded-for': '203.0.113.2' } })).toBe('HTTP 429')
  })

  it('pings every socket and closes one that does not answer; one that answers stays', async () => {
    const hub = await startHub({ limits: { pingIntervalMs: 400 } })
    const mute = await openSocket(hub.url, { autoPong: false })
    const live = await openSocket(hub.url)
    let pings = 0
    live.on('ping', () => { pings++ })
    const code = await closed(mute)
    expect(code).toBe(1006) // terminated, no close handshake
    await until(() => pings >= 4, 'four pings on the live socket', 30_000)
    expect(live.readyState).toBe(live.OPEN)
    await until(() => hub.metrics().connections === 1, 'the hub to drop the mute socket', 20_000)
  })
})
