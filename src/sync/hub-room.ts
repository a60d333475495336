/**
 * One room on a hub: the hub's replica of the doc, its members and the
 * durable log of what they sent. Pure: storage and connections are handed
 * in. An update is applied (which validates it) and relayed to the other
 * members at once, then acknowledged to its sender once persisted (until
 * then the sender keeps it as pending, so a crash loses nothing); joins
 * wait for earlier writes to be durable, so a state vector the hub sends
 * never covers anything it could still lose.
 *
 * The room also keeps the presence (awareness) states its members sent: a
 * newcomer gets them at once, and the states a connection introduced are
 * removed — and the removal relayed — when that connection leaves. A client
 * id belongs to the member that first announced it (see
 * {@link PresenceGuard}): others cannot overwrite or remove it, and the
 * room holds a bounded number of bounded states.
 *
 * Never throws from `join`/`leave`, and its promises never reject: an
 * unexpected error is logged (`error`) and the room carries on. `receive`
 * may throw for a bug-level error (not bad input): the server closes that
 * connection.
 *
 * @module
 */
import type { Doc } from '../doc/doc.js'
import { DecodeError } from '../errors.js'
import { silentLogger, type Logger } from '../components.js'
import { isEmptyUpdate } from '../doc/update-codec.js'
import { decodeStateVector } from '../doc/state-vector.js'
import { Access, ErrorCode, MessageType, type SyncMessage } from './messages.js'
import {
  applyAwarenessEntries, Awareness, decodeAwarenessUpdate, encodeAwarenessEntries, encodeAwarenessUpdate, removeAwarenessStates,
  type AwarenessEntry
} from './awareness.js'
import { PresenceGuard, type PresenceLimits, type PresenceRefusal } from './presence-guard.js'

/** Where a room's updates become durable (the hub's write-ahead log, or memory in tests). */
export interface RoomStore {
  /** Resolves once `update` is durable. */
  append (update: Uint8Array): Promise<void>
}

/** A member connection as a room sees it. */
export interface RoomPeer {
  /** For logs. */
  readonly id: string
  /** Sends a message (the connection encodes and chunks it). */
  send (m: SyncMessage): void
}

/** Options of {@link HubRoom}. */
export interface HubRoomOptions {
  /** @default silentLogger */
  logger?: Logger
  /** Presence limits. @default DEFAULT_PRESENCE_LIMITS (16 per connection, 1000 per room, 16 KiB a state) */
  presence?: Partial<PresenceLimits>
}

/** A room on a hub. */
export class HubRoom {
  readonly name: string
  readonly doc: Doc
  private readonly store: RoomStore
  private readonly logger: Logger
  private readonly members = new Map<RoomPeer, Access>()
  /** Serializes persistence: each write starts after the previous one is durable. */
  private queue: Promise<void> = Promise.resolve()
  private writes = 0
  private failed: Error | undefined
  /** Presence of the members' clients; the hub itself has no state (client id 0). */
  private readonly presence = new Awareness({ clientID: 0 })
  /** `doc.encodeStateAsUpdate()`, kept until the doc changes. */
  private fullState: Uint8Array | undefined = undefined
  /** The last state vector each member reported as durable in its own storage. */
  private readonly held = new Map<RoomPeer, Uint8Array>()
  /** Which member owns which awareness client id. */
  private readonly guard: PresenceGuard<RoomPeer>

  constructor (name: string, doc: Doc, store: RoomStore, options: HubRoomOptions = {}) {
    this.name = name
    this.doc = doc
    this.store = store
    this.logger = options.logger ?? silentLogger
    this.presence.setLocalState(null)
    this.guard = new PresenceGuard(this.presence.clientID, options.presence)
    // any change (ours, or the driver's own edits) makes the cached full state stale
    doc.on('update', () => { this.fullState = undefined })
  }

  /** Member connections. */
  get size (): number { return this.members.size }

  /** Updates persisted since the room was opened. */
  get persisted (): number { return this.writes }

  /** Resolves once every accepted update is durable. */
  flush (): Promise<void> { return this.queue }

  /** Why the room's storage failed (it then refuses updates), if it did. */
  get failure (): Error | undefined { return this.failed }

  /** @internal the server's presence limits */
  setPresenceLimits (limits: Partial<PresenceLimits>): void { this.guard.setLimits(limits) }

