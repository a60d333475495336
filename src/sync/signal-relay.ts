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
 * @module
 */
import type { Logger } from '../components.js'
import type { SignalMessage } from './messages.js'

/** A connection as the relay sees it. */
export interface SignalPeer {
  readonly id: string
  /** Sends a signal message (the connection encodes and chunks it). */
  send (m: SignalMessage): void
}

/** Why a signal was not relayed. */
export type SignalRefusal = 'spoofed' | 'taken'

interface RoomSignaling {
  /** Member → the peer id it is bound to (undefined until its first signal). */
  readonly members: Map<SignalPeer, string | undefined>
  /** Peer id → its connection. */
  readonly byId: Map<string, SignalPeer>
}

/** Signaling members of every room on a hub. */
export class SignalRelay {
  private readonly rooms = new Map<string, RoomSignaling>()

  constructor (private readonly logger: Logger) {}

  /** Adds `peer` to `room`'s signaling members (it then gets broadcasts). */
  add (room: string, peer: SignalPeer): void {
    let r = this.rooms.get(room)
    if (r === undefined) this.rooms.set(room, (r = { members: new Map(), byId: new Map() }))
    if (!r.members.has(peer)) r.members.set(peer, undefined)
  }

  /** Removes `peer` from `room` and frees its peer id. */
  remove (room: string, peer: SignalPeer): void {
    const r = this.rooms.get(room)
    if (r === undefined) return
    const id = r.members.get(peer)
    r.members.delete(peer)
    if (id !== undefined && r.byId.get(id) === peer) r.byId.delete(id)
    if (r.members.size === 0) this.rooms.delete(room)
  }

  /** The peer id `peer` is bound to in `room`, if any. */
  peerIdOf (room: string, peer: SignalPeer): string | undefined {
    return this.rooms.get(room)?.members.get(peer)
  }

  /** Signaling members of `room`. */
  size (room: string): number { return this.rooms.get(room)?.members.size ?? 0 }

  /**
   * Relays `m` from `sender` (a member of `m.room`, added if it is not yet).
   * Returns why it was refused, or undefined when relayed or dropped
   * quietly (unknown target).
   */
  relay (sender: SignalPeer, m: SignalMessage): SignalRefusal | undefined {
    this.add(m.room, sender)
    const r = this.rooms.get(m.room)!
    const bound = r.members.get(sender)
    if (bound === undefined) {
      const holder = r.byId.get(m.from)
      if (holder !== undefined && holder !== sender) {
        this.logger.warn('refused a signal: the peer id belongs to another connection', { room: m.room, connection: sender.id, peer: m.from })
        return 'taken'
      }
      r.members.set(sender, m.from)
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
