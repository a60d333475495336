/**
 * A symmetric sync session over one link between two equal peers (a WebRTC
 * data channel, a worker's MessagePort) or a bus of peers (a
 * BroadcastChannel). Pure: the driver hands it frames and calls `start()`
 * when the link opens; it hands back frames through `send`.
 *
 * The handshake is the hub's, made symmetric: each side sends `sync-step-1`
 * with its state vector, and answers the other's with `sync-step-2` holding
 * exactly what the other lacks (and with a `sync-step-1` of its own when the
 * vectors differ and it has not sent one in the last second, so a side that
 * restarts alone still gets what it had missed sending). After that the doc's live updates flow both
 * ways as `update` messages (no acknowledgements: the link is between
 * peers, neither one is the durable copy). On a bus, where members already
 * there do not restart, a newcomer also announces its whole state
 * (`announceState`), and every member answers its step-1.
 *
 * ```ts
 * const session = new PeerSync({ room: 'notes', doc, send: frame => channel.send(frame) })
 * channel.onmessage = e => session.receive(new Uint8Array(e.data))
 * channel.onopen = () => session.start()
 * ```
 *
 * @module
 */
import { ObservableV2 } from 'lib0/observable'
import type { Doc } from '../doc/doc.js'
import { isEmptyUpdate } from '../doc/update-codec.js'
import { DecodeError, InvalidArgumentError } from '../errors.js'
import { silentLogger, type Logger } from '../components.js'
import { DEFAULT_MAX_FRAME_BYTES, MessageType, type SyncMessage } from './messages.js'
import { DEFAULT_MAX_MESSAGE_BYTES, MessageFraming } from './chunking.js'

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Options of {@link PeerSync}. */
export interface PeerSyncOptions {
  /** The room's name; frames name it, so several rooms can share a link. */
  room: string
  /** The doc kept in sync over the link. */
  doc: Doc
  /** Sends one frame to the other side (or to the bus). */
  send: (frame: Uint8Array) => void
  /** Largest frame to send; larger messages go as chunks. @default DEFAULT_MAX_FRAME_BYTES (1 MiB) */
  maxFrameBytes?: number
  /** Largest message accepted after reassembly. @default DEFAULT_MAX_MESSAGE_BYTES (64 MiB) */
  maxMessageBytes?: number
  /**
   * `start()` also sends the doc's whole state: for a bus (BroadcastChannel),
   * where the members already there do not start again when one joins.
   * @default false
   */
  announceState?: boolean
  /** Send the state vector again this often, to repair lost frames. @default 30000 */
  resyncEveryMs?: number
  /**
   * Whether a doc update with this origin goes over the link (updates this
   * session applied never do). A full mesh passes "not from another link of
   * mine": every peer hears the author directly, and relaying would send
   * each update (n−1)² times instead of n−1. @default every origin
   */
  forward?: (origin: unknown) => boolean
  /** Milliseconds, for resync timing. @default Date.now */
  now?: () => number
  /** @default silentLogger */
  logger?: Logger
}

/** Events of {@link PeerSync}. */
export interface PeerSyncEvents {
  /** The other side answered our state vector: we hold everything it had. */
  synced: () => void
  /** A y-protocols awareness update arrived. */
  awareness: (update: Uint8Array) => void
}

/** A symmetric sync session for one room over one link; see the module docs. */
export class PeerSync extends ObservableV2<PeerSyncEvents> {
  readonly room: string
  readonly doc: Doc
  private readonly framing: MessageFraming
  private readonly announceState: boolean
  private readonly resyncEveryMs: number
  private readonly replyGapMs: number
  private readonly now: () => number
  private readonly logger: Logger
  private readonly onUpdate: (update: Uint8Array, origin: unknown) => void
  private started = false
  private destroyed = false
  private gotStep2 = false
  private step1SentAt = 0

