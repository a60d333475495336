/**
 * One room of a {@link SyncClient} (see `client.ts` for the protocol): the
 * handshake, live updates and their acknowledgements, resends, and the
 * token of each join (a {@link TokenSource}, asked again on every join, and
 * retried after `TokenExpired` with backoff).
 *
 * @module
 */
import { ObservableV2 } from 'lib0/observable'
import type { Doc } from '../doc/doc.js'
import { isEmptyUpdate } from '../doc/update-codec.js'
import { DecodeError, InvalidArgumentError } from '../errors.js'
import { Access, ErrorCode, MAX_PEER_ID_BYTES, MessageType, type RoomMessage, type SyncMessage } from './messages.js'
import { deniedDelay, expiredDelay, resolveToken, type TokenRetry, type TokenSource } from './room-token.js'

/** What a room needs from its {@link SyncClient}. */
export interface RoomLink {
  /** Milliseconds. */
  readonly now: () => number
  /** Whether the link is up. */
  readonly online: boolean
  /** Retry delays of refused joins. */
  readonly retry: TokenRetry
  /** Sends a message while the link is up (drops it otherwise). */
  sendMessage (m: SyncMessage): void
}

/** Options of one room, see `SyncClient.addRoom`. */
export interface ClientRoomOptions {
  /**
   * Handed to the hub's `auth(token, room)`: a string, or a function
   * called for the current token before every join (on every reconnect,
   * and on every retry after the hub answered `TokenExpired`).
   * @default ''
   */
  token?: TokenSource
  /** Ask for write access; a read-only client never sends updates. @default 'write' */
  access?: Access
  /**
   * Sync the doc with the hub's copy. With `false` the room is joined for
   * signaling only: the doc is neither sent nor received, and the status
   * becomes `'synced'` as soon as the hub admitted the room.
   * @default true
   */
  sync?: boolean
  /**
   * This client's peer id for `sendSignal` (at most `MAX_PEER_ID_BYTES`);
   * the hub binds the connection to the first id it signals with.
   * @default none: signaling throws
   */
  peerId?: string
}

/**
 * Where a room's handshake stands. `'retrying'`: refused for now (the
 * token expired, the token function failed, or — with a token function —
 * denied); the room joins again with a fresh token after a delay.
 * `'denied'`: refused for good (a fixed token the hub denied or found
 * expired); only removing and adding the room again retries.
 */
export type RoomStatus = 'offline' | 'joining' | 'synced' | 'retrying' | 'denied'

/** Events of {@link ClientRoom}. */
export interface ClientRoomEvents {
  /** The handshake finished: both sides hold what the other had. */
  synced: (room: ClientRoom) => void
  status: (status: RoomStatus) => void
  /** The number of local updates the hub has not yet acknowledged changed. */
  pending: (pending: number) => void
  /**
   * The hub refused something in this room (denied, token expired,
   * read-only, bad update), or the token function failed (`code`
   * `TokenExpired`, `cause` the error it threw).
   */
  error: (err: { code: ErrorCode, reason: string, cause?: unknown }) => void
  /** A y-protocols awareness update for this room arrived. */
  awareness: (update: Uint8Array) => void
  /** A signal from peer `from` arrived (`to` is this peer's id, or '' for one sent to every peer). */
  signal: (from: string, payload: Uint8Array, to: string) => void
}

interface Pending { update: Uint8Array, count: number, sentAt: number }

/** One room of a `SyncClient`: a doc kept in sync with the hub's copy. */
export class ClientRoom extends ObservableV2<ClientRoomEvents> {
  readonly name: string
  readonly doc: Doc
  readonly wantAccess: Access
  /** Whether the doc syncs through the hub (false: signaling only). */
  readonly syncsDoc: boolean
  /** This client's peer id for signaling, if it signals. */
  readonly peerId: string | undefined
  /** The access the hub granted, once joined. */
  access: Access | undefined = undefined
  private _status: RoomStatus = 'offline'
  private gotStep2 = false
  private answeredStep1 = false
  private joined = false
  private joinSentAt = 0
  private resyncAt = 0
  private seq = 0
  private readonly inFlight = new Map<number, Pending>()
  private readonly tokenSource: TokenSource
  private _token = ''
  /** Counts joins, so a token that arrives after the next join (or a disconnect) is dropped. */
  private joinEpoch = 0
  /** While `'retrying'`: join again at this time. */
  private retryAt = Infinity
  /** Failed joins in a row (token expired or token function failed), for the backoff. */
  private retryAttempt = 0
  /** Local updates made while offline or before the handshake answered. */
  private unsent = 0
  private readonly onUpdate: (update: Uint8Array, origin: unknown) => void

