/**
 * The client's end of KV requests (see `kv-endpoint.ts`): pending requests
 * by id, sent again after a reconnect or a `Retry` answer with the same
 * session and seq (so a write the hub had already applied is not applied
 * twice), and failed after a timeout. Pure: the {@link SyncClient} drives it.
 *
 * Every request carries the session's acknowledged point (`ackedSeq`, see
 * `kv-session.ts`), so the group keeps only the answers the client may
 * still ask for, and tells an expired session from a new one. When the
 * group answers `SessionExpired`, the client moves to a fresh session
 * (`<session>.<n>`) and sends that request again there, if it is certain
 * the request was never applied; otherwise the request fails with
 * {@link KvOutcomeUnknownError}.
 *
 * @module
 */
import { AbortError, TimeoutError } from '../errors.js'
import { KvStatus, MessageType, type KvRequestMessage, type KvResponseMessage } from './messages.js'
import { expiredDelay, resolveToken, tokenRetry, type TokenRetry, type TokenSource } from './room-token.js'
import { isKvRead, KvSession, sessionIdFor } from './kv-session.js'
import { KvOutcomeUnknownError, KvRequestError } from './kv-errors.js'

export { KvOutcomeUnknownError, KvRequestError } from './kv-errors.js'

interface Pending {
  message: KvRequestMessage
  /** The session the request was numbered in. */
  session: KvSession
  write: boolean
  /** Times it went to the hub in its session: after the first, an earlier attempt may have been applied. */
  attempts: number
  token: TokenSource
  /** Counts sends, so a token that arrives after the next send is dropped. */
  sends: number
  /** Times the hub found the token expired. */
  expired: number
  resolve: (result: Uint8Array) => void
  reject: (err: Error) => void
  deadline: number
  /** Send again at this time (`Infinity`: wait for the answer or a reconnect). */
  resendAt: number
}

/** Options of {@link KvRequests}. */
export interface KvRequestsOptions {
  /**
   * Sends a message when the link is up (drops it otherwise); returns
   * `false` when it dropped it (`undefined` counts as sent).
   */
  send: (m: KvRequestMessage) => boolean | undefined
  /** Milliseconds. */
  now: () => number
  /** The id of the first session; later ones (after the group expired one) are `<session>.<n>`. */
  session: string
  /** Give up on a request after this long. @default 10000 */
  timeoutMs?: number
  /** Wait this long before sending again after a `Retry` answer. @default 100 */
  retryAfterMs?: number
  /** Backoff after an expired token or a failed token function. @default tokenRetry() */
  retry?: TokenRetry
}

/** Pending KV requests of one connection. */
export class KvRequests {
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  /** The session new requests are numbered in. */
  private session: KvSession
  private generation = 0
  private readonly timeoutMs: number
  private readonly retryAfterMs: number
  private readonly retry: TokenRetry
  /** `TokenExpired` errors the hub sent: each precedes the refusal of one request. */
  private expiredNotices = 0

  constructor (private readonly options: KvRequestsOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000
    this.retryAfterMs = options.retryAfterMs ?? 100
    this.retry = options.retry ?? tokenRetry()
    this.session = new KvSession(options.session)
  }

  /** The id of the session new requests go in. */
  get sessionId (): string { return this.session.id }

  /** Requests in flight. */
  get size (): number { return this.pending.size }

