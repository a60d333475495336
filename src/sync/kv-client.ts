/**
 * The client's end of KV requests (see `kv-endpoint.ts`): pending requests
 * by id, sent again after a reconnect or a `Retry` answer with the same
 * session and seq (so a write the hub had already applied is not applied
 * twice), and failed after a timeout. Pure: the {@link SyncClient} drives it.
 *
 * @module
 */
import { AbortError, TimeoutError } from '../errors.js'
import { KvStatus, MessageType, type KvRequestMessage, type KvResponseMessage } from './messages.js'
import { expiredDelay, resolveToken, tokenRetry, type TokenRetry, type TokenSource } from './room-token.js'

/** The hub refused a KV request for good (denied, malformed, no Raft group); `message` says why. */
export class KvRequestError extends Error {
  static override name = 'KvRequestError'
  /**
   * The hub's answer: `KvStatus.Failed` (denied, malformed, no Raft group),
   * `KvStatus.TooLarge` (over the group's `maxEntryBytes`) or
   * `KvStatus.SessionExpired` (start a new session); undefined when the
   * client itself gave up (an expired string token).
   */
  readonly status: KvStatus | undefined
  constructor (message: string, status?: KvStatus) {
    super(message)
    this.name = 'KvRequestError'
    this.status = status
  }
}

interface Pending {
  message: KvRequestMessage
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
  /** Sends a message when the link is up (drops it otherwise). */
  send: (m: KvRequestMessage) => void
  /** Milliseconds. */
  now: () => number
  /** The session id sent with every request. */
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
  private seq = 0
  private readonly timeoutMs: number
  private readonly retryAfterMs: number
  private readonly retry: TokenRetry
  /** `TokenExpired` errors the hub sent: each precedes the refusal of one request. */
  private expiredNotices = 0

  constructor (private readonly options: KvRequestsOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000
    this.retryAfterMs = options.retryAfterMs ?? 100
    this.retry = options.retry ?? tokenRetry()
  }

  /** Requests in flight. */
  get size (): number { return this.pending.size }

  /** Sends a command; resolves with the encoded KV result. */
  request (command: Uint8Array, token: TokenSource, timeoutMs = this.timeoutMs): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++
      const message: KvRequestMessage = { type: MessageType.KvRequest, room: '', id, token: '', session: this.options.session, seq: ++this.seq, command }
      const p: Pending = { message, token, sends: 0, expired: 0, resolve, reject, deadline: this.options.now() + timeoutMs, resendAt: Infinity }
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
      if (token !== p.message.token) p.message = { ...p.message, token }
      this.options.send(p.message)
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
      // not applied: send it again with a fresh token, after a backoff
      p.resendAt = this.options.now() + expiredDelay(this.retry, p.expired++)
      return
    }
    this.pending.delete(m.id)
    if (m.status === KvStatus.Ok) p.resolve(m.result)
    else if (expired) p.reject(new KvRequestError('the token has expired (pass a token function to send a fresh one)'))
    else p.reject(new KvRequestError(m.reason === '' ? 'the hub refused the KV request' : m.reason, m.status))
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
        p.reject(new TimeoutError(`KV request got no answer within ${this.timeoutMs} ms (is the hub's Raft group up and does it have a leader?)`))
      } else if (now >= p.resendAt) {
        p.resendAt = Infinity
        this.send(p)
      }
    }
  }

  /** Rejects everything pending (the connection is being destroyed). */
  abortAll (reason: string): void {
    for (const p of this.pending.values()) p.reject(new AbortError(reason))
    this.pending.clear()
    this.expiredNotices = 0
  }
}
