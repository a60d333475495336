/**
 * The hub (Node): a WebSocket endpoint on `ws` that relays and stores rooms.
 * Rooms load lazily from `dataDir` when a client joins and unload after
 * `idleMs` without members, so a hub holds many rooms in bounded memory.
 * `GET /healthz` answers `{ status: 'ok' }`, `GET /metrics` the counters.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type Server as HttpServer, type ServerResponse } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import type { Logger } from 'aegis-replication'
import { type AuthDecision, DEFAULT_MAX_FRAME_BYTES, HubRoom, type ServerConnection, SyncServer } from 'aegis-replication/sync'
import { RoomStorage, roomDir } from './room-storage.js'
import { HubRaftMember, type HubRaftOptions } from './raft-member.js'
import { RAFT_PATH } from './peer-transport.js'
import { jsonLineLogger } from './log.js'
import type { HubLimits } from './limits.js'

/** Options of {@link createHub}. */
export interface HubOptions {
  /** TCP port; 0 picks a free one. @default 4444 */
  port?: number
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string
  /** Where rooms are stored (one write-ahead log per room). @default './.aegis-data' */
  dataDir?: string
  /** What a token may do in a room (sync or async). @default every token may write */
  auth?: (token: string, room: string) => AuthDecision | Promise<AuthDecision>
  /** Unload a room this long after its last member left (ms). @default 30000 */
  idleMs?: number
  /** Largest WebSocket frame in or out; bigger messages travel as chunks. @default 1 MiB */
  maxFrameBytes?: number
  /** Messages per second one connection may send. @default 500 */
  messagesPerSecond?: number
  /** Compact a room's log after this many updates. @default 1000 */
  compactAfter?: number
  /** fsync each update before acknowledging it (turn off only for throwaway hubs). @default true */
  fsync?: boolean
  /** Extra HTTP routes (e.g. the demo app): return true when handled. */
  http?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>
  /** One line per connection and room event. @default jsonLineLogger('info') (JSON lines on stdout) */
  logger?: Logger
  /**
   * This hub's id in the hubs' Raft group. With it the hub runs a Raft
   * member (log in `<dataDir>/raft`) and serves the KV to clients
   * (`provider.kv`); without it KV requests are refused.
   */
  id?: string
  /** The other hubs of the Raft group: id → `ws://host:port`. @default {} (a group of one) */
  peers?: Record<string, string>
  /**
   * The secret the hubs of one cluster share to authenticate each other
   * (also `AEGIS_HUB_CLUSTER_SECRET` or `--cluster-secret-file` for the CLI).
   * A hub with `peers` or `join` refuses to start without it.
   */
  clusterSecret?: string
  /** @deprecated use `clusterSecret`; kept for one version, with a warning. */
  clusterToken?: string
  /**
   * Join an existing cluster through this member (`ws://host:port`) instead of
   * bootstrapping one with `peers`: the hub learns the configuration and the
   * cluster id from the group and catches up as a learner before it votes.
   */
  join?: string
  /** Raft timing (ms) and snapshot threshold (entries). */
  raft?: HubRaftOptions['raft']
  /** What one client, one IP and the whole hub may use; each has a safe default. */
  limits?: HubLimits
  /**
   * Origins (`https://app.example`) whose pages may open the hub's socket;
   * `'*'` allows any. Checked on every upgrade that carries an `Origin`
   * header (browsers); clients that send none are judged by `auth` alone.
   * @default an origin whose host name is the one the client used to reach
   * the hub (its `Host` header), or, while the hub listens on a loopback
   * address, any loopback origin (`localhost`, `127.0.0.1`, `[::1]`, any port)
   */
  allowedOrigins?: readonly string[] | '*'
  /**
   * Let a hub on a non-loopback interface run without `auth`. Without it
   * such a hub refuses to start (like Redis's protected mode).
   * @default false
   */
  allowAnonymous?: boolean
  /**
   * Bearer token `/metrics`, `/metrics.json` and the details of `/healthz`
   * need. Without it they answer only requests from a loopback address.
   */
  metricsToken?: string
  /**
   * Attach to this HTTP(S) server instead of listening on `port`/`host`
   * (e.g. one that terminates TLS); the caller listens and closes it.
   */
  server?: HttpServer | HttpsServer
}

/** A running hub. */
export interface Hub {
  readonly port: number
  /** `ws://host:port` */
  readonly url: string
  /** Counters, as served on `/metrics`. */
  metrics (): HubMetrics
  /** Stops accepting, closes every socket, flushes and closes every room. */
  close (): Promise<void>
}

