/**
 * The hub's signaling relay: forwards `signal` messages among the
 * connections of a room, so peers can set up direct links (WebRTC) without
 * the hub seeing more than opaque payloads.
 *
 * A connection takes part once it joined the room (for sync or with
 * `signal-join`) and either signal-joined or sent a signal. It is bound to
 * the peer id it first signals with in that room: a signal with another
 * `from` is refused (no spoofing), and so is an id another connection
 * holds. A signal to a peer id nobody holds is dropped; `to` = '' goes to
 * every other signaling connection of the room. Rooms never see each
 * other's signals. Pure: no I/O, the connections send.
 *
 * A peer id outlives its holder for a while, so nobody else can take it
 * while the holder reconnects: when the holder leaves, the id stays
 * reserved for `graceMs` for a connection that presents the same token
 * (the relay keeps only a hash of it); and an id last held by a connection
 * with write access is never given to a read-only one (remembered for
 * `writerMemoryMs`). Others are refused with `'taken'`.
 *
 * @module
 */
import { silentLogger, type Logger } from '../components.js'
import type { SignalMessage } from './messages.js'

/** Default {@link SignalRelayOptions.graceMs}: 60 s. */
export const DEFAULT_PEER_ID_GRACE_MS = 60_000

/** Options of {@link SignalRelay}. */
export interface SignalRelayOptions {
  /** Milliseconds. @default Date.now */
  now?: () => number
  /** How long a left holder's peer id stays reserved for its token. @default 60000 */
  graceMs?: number
  /** How long a peer id a writer held stays out of read-only hands. @default 86400000 (24 h) */
  writerMemoryMs?: number
  /** Released peer ids remembered per room (the oldest go first). @default 1024 */
  maxReleasedPerRoom?: number
}

/** Who a signaling connection is: a hash of its token, and whether it may write the room. */
export interface SignalCredential {
  readonly tokenHash: string
  readonly write: boolean
}

interface Member {
  /** The peer id it is bound to (undefined until its first signal). */
  id: string | undefined
  cred: SignalCredential | undefined
}

/** A peer id whose holder left. */
interface Released {
  readonly tokenHash: string | undefined
  readonly write: boolean
  /** Reserved for `tokenHash` until then. */
  readonly reservedUntil: number
  /** Kept from read-only connections until then (writers only). */
  readonly forgetAt: number
}

/** A connection as the relay sees it. */
export interface SignalPeer {
  readonly id: string
  /** Sends a signal message (the connection encodes and chunks it). */
  send (m: SignalMessage): void
}

/** Why a signal was not relayed. */
export type SignalRefusal = 'spoofed' | 'taken'

interface RoomSignaling {
  readonly members: Map<SignalPeer, Member>
  /** Peer id → its connection. */
  readonly byId: Map<string, SignalPeer>
  /** Peer ids whose holders left, oldest first. */
  readonly released: Map<string, Released>
}

/** Signaling members of every room on a hub. */
export class SignalRelay {
  private readonly rooms = new Map<string, RoomSignaling>()
  /** Rooms without members that still remember released ids: {@link sweep} forgets them. */
  private readonly idle = new Set<string>()
  private readonly now: () => number
  private readonly graceMs: number
  private readonly writerMemoryMs: number
  private readonly maxReleased: number

  constructor (private readonly logger: Logger = silentLogger, options: SignalRelayOptions = {}) {
    this.now = options.now ?? (() => Date.now())
    this.graceMs = options.graceMs ?? DEFAULT_PEER_ID_GRACE_MS
    this.writerMemoryMs = Math.max(this.graceMs, options.writerMemoryMs ?? 86_400_000)
    this.maxReleased = options.maxReleasedPerRoom ?? 1024
  }

  /**
   * Adds `peer` to `room`'s signaling members (it then gets broadcasts);
   * `cred` (given once auth admitted it) decides which released ids it may take.
   */
  add (room: string, peer: SignalPeer, cred?: SignalCredential): void {
    let r = this.rooms.get(room)
    if (r === undefined) this.rooms.set(room, (r = { members: new Map(), byId: new Map(), released: new Map() }))
    this.idle.delete(room)
    const m = r.members.get(peer)
    if (m === undefined) r.members.set(peer, { id: undefined, cred })
    else if (cred !== undefined) m.cred = cred
  }

