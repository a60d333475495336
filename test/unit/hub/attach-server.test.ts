/**
 * `createHub({ server })` (issue 9, operator basics): the hub attaches to an
 * HTTP(S) server it did not create, serves clients and its routes there,
 * leaves the server's own routes alone, and on close removes its listeners
 * and closes its sockets without closing the server.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Doc, silentLogger } from 'aegis-replication'
import { createHub } from 'aegis-replication/hub'
import { closed, later, openSocket, syncedRoom, tempDir, upgradeStatus } from './hub-harness.js'
import { until } from '../../support/net.js'

const listen = async <S extends Server>(server: S): Promise<S> => {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  later(async () => { server.closeAllConnections(); await new Promise<void>(resolve => server.close(() => resolve())) })
  return server
}

const getText = async (port: number, path: string): Promise<{ status: number, body: string }> => await new Promise((resolve, reject) => {
  // a fresh socket (no keep-alive pool): after the hub closes, the server must still answer new connections
  request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
    let body = ''
    res.setEncoding('utf8').on('data', (c: string) => { body += c }).on('end', () => resolve({ status: res.statusCode ?? 0, body }))
  }).on('error', reject).end()
})

const hasOpenssl = (() => { try { execFileSync('openssl', ['version']); return true } catch { return false } })()

describe('createHub({ server })', () => {
  it('attaches to a plain http.Server, keeps the server\'s routes, and on close leaves the server running', async () => {
    // the app answers its own paths and leaves the hub's to the hub
    const hubPaths = ['/healthz', '/metrics', '/metrics.json']
    const server = await listen(createServer((req, res) => {
      if (req.url === '/app') res.end('the app')
      else if (!hubPaths.includes(req.url ?? '')) res.writeHead(404).end()
    }))
    const port = (server.address() as { port: number }).port
    const hub = await createHub({ server, dataDir: await tempDir(), logger: silentLogger, fsync: false })
    expect(hub.port).toBe(port)
    expect(hub.url).toBe(`ws://127.0.0.1:${port}`)

    const ws = await openSocket(hub.url)
    const a = await syncedRoom(ws, 'board', new Doc({ replicaId: 'a' }))
    const b = await syncedRoom(await openSocket(hub.url), 'board', new Doc({ replicaId: 'b' }))
    a.doc.map('m').set('k', 1)
    await until(() => b.doc.map('m').get('k') === 1 && a.pending === 0, 'sync through the attached hub', 20_000)
    expect(await getText(port, '/app')).toEqual({ status: 200, body: 'the app' })
    expect(JSON.parse((await getText(port, '/healthz')).body)).toEqual({ status: 'ok' })

    const code = closed(ws)
    await hub.close()
    expect(await code).toBe(1001) // the hub's sockets are closed…
    expect(server.listening).toBe(true) // …the server is not
    expect(await getText(port, '/app')).toEqual({ status: 200, body: 'the app' })
    expect(server.listenerCount('upgrade')).toBe(0)
    expect(server.listenerCount('request')).toBe(1) // only the app's own
    expect(await upgradeStatus(`ws://127.0.0.1:${port}`)).toBe('HTTP 404') // Node hands upgrades without a listener to the app
  })

  it.skipIf(!hasOpenssl)('attaches to an https.Server: clients connect with wss://', async () => {
    const dir = await tempDir()
    const key = join(dir, 'key.pem'); const cert = join(dir, 'cert.pem')
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' })
    const server = await listen(createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }))
    // a short header timeout: the guard must let go of a TLS socket once its upgrade arrived
    const hub = await createHub({ server, dataDir: join(dir, 'data'), logger: silentLogger, fsync: false, limits: { headerTimeoutMs: 200, pingIntervalMs: 400 } })
    expect(hub.url).toBe(`wss://127.0.0.1:${hub.port}`)
    const ws = await openSocket(hub.url, { rejectUnauthorized: false })
    let pings = 0
    ws.on('ping', () => { pings++ })
    const a = await syncedRoom(ws, 'r', new Doc({ replicaId: 'a' }))
    const b = await syncedRoom(await openSocket(hub.url, { rejectUnauthorized: false }), 'r', new Doc({ replicaId: 'b' }))
    a.doc.map('m').set('k', 'tls')
    await until(() => b.doc.map('m').get('k') === 'tls', 'sync over wss', 20_000)
    await until(() => pings >= 3, 'pings well past the header timeout', 30_000)
    expect(ws.readyState).toBe(ws.OPEN)
    await hub.close()
    expect(server.listening).toBe(true)
  })
})
