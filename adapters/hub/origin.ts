/**
 * Who may open the hub's socket from a web page (the `Origin` check), and
 * which addresses count as loopback.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'

/** Whether `address` (an IP, `localhost`, or a listen host) is a loopback address. */
export const isLoopback = (address: string | undefined): boolean => {
  if (address === undefined) return false
  const a = address.toLowerCase().replace(/^\[|\]$/g, '')
  return a === 'localhost' || a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.') || a.endsWith('.localhost')
}

/** The host name of a `Host` header or URL authority (`[::1]:80` → `::1`), lower case. */
export const hostName = (authority: string): string => {
  const a = authority.trim().toLowerCase()
  if (a.startsWith('[')) return a.slice(1, a.indexOf(']') > 0 ? a.indexOf(']') : undefined)
  const colon = a.lastIndexOf(':')
  return colon >= 0 && a.indexOf(':') === colon ? a.slice(0, colon) : a
}

/** What {@link originAllowed} weighs. */
export interface OriginCheck {
  /** The upgrade's `Origin` header. */
  origin: string
  /** The upgrade's `Host` header (the name the client used to reach the hub). */
  host: string | undefined
  /** Whether the hub listens on a loopback address. */
  loopbackHub: boolean
  /** `HubOptions.allowedOrigins`. */
  allowed: readonly string[] | '*' | undefined
}

/**
 * Whether a page of `origin` may open the hub's socket: `'*'` allows any;
 * a list allows exactly its origins; by default a loopback hub allows any
 * loopback origin (any port) and any hub allows an origin whose host name
 * is the `Host` header's.
 */
export const originAllowed = ({ origin, host, loopbackHub, allowed }: OriginCheck): boolean => {
  if (allowed === '*') return true
  if (allowed !== undefined) {
    const o = origin.toLowerCase().replace(/\/+$/, '')
    return allowed.some(a => a === '*' || a.toLowerCase().replace(/\/+$/, '') === o)
  }
  let url: URL
  try { url = new URL(origin) } catch { return false } // 'null' (sandboxed pages, file://) and junk
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false
  const name = hostName(url.host)
  if (loopbackHub && isLoopback(name)) return true
  return host !== undefined && name === hostName(host)
}

/**
 * The client's IP: the socket's remote address, or with `trustProxy` the
 * last hop of `X-Forwarded-For` (what the proxy in front of the hub saw).
 */
export const clientIp = (req: IncomingMessage, trustProxy: boolean): string => {
  const socketIp = req.socket.remoteAddress ?? '?'
  if (!trustProxy) return socketIp
  const xff = req.headers['x-forwarded-for']
  const value = Array.isArray(xff) ? xff.join(',') : xff
  if (value === undefined) return socketIp
  const hops = value.split(',').map(s => s.trim()).filter(s => s !== '')
  return hops[hops.length - 1] ?? socketIp
}

/**
 * Whether a request comes from this machine: a loopback client IP and, unless
 * the hub trusts its proxy, no forwarding header (a local reverse proxy would
 * otherwise make every internet client look local).
 */
export const fromLoopback = (req: IncomingMessage, trustProxy: boolean): boolean => {
  if (!trustProxy && (req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined)) return false
  return isLoopback(clientIp(req, trustProxy))
}