  /**
   * Adds a member and runs the handshake: `joined`, then `sync-step-2` and
   * `sync-step-1` once durable. Never rejects.
   */
  join (peer: RoomPeer, access: Access, stateVector: Uint8Array): Promise<void> {
    this.members.set(peer, access)
    try {
      peer.send({ type: MessageType.Joined, room: this.name, access })
      const others = [...this.presence.states.keys()].filter(id => id !== this.presence.clientID)
      if (others.length > 0) peer.send({ type: MessageType.Awareness, room: this.name, update: encodeAwarenessUpdate(this.presence, others) })
    } catch (err) {
      this.unexpected('join', peer, err)
    }
    return this.queue.then(() => {
      if (!this.members.has(peer)) return
      try {
        this.answer(peer, stateVector)
        peer.send({ type: MessageType.SyncStep1, room: this.name, stateVector: this.doc.encodeStateVector() })
      } catch (err) {
        this.unexpected('join', peer, err)
      }
    })
  }

  /** Removes a member, and the presence states it owns (telling the others). Never throws. */
  leave (peer: RoomPeer): void {
    this.members.delete(peer)
    this.held.delete(peer)
    const owned = this.guard.release(peer)
    if (owned.length === 0) return
    try {
      const ids = owned.filter(id => this.presence.states.has(id))
      removeAwarenessStates(this.presence, ids, peer)
      if (ids.length > 0) {
        const update = encodeAwarenessUpdate(this.presence, ids)
        for (const other of this.members.keys()) other.send({ type: MessageType.Awareness, room: this.name, update })
      }
    } catch (err) {
      this.unexpected('leave', peer, err)
    }
    // the ids are free again: their clocks start over with the next owner
    for (const id of owned) this.presence.meta.delete(id)
  }

  private unexpected (what: string, peer: RoomPeer, err: unknown): void {
    this.logger.error(`unexpected error in a room's ${what}`, { room: this.name, peer: peer.id, error: String(err) })
  }

  /**
   * What `peer` last reported as durable in its own storage (e.g.
   * IndexedDB), as a state vector; `undefined` if it never reported.
   */
  heldBy (peer: RoomPeer): Uint8Array | undefined { return this.held.get(peer) }

  /** How many members reported holding everything the hub holds, durably. */
  durableCopies (): number {
    let n = 0
    for (const sv of this.held.values()) if (isEmptyUpdate(this.doc.encodeStateAsUpdate(sv))) n++
    return n
  }

  /** Presence states the room holds (client id → state). */
  get presenceStates (): ReadonlyMap<number, unknown> { return this.presence.states }

  /** The access `peer` was admitted with, if it is a member. */
  accessOf (peer: RoomPeer): Access | undefined { return this.members.get(peer) }

  /** Whether `peer` is a member. */
  has (peer: RoomPeer): boolean { return this.members.has(peer) }

  /** Handles a room message from a member. */
  receive (peer: RoomPeer, m: SyncMessage): void {
    const access = this.members.get(peer)
    if (access === undefined) {
      peer.send({ type: MessageType.Error, room: this.name, code: ErrorCode.Denied, reason: 'join the room before sending to it' })
      return
    }
    switch (m.type) {
      case MessageType.Update:
      case MessageType.SyncStep2:
        if (access !== Access.Write) {
          this.logger.warn('refused an update from a read-only member', { room: this.name, peer: peer.id })
          peer.send({ type: MessageType.Error, room: this.name, code: ErrorCode.ReadOnly, reason: 'this connection may only read this room' })
          return
        }
        this.update(peer, m.type === MessageType.Update ? m.seq : 0, m.update)
        return
      case MessageType.SyncStep1:
        void this.queue.then(() => {
          try {
            if (this.members.has(peer)) this.answer(peer, m.stateVector)
          } catch (err) {
            this.unexpected('sync-step-1 answer', peer, err)
          }
        })
        return
      case MessageType.Held:
        try {
          decodeStateVector(m.stateVector)
          this.held.set(peer, m.stateVector)
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err
          peer.send({ type: MessageType.Error, room: this.name, code: ErrorCode.BadMessage, reason: err.message })
        }
        return
      case MessageType.Awareness: {
        const relay = this.awareness(peer, m.update)
        if (relay === undefined) return
        const out = relay === m.update ? m : { type: MessageType.Awareness, room: this.name, update: relay } as const
        for (const other of this.members.keys()) if (other !== peer) other.send(out)
        return
      }
      case MessageType.Leave:
        this.leave(peer)
        return
      default:
        peer.send({ type: MessageType.Error, room: this.name, code: ErrorCode.BadMessage, reason: `a client does not send message type ${m.type}` })
    }
  }