  constructor (private readonly client: RoomLink, name: string, doc: Doc, options: ClientRoomOptions) {
    super()
    this.name = name
    this.doc = doc
    this.tokenSource = options.token ?? ''
    if (typeof this.tokenSource !== 'string' && typeof this.tokenSource !== 'function') throw new InvalidArgumentError('a token must be a string or a function returning one')
    if (typeof this.tokenSource === 'string') this._token = this.tokenSource
    this.wantAccess = options.access ?? Access.Write
    this.syncsDoc = options.sync ?? true
    if (options.peerId !== undefined && (typeof options.peerId !== 'string' || options.peerId.length === 0 || new TextEncoder().encode(options.peerId).length > MAX_PEER_ID_BYTES)) {
      throw new InvalidArgumentError(`a peer id must be a non-empty string of at most ${MAX_PEER_ID_BYTES} bytes`)
    }
    this.peerId = options.peerId
    this.onUpdate = (update, origin) => { if (origin !== this) this.local(update) }
    if (this.syncsDoc) doc.on('update', this.onUpdate)
  }

  /** Whether the hub admitted this room on the current connection (signals may flow). */
  get isJoined (): boolean { return this.joined }

  /**
   * Sends an opaque payload to peer `to` of this room ('' = every peer)
   * through the hub. Returns false (nothing sent) while not joined.
   *
   * @throws {InvalidArgumentError} when the room has no `peerId`.
   */
  sendSignal (to: string, payload: Uint8Array): boolean {
    if (this.peerId === undefined) throw new InvalidArgumentError('this room was added without a peerId: it cannot signal')
    if (!this.joined || this._status === 'denied') return false
    this.client.sendMessage({ type: MessageType.Signal, room: this.name, from: this.peerId, to, payload })
    return true
  }

  /** The token of the last join (the last one a token function returned). */
  get token (): string { return this._token }

  /** Whether the token comes from a function (and may be fresh next time). */
  get refreshesToken (): boolean { return typeof this.tokenSource === 'function' }

  get status (): RoomStatus { return this._status }
  get synced (): boolean { return this._status === 'synced' }

  /** Local updates the hub has not acknowledged as durable. */
  get pending (): number {
    let n = this.unsent
    for (const p of this.inFlight.values()) n += p.count
    return n
  }

  /**
   * Tells the hub this much of the doc is durable in local storage (call
   * after the persistence flushed), so the hub knows what each client holds.
   */
  reportHeld (stateVector: Uint8Array = this.doc.encodeStateVector()): void {
    if (this._status !== 'synced' || !this.syncsDoc) return
    this.client.sendMessage({ type: MessageType.Held, room: this.name, stateVector })
  }

  /** Sends a y-protocols awareness update to the room. */
  sendAwareness (update: Uint8Array): void {
    if (this._status === 'offline' || this._status === 'denied' || !this.syncsDoc) return
    this.client.sendMessage({ type: MessageType.Awareness, room: this.name, update })
  }

  /** @internal */
  join (): void {
    if (this._status === 'denied') return
    this.gotStep2 = false
    this.answeredStep1 = false
    this.joined = false
    this.retryAt = Infinity
    this.setStatus('joining')
    this.joinSentAt = this.resyncAt = this.client.now()
    const epoch = ++this.joinEpoch
    const current = (): boolean => epoch === this.joinEpoch && this._status === 'joining' && this.client.online
    resolveToken(this.tokenSource, (token) => {
      if (!current()) return
      this._token = token
      this.joinSentAt = this.resyncAt = this.client.now()
      this.sendJoin(token)
    }, (err) => { if (current()) this.tokenFailed(err) })
  }

  private sendJoin (token: string): void {
    if (!this.syncsDoc) {
      this.client.sendMessage({ type: MessageType.SignalJoin, room: this.name, token })
      return
    }
    this.client.sendMessage({
      type: MessageType.Join, room: this.name, token, access: this.wantAccess, stateVector: this.doc.encodeStateVector()
    })
  }

  /** The token function threw, rejected or returned a non-string: retry with backoff. */
  private tokenFailed (err: unknown): void {
    this.retryLater(expiredDelay(this.client.retry, this.retryAttempt++))
    this.emit('error', [{ code: ErrorCode.TokenExpired, reason: `the token function failed: ${String(err)}`, cause: err }])
  }

  private retryLater (delay: number): void {
    this.joined = false
    this.retryAt = this.client.now() + delay
    this.setStatus('retrying')
  }

  /** @internal */
  offline (): void {
    // what was in flight may or may not have reached the hub: the next
    // handshake's diff covers it either way
    for (const p of this.inFlight.values()) this.unsent += p.count
    this.inFlight.clear()
    this.answeredStep1 = false
    this.joined = false
    this.joinEpoch++
    if (this._status !== 'denied') this.setStatus('offline')
  }