  /** Removes `peer` from `room`; its peer id stays reserved (see the module docs). */
  remove (room: string, peer: SignalPeer): void {
    const r = this.rooms.get(room)
    if (r === undefined) return
    const m = r.members.get(peer)
    if (m === undefined) return
    r.members.delete(peer)
    if (m.id !== undefined && r.byId.get(m.id) === peer) {
      r.byId.delete(m.id)
      const now = this.now()
      const write = m.cred?.write === true
      r.released.delete(m.id) // re-inserted last: the map stays oldest first
      r.released.set(m.id, { tokenHash: m.cred?.tokenHash, write, reservedUntil: now + this.graceMs, forgetAt: now + (write ? this.writerMemoryMs : this.graceMs) })
      if (r.released.size > this.maxReleased) r.released.delete(r.released.keys().next().value as string)
    }
    this.prune(room, r, this.now())
  }

  /** Forgets released ids past their time, and rooms left with nothing. The server calls it every second or so. */
  sweep (): void {
    const now = this.now()
    for (const room of this.idle) {
      const r = this.rooms.get(room)
      if (r === undefined) this.idle.delete(room)
      else this.prune(room, r, now)
    }
  }

  /** Rooms the relay holds state for (with members, or remembering released ids). */
  get roomCount (): number { return this.rooms.size }

  private prune (room: string, r: RoomSignaling, now: number): void {
    for (const [id, rel] of r.released) if (rel.forgetAt <= now) r.released.delete(id)
    if (r.members.size > 0) return
    if (r.released.size === 0) {
      this.rooms.delete(room)
      this.idle.delete(room)
    } else {
      this.idle.add(room)
    }
  }

  /** The peer id `peer` is bound to in `room`, if any. */
  peerIdOf (room: string, peer: SignalPeer): string | undefined {
    return this.rooms.get(room)?.members.get(peer)?.id
  }

  /** Whether `m` may take the released id `id`. */
  private mayTake (r: RoomSignaling, id: string, m: Member): boolean {
    const rel = r.released.get(id)
    if (rel === undefined) return true
    const now = this.now()
    if (rel.forgetAt <= now) { r.released.delete(id); return true }
    if (rel.write && m.cred?.write !== true) return false
    return now >= rel.reservedUntil || (rel.tokenHash !== undefined && rel.tokenHash === m.cred?.tokenHash)
  }

  /** Signaling members of `room`. */
  size (room: string): number { return this.rooms.get(room)?.members.size ?? 0 }

  /**
   * Relays `m` from `sender` (a member of `m.room`, added if it is not yet).
   * Returns why it was refused, or undefined when relayed or dropped
   * quietly (unknown target).
   */
  relay (sender: SignalPeer, m: SignalMessage, cred?: SignalCredential): SignalRefusal | undefined {
    this.add(m.room, sender, cred)
    const r = this.rooms.get(m.room)!
    const member = r.members.get(sender)!
    const bound = member.id
    if (bound === undefined) {
      const holder = r.byId.get(m.from)
      if (holder !== undefined && holder !== sender) {
        this.logger.warn('refused a signal: the peer id belongs to another connection', { room: m.room, connection: sender.id, peer: m.from })
        return 'taken'
      }
      if (!this.mayTake(r, m.from, member)) {
        this.logger.warn('refused a signal: the peer id is reserved for the connection that held it', { room: m.room, connection: sender.id, peer: m.from })
        return 'taken'
      }
      r.released.delete(m.from)
      member.id = m.from
      r.byId.set(m.from, sender)
    } else if (bound !== m.from) {
      this.logger.warn('refused a spoofed signal', { room: m.room, connection: sender.id, peer: bound, claimed: m.from })
      return 'spoofed'
    }
    if (m.to === '') {
      for (const other of r.members.keys()) if (other !== sender) other.send(m)
      return undefined
    }
    const target = r.byId.get(m.to)
    if (target === undefined || target === sender) {
      this.logger.debug('dropped a signal to an unknown peer', { room: m.room, from: m.from, to: m.to })
      return undefined
    }
    target.send(m)
    return undefined
  }
}