  /**
   * Records a member's presence update. Returns what to relay (`update`
   * itself when every entry was admitted), or undefined when nothing
   * changed (stale, refused or malformed: a malformed one is answered with
   * an error).
   */
  private awareness (peer: RoomPeer, update: Uint8Array): Uint8Array | undefined {
    let entries: AwarenessEntry[]
    try {
      entries = decodeAwarenessUpdate(update)
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err
      this.logger.warn('refused a malformed awareness update', { room: this.name, peer: peer.id, error: err.message })
      peer.send({ type: MessageType.Error, room: this.name, code: ErrorCode.BadMessage, reason: err.message })
      return undefined
    }
    let refusals: Partial<Record<PresenceRefusal, number>> | undefined
    const admitted = this.guard.admit(peer, entries, (_e, why) => {
      refusals ??= {}
      refusals[why] = (refusals[why] ?? 0) + 1
    })
    if (refusals !== undefined) this.refusedPresence(peer, refusals)
    if (admitted.length === 0) return undefined
    // nothing new (a stale or clock-0 state): nothing to relay
    if (!applyAwarenessEntries(this.presence, admitted, peer)) return undefined
    return admitted === entries ? update : encodeAwarenessEntries(admitted)
  }

  /** One warning per update; the sender hears of limits (not of spoofing, which a correct client never does). */
  private refusedPresence (peer: RoomPeer, refusals: Partial<Record<PresenceRefusal, number>>): void {
    this.logger.warn('refused awareness entries', { room: this.name, peer: peer.id, ...refusals })
    const limit = refusals['too-large'] !== undefined
      ? 'an awareness state is over the size limit'
      : refusals['connection-limit'] !== undefined || refusals['room-limit'] !== undefined
        ? 'too many awareness client ids for this connection or room'
        : undefined
    if (limit !== undefined) peer.send({ type: MessageType.Error, room: this.name, code: ErrorCode.TooLarge, reason: limit })
  }

  private answer (peer: RoomPeer, stateVector: Uint8Array): void {
    let update: Uint8Array
    try {
      // a fresh client (empty vector) gets the whole state: encoded once until the next change
      update = decodeStateVector(stateVector).ids.length === 0
        ? (this.fullState ??= this.doc.encodeStateAsUpdate())
        : this.doc.encodeStateAsUpdate(stateVector)
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err
      this.logger.warn('bad state vector', { room: this.name, peer: peer.id, error: err.message })
      peer.send({ type: MessageType.Error, room: this.name, code: ErrorCode.BadMessage, reason: err.message })
      return
    }
    peer.send({ type: MessageType.SyncStep2, room: this.name, update })
  }

  private update (peer: RoomPeer, seq: number, bytes: Uint8Array): void {
    if (this.failed !== undefined) {
      peer.send({ type: MessageType.Error, room: this.name, code: ErrorCode.Internal, reason: `room storage failed: ${this.failed.message}; retry later` })
      return
    }
    let fresh: Uint8Array | undefined
    const catchFresh = (u: Uint8Array): void => { fresh = u }
    this.doc.on('update', catchFresh)
    try {
      this.doc.applyUpdate(bytes, peer)
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err
      this.logger.warn('refused a malformed update', { room: this.name, peer: peer.id, error: err.message })
      peer.send({ type: MessageType.Error, room: this.name, code: ErrorCode.BadMessage, reason: err.message })
      return
    } finally {
      this.doc.off('update', catchFresh)
    }
    const news = fresh !== undefined && !isEmptyUpdate(fresh) ? fresh : undefined
    const write = news === undefined
      ? this.queue
      : this.queue.then(() => this.failed !== undefined ? Promise.reject(this.failed) : this.store.append(news)).then(() => { this.writes++ })
    // the queue itself never rejects: later joins and acks still run
    this.queue = write.catch((err: unknown) => {
      if (this.failed === undefined) {
        this.failed = err instanceof Error ? err : new Error(String(err))
        this.logger.error('room storage failed: updates are no longer accepted', { room: this.name, error: String(err) })
      }
    })
    // relay at once: the sender keeps the update until it is acknowledged, so
    // a crash before it is durable loses nothing (the next handshake brings it back)
    if (news !== undefined) {
      for (const other of this.members.keys()) {
        if (other !== peer) other.send({ type: MessageType.Update, room: this.name, seq: 0, update: news })
      }
    }
    write.then(() => {
      try {
        if (seq > 0 && this.members.has(peer)) peer.send({ type: MessageType.Ack, room: this.name, from: seq, to: seq })
      } catch (err) { this.unexpected('ack', peer, err) }
    }, () => {
      try {
        peer.send({ type: MessageType.Error, room: this.name, code: ErrorCode.Internal, reason: 'room storage failed; retry later' })
      } catch (err) { this.unexpected('ack', peer, err) }
    })
  }
}
