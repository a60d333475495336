/**
 * The hub's end of KV requests: clients reach the hubs' Raft KV over their
 * sync connection. The hub asks `auth(token, KV_AUTH_ROOM)` (`read` allows
 * reads, `write` everything) and hands the request to the driver's
 * {@link KvHandler}, which proposes it to Raft (or forwards it to the
 * leader) and answers.
 *
 * @module
 */
import { KvStatus, MessageType, type KvRequestMessage, type KvResponseMessage } from './messages.js'
import type { Access } from './messages.js'
import type { Logger } from '../components.js'

/** The room name `auth` is asked about for KV requests. */
export const KV_AUTH_ROOM = '@kv'

/** A KV request as the driver sees it. */
export interface KvRequest {
  /** The encoded KV command (`encodeKvCommand` of `aegis-replication/raft`). */
  command: Uint8Array
  /** The client's session id and request number: a retry reuses both, and a write applies once. */
  session: string
  seq: number
  /** What `auth` allowed: `read` must refuse writes. */
  access: Access
}

/** The driver's answer. */
export interface KvAnswer {
  status: KvStatus
  /** The encoded KV result when `status` is `Ok`. */
  result?: Uint8Array
  /** Why, when it is not. */
  reason?: string
}

/** Runs KV requests against the Raft group (the hub adapter provides it). */
export type KvHandler = (request: KvRequest) => Promise<KvAnswer>

/** What the endpoint needs from the server and the connection. */
export interface KvEndpointContext {
  handler: KvHandler | undefined
  decide: (token: string) => Promise<'read' | 'write' | 'deny'>
  send: (m: KvResponseMessage) => void
  logger: Logger
}

const answer = (m: KvRequestMessage, a: KvAnswer): KvResponseMessage => ({
  type: MessageType.KvResponse, room: '', id: m.id, status: a.status, result: a.result ?? new Uint8Array(0), reason: a.reason ?? ''
})

/** Handles one request; never throws (a failing handler is answered with `Retry`). */
export const handleKvRequest = async (ctx: KvEndpointContext, m: KvRequestMessage): Promise<void> => {
  if (ctx.handler === undefined) {
    ctx.send(answer(m, { status: KvStatus.Failed, reason: 'this hub runs no Raft group: start it with --id (and --peers) to serve the KV' }))
    return
  }
  const access = await ctx.decide(m.token)
  if (access === 'deny') {
    ctx.send(answer(m, { status: KvStatus.Failed, reason: 'access to the KV denied' }))
    return
  }
  let a: KvAnswer
  try {
    a = await ctx.handler({ command: m.command, session: m.session, seq: m.seq, access })
  } catch (err) {
    ctx.logger.warn('kv request failed', { error: String(err) })
    a = { status: KvStatus.Retry, reason: err instanceof Error ? err.message : String(err) }
  }
  ctx.send(answer(m, a))
}
