/** Shared setup of the hub hardening tests: temp dirs, hubs and sockets cleaned after each test, a bare sync client. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'
import { WebSocket, type ClientOptions } from 'ws'
import { Doc, silentLogger } from 'aegis-replication'
import { SyncClient, type ClientRoom } from 'aegis-replication/sync'
import { createHub, type Hub, type HubOptions } from 'aegis-replication/hub'
import { until } from '../../support/net.js'

const dirs: string[] = []
const hubs: Hub[] = []
const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f()
  for (const h of hubs.splice(0)) await h.close()
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

/** Runs `f` after the test (sockets, servers). */
export const later = (f: () => void | Promise<void>): void => { cleanups.push(f) }

export const tempDir = async (): Promise<string> => {
  const d = await mkdtemp(join(tmpdir(), 'aegis-hub-hard-'))
  dirs.push(d)
  return d
}

/** A hub on 127.0.0.1 (with a fresh data dir unless `options.dataDir` names one), closed after the test. */
export const startHub = async (options: HubOptions = {}): Promise<Hub> => {
  const hub = await createHub({ port: 0, logger: silentLogger, fsync: false, ...options, dataDir: options.dataDir ?? await tempDir() })
  hubs.push(hub)
  return hub
}

/** Closes a hub of `startHub` now (not again after the test). */
export const closeHub = async (hub: Hub): Promise<void> => {
  hubs.splice(hubs.indexOf(hub), 1)
  await hub.close()
}

/** Destroys `p` (a provider) after the test; returns it. */
export const destroyLater = <T extends { destroy: () => void }>(p: T): T => {
  later(() => { p.destroy() })
  return p
}

/** Opens a `ws` socket; resolves with it once open, or rejects with the HTTP status the hub refused it with. */
export const openSocket = async (url: string, options: ClientOptions = {}): Promise<WebSocket> => {
  const ws = new WebSocket(url, options)
  later(() => ws.terminate())
  return await new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws))
    ws.once('unexpected-response', (_req, res) => { res.resume(); reject(new Error(`HTTP ${res.statusCode ?? 0}`)) })
    ws.once('error', reject)
  })
}

/** The HTTP status an upgrade was refused with ('open' when it was not). */
export const upgradeStatus = async (url: string, options: ClientOptions = {}): Promise<string> => {
  try {
    await openSocket(url, options)
    return 'open'
  } catch (err) {
    return (err as Error).message
  }
}

/** A sync client on a socket: joins a room and waits until the room is synced. */
export const syncedRoom = async (ws: WebSocket, room: string, doc = new Doc()): Promise<ClientRoom> => {
  ws.binaryType = 'arraybuffer'
  const client = new SyncClient({ send: (f) => ws.send(f) })
  ws.on('message', (data) => client.receive(new Uint8Array(data as ArrayBuffer)))
  ws.on('close', () => client.disconnected())
  client.connected()
  const r = client.addRoom(room, doc)
  await until(() => r.synced, `room ${room} to sync`, 20_000)
  return r
}

/** Resolves with the close code once `ws` closes. */
export const closed = async (ws: WebSocket): Promise<number> => await new Promise(resolve => {
  if (ws.readyState === WebSocket.CLOSED) resolve(-1)
  else ws.once('close', (code) => resolve(code))
})
