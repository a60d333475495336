/**
 * The hub (Node): a WebSocket endpoint on `ws` that relays and stores rooms.
 * Rooms load lazily from `dataDir` when a client joins and unload after
 * `idleMs` without members, so a hub holds many rooms in bounded memory.
 * `GET /healthz` answers `{ status }` (503 when a room's storage failed),
 * `GET /metrics` Prometheus text and `GET /metrics.json` the counters.
 * Sockets are checked before they cost anything (header timeout, origin,
 * connection caps; see upgrade-guard.ts) and pinged while open.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type { Logger } from 'aegis-replication'
import { type AuthDecision, DEFAULT_MAX_FRAME_BYTES, HubRoom, SyncServer } from 'aegis-replication/sync'
import { DirectoryLock, type WalDamage } from 'aegis-replication/fs'
import { RoomStorage, roomDir } from './room-storage.js'
import { HubRaftMember, type HubRaftOptions } from './raft-member.js'
import { RAFT_PATH } from './peer-transport.js'
import { jsonLineLogger } from './log.js'
import type { HubLimits } from './limits.js'
import { driverLimits, syncLimits } from './driver-limits.js'
import { isLoopback } from './origin.js'
import { checkProtectedMode } from './protected-mode.js'
import { serveHubRoute } from './http-routes.js'
import { createPromMetrics } from './prom-metrics.js'
import { HeaderGuard } from './upgrade-guard.js'
import { ClientSockets } from './client-sockets.js'

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
   * The hub handles every upgrade on it and answers `/healthz`, `/metrics`,
   * `/metrics.json` (and other paths with 404 only when the server had no
   * `request` listener of its own); `close()` removes the hub's listeners
   * and closes its sockets, not the server. Protected mode: unless the
   * server already listens on a loopback address, the hub needs `auth` or
   * `allowAnonymous`.
   */
  server?: HttpServer | HttpsServer
  /**
   * Take the client's IP from the last hop of `X-Forwarded-For` (set by the
   * reverse proxy in front of the hub) for per-IP limits and the metrics'
   * loopback check. Without it every client behind a proxy shares the
   * proxy's IP (`req.socket.remoteAddress`), and a request carrying
   * forwarding headers never counts as local. Turn on only when a proxy
   * you run sets the header.
   * @default false
   */
  trustProxy?: boolean
}


/** A running hub. */
export interface Hub {
  /** The port the hub's server listens on (0 while an attached `server` does not listen yet). */
  readonly port: number
  /** `ws://host:port` (`wss://` on an attached HTTPS server) */
  readonly url: string
  /** Counters, as served on `/metrics.json`. */
  metrics (): HubMetrics
  /** Stops accepting, closes every socket, flushes and closes every room. */
  close (): Promise<void>
}

/** What `/metrics.json` reports. */
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

/** Set once the room's storage failed (it then refuses writes). */
const failureOf = (room: HubRoom): Error | undefined => room.failure