  /** Sends a command; resolves with the encoded KV result. */
  request (command: Uint8Array, token: TokenSource, timeoutMs = this.timeoutMs): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++
      const session = this.session
      const message: KvRequestMessage = { type: MessageType.KvRequest, room: '', id, token: '', session: session.id, seq: session.next(), command }
      const p: Pending = { message, session, write: !isKvRead(command), attempts: 0, token, sends: 0, expired: 0, resolve, reject, deadline: this.options.now() + timeoutMs, resendAt: Infinity }
      this.pending.set(id, p)
      this.send(p)
    })
  }

  /** The hub said a token expired: the next refusal is that request's. */
  tokenExpired (): void { this.expiredNotices++ }

  /** Sends `p` with the current token (a token function is asked each time). */
  private send (p: Pending): void {
    const sends = ++p.sends
    const current = (): boolean => this.pending.get(p.message.id) === p && p.sends === sends
    resolveToken(p.token, (token) => {
      if (!current()) return
      const ackedSeq = p.session.ackedSeq
      if (token !== p.message.token || ackedSeq !== p.message.ackedSeq) p.message = { ...p.message, token, ackedSeq }
      if (this.options.send(p.message) !== false) p.attempts++
    }, () => {
      // wait and ask again (until the deadline): the request was not sent with this token
      if (current()) p.resendAt = this.options.now() + expiredDelay(this.retry, p.expired++)
    })
  }

  /** An answer arrived. */
  receive (m: KvResponseMessage): void {
    const expired = m.status === KvStatus.Failed && this.expiredNotices > 0
    if (expired) this.expiredNotices--
    const p = this.pending.get(m.id)
    if (p === undefined) return // answered before, or timed out
    if (m.status === KvStatus.Retry) { p.resendAt = this.options.now() + this.retryAfterMs; return }
    if (expired && typeof p.token === 'function') {
      // not applied (auth refused it before the group saw it): send it again with a fresh token, after a backoff
      p.attempts--
      p.resendAt = this.options.now() + expiredDelay(this.retry, p.expired++)
      return
    }
    if (m.status === KvStatus.SessionExpired && p.write) { this.sessionExpired(p, m.reason); return }
    this.pending.delete(m.id)
    p.session.settle(p.message.seq, m.status === KvStatus.Ok && p.write)
    if (m.status === KvStatus.Ok) p.resolve(m.result)
    else if (expired) p.reject(new KvRequestError('the token has expired (pass a token function to send a fresh one)'))
    else p.reject(new KvRequestError(m.reason === '' ? 'the hub refused the KV request' : m.reason, m.status))
  }

  /**
   * The group refused `p` because its session expired. That refusal is an
   * applied log entry that changed nothing, so `p` was not applied by this
   * attempt. If it was its only attempt, `p` was never applied anywhere:
   * sending it again as a new request of a fresh session is safe and
   * applies it once. If an earlier attempt went unanswered (a reconnect, a
   * `Retry` answer), that attempt may have been applied before the session
   * expired (its answer is gone with the session): sending it again could
   * apply it twice, so it fails with {@link KvOutcomeUnknownError}.
   * Other requests of the old session still in flight are not moved: they
   * keep their session and seq (their answers may be on the way), and meet
   * the same rule if they are refused in turn.
   */
  private sessionExpired (p: Pending, reason: string): void {
    const old = p.session
    old.settle(p.message.seq)
    if (this.session === old) this.session = new KvSession(sessionIdFor(this.options.session, ++this.generation))
    if (p.attempts > 1) {
      this.pending.delete(p.message.id)
      p.reject(new KvOutcomeUnknownError(`the KV session ${old.id} expired on the group after request ${p.message.seq} was sent more than once: it may have been applied before the session expired, and is not sent again (${reason})`))
      return
    }
    const session = this.session
    p.session = session
    p.message = { ...p.message, session: session.id, seq: session.next(), ackedSeq: undefined }
    p.attempts = 0
    p.resendAt = Infinity
    this.send(p)
  }

  /** The link is up again: send every pending request again (same session and seq). */
  resendAll (): void {
    this.expiredNotices = 0
    for (const p of this.pending.values()) { p.resendAt = Infinity; this.send(p) }
  }

  /** Times out old requests and resends those the hub asked to retry. */
  tick (): void {
    const now = this.options.now()
    for (const [id, p] of this.pending) {
      if (now >= p.deadline) {
        this.pending.delete(id)
        p.session.settle(p.message.seq)
        p.reject(new TimeoutError(`KV request got no answer within ${this.timeoutMs} ms (is the hub's Raft group up and does it have a leader?)`))
      } else if (now >= p.resendAt) {
        p.resendAt = Infinity
        this.send(p)
      }
    }
  }

  /** Rejects everything pending (the connection is being destroyed). */
  abortAll (reason: string): void {
    for (const p of this.pending.values()) { p.session.settle(p.message.seq); p.reject(new AbortError(reason)) }
    this.pending.clear()
    this.expiredNotices = 0
  }
}