  /** @internal */
  receive (m: RoomMessage): void {
    switch (m.type) {
      case MessageType.Joined:
        this.access = m.access
        this.joined = true
        this.retryAttempt = 0
        if (!this.syncsDoc && this._status === 'joining') {
          this.setStatus('synced')
          this.emit('synced', [this])
        }
        break
      case MessageType.Signal:
        if (this.joined) this.emit('signal', [m.from, m.payload, m.to])
        break
      case MessageType.SyncStep2:
        if (!this.syncsDoc) break
        this.doc.applyUpdate(m.update, this)
        this.gotStep2 = true
        this.maybeSynced()
        break
      case MessageType.SyncStep1:
        if (this.syncsDoc) this.answerStep1(m.stateVector)
        break
      case MessageType.Update:
        if (this.syncsDoc) this.doc.applyUpdate(m.update, this)
        break
      case MessageType.Ack:
        this.ack(m.from, m.to)
        break
      case MessageType.Awareness:
        this.emit('awareness', [m.update])
        break
      case MessageType.Error:
        this.refused(m.code, m.reason)
        break
      default:
        throw new DecodeError(`a hub does not send message type ${m.type}`)
    }
  }

  /** @internal resend what seems lost */
  tick (now: number, resendAfterMs: number, resyncEveryMs: number): void {
    if (this._status === 'retrying') {
      if (now >= this.retryAt) this.join()
      return
    }
    if (this._status === 'joining' && now - this.joinSentAt >= resendAfterMs) {
      this.join()
      return
    }
    if (!this.answeredStep1) return
    if (now - this.resyncAt >= resyncEveryMs) {
      // anti-entropy: ask for anything a lost frame kept from us
      this.resyncAt = now
      this.client.sendMessage({ type: MessageType.SyncStep1, room: this.name, stateVector: this.doc.encodeStateVector() })
    }
    for (const [seq, p] of this.inFlight) {
      if (now - p.sentAt < resendAfterMs) continue
      p.sentAt = now
      this.client.sendMessage({ type: MessageType.Update, room: this.name, seq, update: p.update })
    }
  }

  /** @internal */
  detach (): void {
    if (this.syncsDoc) this.doc.off('update', this.onUpdate)
    this.offline()
  }

  private answerStep1 (stateVector: Uint8Array): void {
    const count = this.pending
    this.inFlight.clear()
    this.unsent = 0
    if (this.wantAccess === Access.Write && this.access !== Access.Read) {
      const diff = this.doc.encodeStateAsUpdate(stateVector)
      if (count > 0 || !isEmptyUpdate(diff)) this.sendUpdate(diff, Math.max(count, 1))
    }
    this.emitPending()
    this.answeredStep1 = true
    this.maybeSynced()
  }

  private local (update: Uint8Array): void {
    if (this.wantAccess !== Access.Write || this.access === Access.Read) return
    // once the hub's vector is answered, the hub has everything older
    if (this.answeredStep1 && this._status !== 'offline') this.sendUpdate(update, 1)
    else this.unsent++
    this.emitPending()
  }

  private sendUpdate (update: Uint8Array, count: number): void {
    const seq = ++this.seq
    this.inFlight.set(seq, { update, count, sentAt: this.client.now() })
    this.client.sendMessage({ type: MessageType.Update, room: this.name, seq, update })
  }

  private ack (from: number, to: number): void {
    const before = this.pending
    for (const seq of [...this.inFlight.keys()]) if (seq >= from && seq <= to) this.inFlight.delete(seq)
    if (this.pending !== before) this.emitPending()
  }

  private refused (code: ErrorCode, reason: string): void {
    if (code === ErrorCode.TokenExpired || code === ErrorCode.Denied) {
      // a function may give a fresh (or different) token next time; a fixed token will not change
      if (!this.refreshesToken) this.setStatus('denied')
      else if (code === ErrorCode.TokenExpired) this.retryLater(expiredDelay(this.client.retry, this.retryAttempt++))
      else this.retryLater(deniedDelay(this.client.retry))
    }
    if (code === ErrorCode.ReadOnly) {
      this.access = Access.Read
      this.inFlight.clear()
      this.unsent = 0
      this.emitPending()
    }
    this.emit('error', [{ code, reason }])
  }

  private maybeSynced (): void {
    if (this._status === 'joining' && this.gotStep2 && this.answeredStep1) {
      this.setStatus('synced')
      this.emit('synced', [this])
    }
  }

  private setStatus (s: RoomStatus): void {
    if (this._status === s) return
    this._status = s
    this.emit('status', [s])
  }

  private emitPending (): void { this.emit('pending', [this.pending]) }
}
