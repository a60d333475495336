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
  /**
   * The client has the answers to every request of the session up to this
   * seq (0: none yet), when the client sends it; the Raft group then drops
   * those answers and can tell an expired session from a new one.
   */
  ackedSeq?: number
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

/**
 * The answer for a request that failed with `err`, by the error's `name`
 * (it survives copies of the library and worker boundaries):
 * `EntryTooLargeError` → `TooLarge`, `SessionExpiredError` →
 * `SessionExpired`, anything else (not the leader, a timeout, a dropped
 * proposal, back-pressure, a stopping node) → `Retry` with the same
 * session and seq.
 */
export const kvAnswerForError = (err: unknown): KvAnswer => {
  const reason = err instanceof Error ? err.message : String(err)
  const name = err instanceof Error ? err.name : ''
  if (name === 'EntryTooLargeError') return { status: KvStatus.TooLarge, reason }
  if (name === 'SessionExpiredError') return { status: KvStatus.SessionExpired, reason }
  return { status: KvStatus.Retry, reason }
}

/** Handles one request; never throws (a failing handler is answered by {@link kvAnswerForError}). */
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
    a = await ctx.handler({ command: m.command, session: m.session, seq: m.seq, access, ...(m.ackedSeq === undefined ? {} : { ackedSeq: m.ackedSeq }) })
  } catch (err) {
    a = kvAnswerForError(err)
    if (a.status === KvStatus.Retry) ctx.logger.warn('kv request failed', { error: String(err) })
  }
  ctx.send(answer(m, a))
}