  constructor (options: PeerSyncOptions) {
    super()
    if (typeof options?.send !== 'function') throw new InvalidArgumentError('PeerSync needs a send(frame) function')
    if (typeof options.room !== 'string' || options.room.length === 0) throw new InvalidArgumentError('PeerSync needs a non-empty room name')
    this.room = options.room
    this.doc = options.doc
    this.framing = new MessageFraming(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, options.send)
    this.announceState = options.announceState ?? false
    this.resyncEveryMs = options.resyncEveryMs ?? 30_000
    this.replyGapMs = Math.min(1000, this.resyncEveryMs)
    this.now = options.now ?? (() => Date.now())
    this.logger = options.logger ?? silentLogger
    const forward = options.forward
    this.onUpdate = (update, origin) => {
      if (origin === this || !this.started || (forward !== undefined && !forward(origin))) return
      this.sendMessage({ type: MessageType.Update, room: this.room, seq: 0, update })
    }
    this.doc.on('update', this.onUpdate)
  }

  /** Whether the other side answered our latest state vector. */
  get synced (): boolean { return this.gotStep2 }

  /** (Re)starts the handshake: call when the link opens (both sides do). */
  start (): void {
    if (this.destroyed) return
    this.started = true
    this.gotStep2 = false
    this.framing.clear()
    this.sendStep1()
    if (this.announceState) {
      const state = this.doc.encodeStateAsUpdate()
      if (!isEmptyUpdate(state)) this.sendMessage({ type: MessageType.Update, room: this.room, seq: 0, update: state })
    }
  }

  /** The link went down: stop sending until the next `start()`. */
  stop (): void {
    this.started = false
    this.gotStep2 = false
    this.framing.clear()
  }

  /**
   * Handles one frame from the link.
   *
   * @throws {DecodeError} for a frame (or an update in it) that cannot be
   *   decoded; nothing was applied and the session keeps working.
   */
  receive (frame: Uint8Array): void {
    if (this.destroyed) return
    const m = this.framing.receive(frame)
    if (m === undefined) return
    if (m.room !== this.room) {
      this.logger.debug('peer message for another room', { room: m.room, type: m.type })
      return
    }
    switch (m.type) {
      case MessageType.SyncStep1: {
        if (!this.started) break
        this.sendMessage({ type: MessageType.SyncStep2, room: this.room, update: this.doc.encodeStateAsUpdate(m.stateVector) })
        // the other side restarted, or holds what we lack: ask it too (at
        // most once per gap, so steady editing cannot start a ping-pong)
        if (this.now() - this.step1SentAt >= this.replyGapMs && !equalBytes(m.stateVector, this.doc.encodeStateVector())) this.sendStep1()
        break
      }
      case MessageType.SyncStep2:
        this.doc.applyUpdate(m.update, this)
        if (!this.gotStep2 && this.started) {
          this.gotStep2 = true
          this.emit('synced', [])
        }
        break
      case MessageType.Update:
        this.doc.applyUpdate(m.update, this)
        break
      case MessageType.Awareness:
        this.emit('awareness', [m.update])
        break
      default:
        throw new DecodeError(`a peer does not send message type ${m.type}`)
    }
  }

  /** Sends a y-protocols awareness update over the link. */
  sendAwareness (update: Uint8Array): void {
    if (this.started) this.sendMessage({ type: MessageType.Awareness, room: this.room, update })
  }

  /** Call every second or so: sends the state vector again every `resyncEveryMs`. */
  tick (): void {
    if (this.started && this.now() - this.step1SentAt >= this.resyncEveryMs) this.sendStep1()
  }

  /** Stops listening to the doc; the session sends nothing more. */
  override destroy (): void {
    if (this.destroyed) return
    this.destroyed = true
    this.stop()
    this.doc.off('update', this.onUpdate)
    super.destroy()
  }

  private sendStep1 (): void {
    this.step1SentAt = this.now()
    this.sendMessage({ type: MessageType.SyncStep1, room: this.room, stateVector: this.doc.encodeStateVector() })
  }

  private sendMessage (m: SyncMessage): void { this.framing.send(m) }
}