/** What `/metrics` reports. */
export interface HubMetrics {
  rooms: number
  connections: number
  bytesIn: number
  bytesOut: number
  framesIn: number
  framesOut: number
  uptimeMs: number
  /** The Raft member, when the hub runs one. */
  raft?: { id: string, role: string, leader: string | null, term: number, commit: number, applied: number, snapshotIndex: number, voters: string[] }
}

interface OpenRoom { room: HubRoom, storage: RoomStorage, idle?: ReturnType<typeof setTimeout> }

const raftStatus = (m: HubRaftMember): NonNullable<HubMetrics['raft']> => {
  const s = m.node.status()
  return { id: s.id, role: s.role, leader: s.leaderId ?? null, term: s.term, commit: s.commit, applied: s.applied, snapshotIndex: s.snapshotIndex, voters: s.conf.voters }
}

/** Starts a hub; resolves once it listens. */
export const createHub = async (options: HubOptions = {}): Promise<Hub> => {
  const host = options.host ?? '127.0.0.1'
  const dataDir = options.dataDir ?? './.aegis-data'
  const idleMs = options.idleMs ?? 30_000
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
  const logger = options.logger ?? jsonLineLogger('info')
  const started = Date.now()
  const open = new Map<string, OpenRoom>()
  const totals = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0 }
  const conns = new Map<WebSocket, ServerConnection>()
  let closing = false

  const unloading = new Map<string, Promise<void>>()
  const unload = (name: string): Promise<void> => {
    const o = open.get(name)
    if (o === undefined) return unloading.get(name) ?? Promise.resolve()
    open.delete(name)
    const done = (async () => {
      await o.room.flush()
      await o.storage.close()
      logger.info('room unloaded', { room: name })
    })().finally(() => unloading.delete(name))
    unloading.set(name, done)
    return done
  }

  let member: HubRaftMember | undefined
  if (options.id !== undefined) {
    if (options.clusterToken !== undefined) logger.warn('clusterToken (--cluster-token) is deprecated: use clusterSecret (--cluster-secret-file); it is kept for one version', {})
    member = await HubRaftMember.start({
      id: options.id,
      peers: options.peers ?? {},
      dataDir,
      fsync: options.fsync,
      clusterSecret: options.clusterSecret,
      clusterToken: options.clusterToken,
      join: options.join,
      // the URL the others reach this hub at: unknown for port 0 or a wildcard address
      selfUrl: (options.port ?? 4444) === 0 || host === '0.0.0.0' || host === '::' ? undefined : `ws://${host}:${options.port ?? 4444}`,
      raft: options.raft,
      // peer frames stay under this hub's own frame limit (and so under any peer's with the same setting)
      fragmentBytes: Math.min(64 * 1024, maxFrameBytes),
      logger
    })
  }
  const raftMember = member

  const sync = new SyncServer({
    auth: options.auth,
    kv: raftMember === undefined ? undefined : raftMember.handle,
    maxFrameBytes,
    messagesPerSecond: options.messagesPerSecond,
    logger,
    openRoom: async (name) => {
      const o = open.get(name)
      if (o !== undefined) { clearTimeout(o.idle); return o.room }
      await unloading.get(name) // one process opens a room's log at a time
      const storage = await RoomStorage.open(roomDir(dataDir, name), 'hub', { compactAfter: options.compactAfter, fsync: options.fsync })
      const room = new HubRoom(name, storage.doc, storage, { logger })
      open.set(name, { room, storage })
      const { records, tornBytesDropped } = storage.recovery
      logger.info('room loaded', { room: name, records, tornBytesDropped })
      return room
    },
    roomIdle: (room) => {
      const o = open.get(room.name)
      if (o === undefined) return
      clearTimeout(o.idle)
      o.idle = setTimeout(() => {
        if (sync.closeRoom(room)) void unload(room.name).catch(err => logger.error('room unload failed', { room: room.name, error: String(err) }))
      }, idleMs)
      o.idle.unref?.()
    }
  })

  const metrics = (): HubMetrics => {
    const live = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0 }
    for (const c of conns.values()) {
      live.bytesIn += c.stats.bytesIn; live.bytesOut += c.stats.bytesOut
      live.framesIn += c.stats.framesIn; live.framesOut += c.stats.framesOut
    }
    return {
      rooms: open.size,
      connections: conns.size,
      bytesIn: totals.bytesIn + live.bytesIn,
      bytesOut: totals.bytesOut + live.bytesOut,
      framesIn: totals.framesIn + live.framesIn,
      framesOut: totals.framesOut + live.framesOut,
      uptimeMs: Date.now() - started,
      ...(raftMember === undefined ? {} : { raft: raftStatus(raftMember) })
    }
  }

  const http: Server = createServer((req, res) => {
    void (async () => {
      if (options.http !== undefined && await options.http(req, res)) return
      const path = (req.url ?? '/').split('?')[0]
      if (req.method === 'GET' && path === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: closing ? 'closing' : 'ok' }))
      } else if (req.method === 'GET' && path === '/metrics') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(metrics()))
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the hub serves WebSocket connections, /healthz and /metrics\n')
      }
    })().catch(err => {
      logger.error('http handler failed', { url: req.url, error: String(err) })
      if (!res.headersSent) res.writeHead(500).end()
    })
  })

  // ws refuses frames over maxPayload itself (close 1009) before we see them
  const wss = new WebSocketServer({ server: http, maxPayload: maxFrameBytes + 64 })
  // ws re-emits the HTTP server's errors (a taken port): listen() below rejects with them
  wss.on('error', (err) => { logger.debug('websocket server error', { error: err.message }) })
  let nextId = 0
  function onMessage (this: WebSocket, data: RawData, isBinary: boolean): void {
    const conn = conns.get(this)
    if (conn === undefined) return
    if (!isBinary) { conn.receive(new Uint8Array(0)); return } // text frames are malformed
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)
    conn.receive(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength))
  }
  function onClose (this: WebSocket, code: number): void {
    const conn = conns.get(this)
    if (conn === undefined) return
    const s = conn.stats
    totals.bytesIn += s.bytesIn; totals.bytesOut += s.bytesOut; totals.framesIn += s.framesIn; totals.framesOut += s.framesOut
    conns.delete(this)
    conn.disconnected()
    logger.info('connection closed', { connection: conn.id, code, rooms: conn.roomNames.length })
  }
  function onError (this: WebSocket, err: Error): void {
    logger.warn('connection error', { connection: conns.get(this)?.id, error: err.message })
  }
  wss.on('connection', (ws, req) => {
    const url = new URL(req.url ?? '/', 'http://hub')
    if (url.pathname === RAFT_PATH) {
      // another hub of the Raft group: authenticated by the cluster secret before anything else
      if (raftMember === undefined) {
        logger.warn('refused a peer hub socket', { reason: 'no raft group here' })
        ws.close(4403, 'not a peer of this hub')
        return
      }
      raftMember.transport.accept(ws)
      return
    }
    const id = `c${++nextId}@${req.socket.remoteAddress ?? '?'}`
    ws.binaryType = 'nodebuffer'
    // the socket itself is the connection's I/O (send, close): no wrapper per connection
    const conn = sync.connect(id, ws)
    conns.set(ws, conn)
    logger.info('connection opened', { connection: id })
    // shared listeners (`this` is the socket): no closures per connection
    ws.on('message', onMessage)
    ws.on('close', onClose)
    ws.on('error', onError)
  })

  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject)
      http.listen(options.port ?? 4444, host, () => { http.off('error', reject); resolve() })
    })
  } catch (err) {
    await raftMember?.close()
    throw err
  }
  const port = (http.address() as AddressInfo).port
  logger.info('hub listening', { url: `ws://${host}:${port}`, dataDir })

  return {
    port,
    url: `ws://${host}:${port}`,
    metrics,
    close: async () => {
      if (closing) return
      closing = true
      for (const ws of conns.keys()) ws.close(1001, 'hub shutting down')
      // the peer hubs' sockets too: the ws server's close waits for every socket
      await raftMember?.close()
      await new Promise<void>(resolve => wss.close(() => resolve()))
      for (const ws of conns.keys()) ws.terminate()
      for (const o of open.values()) clearTimeout(o.idle)
      await Promise.all([...open.keys()].map(unload))
      const httpClosed = new Promise<void>(resolve => http.close(() => resolve()))
      // close() waits for every HTTP connection to end: a request still arriving, or a slow
      // `http` route, would hold it (until Node's headersTimeout/requestTimeout, or forever)
      http.closeAllConnections?.()
      await httpClosed
      logger.info('hub closed', {})
    }
  }
}
