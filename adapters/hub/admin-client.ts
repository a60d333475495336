/**
 * Sends one membership request to a hub over its peer endpoint, after the
 * cluster-secret handshake (role `admin`): what `aegis-hub members` and a
 * joining hub use.
 *
 * @module
 */
import { WebSocket } from 'ws'
import { TimeoutError } from 'aegis-replication'
import { PeerRole } from './cluster-auth.js'
import { randomId } from './cluster-identity.js'
import { PeerLink } from './peer-link.js'
import { RAFT_PATH } from './peer-transport.js'
import type { AdminAnswer, AdminRequest } from './membership.js'

/** Options of {@link adminRequest}. */
export interface AdminRequestOptions {
  /** Give up after this long. @default 60000 */
  timeoutMs?: number
  /** The name the request comes from (logged by the hub). @default 'aegis-hub-members' */
  from?: string
}

/** Sends `req` to the hub at `url` (`ws://host:port`); resolves with its answer. */
export const adminRequest = async (url: string, secret: string, req: AdminRequest, options: AdminRequestOptions = {}): Promise<AdminAnswer> =>
  await new Promise<AdminAnswer>((resolve, reject) => {
    const socket = new WebSocket(`${url.replace(/\/+$/, '')}${RAFT_PATH}`, { perMessageDeflate: false })
    let settled = false
    const done = (err: Error | undefined, a?: AdminAnswer): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      link.close(1000, 'done')
      if (err !== undefined) reject(err); else resolve(a!)
    }
    const timer = setTimeout(() => { done(new TimeoutError(`no answer from ${url} within ${options.timeoutMs ?? 60_000} ms`)) }, options.timeoutMs ?? 60_000)
    socket.on('error', (err) => { done(new Error(`cannot reach ${url}: ${err.message}`)) })
    const link = new PeerLink(socket, {
      side: 'dialer',
      role: PeerRole.Admin,
      secret,
      me: () => ({ nodeId: options.from ?? 'aegis-hub-members', memberId: randomId(), clusterId: '' }),
      check: () => undefined,
      onOpen: (l) => { l.send(new TextEncoder().encode(JSON.stringify(req))) },
      onMessage: (m) => {
        try { done(undefined, JSON.parse(new TextDecoder().decode(m)) as AdminAnswer) } catch (err) { done(err as Error) }
      },
      onClose: (_l, code, reason) => { done(new Error(`${url} closed the connection (${code}${reason === '' ? '' : `: ${reason}`})`)) }
    })
  })