/** Starts a hub; resolves once it listens (at once with `server`). Throws `HubConfigError` in protected mode. */
export const createHub = async (options: HubOptions = {}): Promise<Hub> => {
  const host = options.host ?? '127.0.0.1'
  checkProtectedMode({ host, hasAuth: options.auth !== undefined, allowAnonymous: options.allowAnonymous === true, server: options.server })
  const dataDir = options.dataDir ?? './.aegis-data'
  const idleMs = options.idleMs ?? 30_000
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
  const logger = options.logger ?? jsonLineLogger('info')
  const limits = driverLimits(options.limits)
  const trustProxy = options.trustProxy === true
  const started = Date.now()
  const open = new Map<string, OpenRoom>()
  const damagedRooms = new Map<string, WalDamage>()
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

  // one live hub per data directory (a dead holder's lock is taken over at once)
  const dirLock = await DirectoryLock.acquire(dataDir, { label: options.id === undefined ? 'aegis-hub' : `aegis-hub ${options.id}` })
  let member: HubRaftMember | undefined
  if (options.id !== undefined) {
    if (options.clusterToken !== undefined) logger.warn('clusterToken (--cluster-token) is deprecated: use clusterSecret (--cluster-secret-file); it is kept for one version', {})
    try {
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
    } catch (err) {
      await dirLock.release()
      throw err
    }
  }
  const raftMember = member

  const failedRooms = (): string[] => [...open.values()].filter(o => failureOf(o.room) !== undefined).map(o => o.room.name)
  const prom = createPromMetrics({
    connections: () => clients.size,
    rooms: () => open.size,
    traffic: () => clients.traffic(),
    reassemblyBytes: () => sync.stats().reassemblyBytes,
    failedRooms: () => failedRooms().length,
    raft: () => raftMember === undefined ? undefined : raftStatus(raftMember)
  })

  const sync = new SyncServer({
    ...syncLimits(options.limits, options.messagesPerSecond),
    auth: options.auth,
    kv: raftMember === undefined ? undefined : raftMember.handle,
    maxFrameBytes,
    logger,
    openRoom: async (name) => {
      const o = open.get(name)
      if (o !== undefined) { clearTimeout(o.idle); return o.room }
      await unloading.get(name) // one process opens a room's log at a time
      let storage: RoomStorage
      try {
        storage = await RoomStorage.open(roomDir(dataDir, name), 'hub', { compactAfter: options.compactAfter, fsync: options.fsync })
      } catch (err) {
        prom.damaged('open-failed')
        logger.error('room storage could not be opened', { room: name, error: String(err) })
        throw err
      }
      const room = new HubRoom(name, storage.doc, storage, { logger })
      open.set(name, { room, storage })
      const { records, tornBytesDropped } = storage.recovery
      const damage = storage.damage
      if (damage !== undefined) {
        // acknowledged updates may be gone: loud, counted, and listed in /healthz until restart
        // (clients that hold them send them again in the handshake)
        damagedRooms.set(name, damage)
        prom.damaged('damage')
        logger.error('room storage damaged: records lost', { room: name, ...damage })
      } else if (tornBytesDropped > 0) prom.damaged('torn-tail')
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

  const metrics = (): HubMetrics => ({
    rooms: open.size,
    connections: clients.size,
    ...clients.traffic(),
    uptimeMs: Date.now() - started,
    ...(raftMember === undefined ? {} : { raft: raftStatus(raftMember) })
  })

  const own = options.server === undefined
  const http: HttpServer | HttpsServer = options.server ?? createServer({
    // Node checks these only every connectionsCheckingInterval; the guard below is exact
    headersTimeout: limits.headerTimeoutMs,
    requestTimeout: Math.max(limits.headerTimeoutMs, 30_000),
    connectionsCheckingInterval: Math.min(1000, limits.headerTimeoutMs)
  })
  // raw sockets: every WebSocket plus room for HTTP requests in flight
  if (own) http.maxConnections = limits.maxConnections + 1024
  const secure = typeof (http as { setSecureContext?: unknown }).setSecureContext === 'function'
  const answersAll = own || http.listenerCount('request') === 0
  const guard = new HeaderGuard(limits.headerTimeoutMs, trustProxy ? 0 : limits.maxConnectionsPerIp)
  const routes = {
    metricsToken: options.metricsToken, trustProxy, dataDir, failedRooms, json: metrics,
    damagedRooms: () => [...damagedRooms.keys()],
    closing: () => closing,
    prometheus: prom.text
  }
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    guard.settled(req.socket)
    void (async () => {
      if (options.http !== undefined && await options.http(req, res)) return
      if (await serveHubRoute(req, res, routes)) return
      if (!answersAll) return // the attached server's own listeners answer it
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the hub serves WebSocket connections, /healthz, /metrics and /metrics.json\n')
    })().catch(err => {
      logger.error('http handler failed', { url: req.url, error: String(err) })
      if (!res.headersSent) res.writeHead(500).end()
    })
  }

  // ws refuses frames over maxPayload itself (close 1009) before we see them
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxFrameBytes + 64 })
  wss.on('error', (err) => { logger.debug('websocket server error', { error: err.message }) })

  const clients = new ClientSockets({
    sync, logger, limits, trustProxy, allowedOrigins: options.allowedOrigins, prom,
    closing: () => closing,
    loopbackHub: () => {
      const a = http.address()
      return own ? isLoopback(host) : a !== null && typeof a === 'object' && isLoopback(a.address)
    }
  })
  /** Upgrades are checked before `ws` sees them: a refusal costs one short HTTP answer. */
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    guard.settled(socket)
    if ((req.url ?? '/').split('?')[0] !== RAFT_PATH && !clients.admit(req, socket)) return
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
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
    clients.accept(ws, req)
  })

  // expired partial (chunked) messages: dropped by the sync server once it sweeps
  const sweeper = setInterval(() => { sync.sweep() }, 1000)
  sweeper.unref?.()

  http.on('connection', guard.accepted)
  http.on('request', onRequest)
  http.on('upgrade', onUpgrade)
  const detach = (): void => {
    clients.stop(); clearInterval(sweeper); guard.close()
    http.off('connection', guard.accepted); http.off('request', onRequest); http.off('upgrade', onUpgrade)
  }

  if (own) {
    try {
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject)
        http.listen(options.port ?? 4444, host, () => { http.off('error', reject); resolve() })
      })
    } catch (err) {
      detach()
      await raftMember?.close()
      await dirLock.release()
      throw err
    }
  }
  // the address stays readable after close() (a caller may restart a hub on the same port)
  let known: { host: string, port: number } | undefined
  const address = (): { host: string, port: number } => {
    const now = currentAddress()
    if (now.port !== 0) known = now
    return known ?? now
  }
  const currentAddress = (): { host: string, port: number } => {
    const a = http.address()
    if (own || a === null || typeof a !== 'object') return { host, port: a !== null && typeof a === 'object' ? a.port : 0 }
    const h = a.address === '::' || a.address === '0.0.0.0' ? 'localhost' : a.address
    return { host: h.includes(':') ? `[${h}]` : h, port: a.port }
  }
  const url = (): string => { const a = address(); return `${secure ? 'wss' : 'ws'}://${a.host}:${a.port}` }
  address()
  logger.info('hub listening', { url: url(), dataDir, attached: !own })

  return {
    get port () { return address().port },
    get url () { return url() },
    metrics,
    close: async () => {
      if (closing) return
      closing = true
      detach()
      clients.closeAll(1001, 'hub shutting down')
      // the peer hubs' sockets too: the ws server's close waits for every socket
      await raftMember?.close()
      await new Promise<void>(resolve => wss.close(() => resolve()))
      clients.terminateAll()
      for (const o of open.values()) clearTimeout(o.idle)
      await Promise.all([...open.keys()].map(unload))
      if (own) {
        const httpClosed = new Promise<void>(resolve => http.close(() => resolve()))
        // close() waits for every HTTP connection to end: a request still arriving, or a slow
        // `http` route, would hold it (until Node's headersTimeout/requestTimeout, or forever)
        http.closeAllConnections?.()
        await httpClosed
      }
      await dirLock.release()
      logger.info('hub closed', {})
    }
  }
}
