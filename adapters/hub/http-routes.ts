/**
 * The hub's own HTTP routes: `/healthz`, `/metrics` (Prometheus text) and
 * `/metrics.json`. Details and metrics need the metrics token unless the
 * request comes from this machine.
 *
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { constants } from 'node:fs'
import { access } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { dirname } from 'node:path'
import { fromLoopback } from './origin.js'

/** What the routes read from the hub. */
export interface HubRoutesSource {
  metricsToken?: string
  trustProxy: boolean
  closing: () => boolean
  /** Names of open rooms whose storage failed. */
  failedRooms: () => string[]
  /** Rooms whose log was found damaged when loaded since the hub started (records lost, segments missing). */
  damagedRooms?: () => string[]
  dataDir: string
  /** The JSON view (`HubMetrics`). */
  json: () => unknown
  /** The Prometheus text. */
  prometheus: () => Promise<string>
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

/** `Authorization: Bearer <token>` matches `token` (compared in constant time over equal-length digests). */
export const bearerMatches = (req: IncomingMessage, token: string | undefined): boolean => {
  if (token === undefined) return false
  const h = req.headers.authorization
  if (h === undefined || !/^bearer /i.test(h)) return false
  return timingSafeEqual(digest(h.slice(7).trim()), digest(token))
}

/** Whether `dir` (or, before it exists, the nearest existing parent) is writable. */
export const writable = async (dir: string): Promise<boolean> => {
  for (let d = dir; ; d = dirname(d)) {
    try {
      await access(d, constants.W_OK)
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(d) === d) return false
    }
  }
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body))
}

/** Answers the hub's routes; false for any other request. */
export const serveHubRoute = async (req: IncomingMessage, res: ServerResponse, src: HubRoutesSource): Promise<boolean> => {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false
  const path = (req.url ?? '/').split('?')[0]
  if (path !== '/healthz' && path !== '/metrics' && path !== '/metrics.json') return false
  const trusted = fromLoopback(req, src.trustProxy) || bearerMatches(req, src.metricsToken)
  if (path === '/healthz') {
    if (src.closing()) { json(res, 503, { status: 'closing' }); return true }
    const rooms = src.failedRooms()
    const dataDirWritable = await writable(src.dataDir)
    const damaged = src.damagedRooms?.() ?? []
    const status = rooms.length === 0 && dataDirWritable ? 'ok' : 'degraded'
    const code = status === 'ok' ? 200 : 503
    // the details (which rooms failed) only for the operator; the status code tells a load balancer enough.
    // Damage found on load is reported (200: the room serves what survived, clients resend what they hold)
    json(res, code, trusted && (status !== 'ok' || damaged.length > 0) ? { status, rooms, dataDirWritable, ...(damaged.length > 0 ? { damagedRooms: damaged } : {}) } : { status })
    return true
  }
  if (!trusted) {
    res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' })
      .end('the hub\'s metrics need Authorization: Bearer <metrics token> (or a request from this machine)\n')
    return true
  }
  if (path === '/metrics.json') json(res, 200, src.json())
  else res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(await src.prometheus())
  return true
}
