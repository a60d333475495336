/**
 * The {@link Transport} handed out by the in-memory network. It owns its
 * listeners and its view of which peers have joined; the network decides
 * what arrives when.
 *
 * @module
 */
import { ObservableV2 } from 'lib0/observable'
import { InvalidArgumentError, TransportClosedError } from '../errors.js'
import type { PeerId, Transport, TransportEvents } from './transport.js'

/** What a transport asks of the network it is attached to. */
export interface LinkLayer {
  readonly maxFrameSize: number
  /** Takes one frame from `from` to `to` (the network copies it). */
  transmit (from: InMemoryTransport, to: PeerId, frame: Uint8Array): void
  /** `from` closed on request. */
  detach (from: InMemoryTransport): void
}

export class InMemoryTransport implements Transport {
  private readonly events = new ObservableV2<TransportEvents>()
  /** Joined peers, with the incarnation each joined as. */
  private readonly known = new Map<PeerId, number>()
  private closed = false
  /** Set when the network crashed this transport (its in-flight frames are lost). */
  crashed = false

  constructor (
    private readonly network: LinkLayer,
    readonly id: PeerId,
    /** Distinguishes this transport from earlier and later ones with the same id. */
    readonly incarnation: number
  ) {}

  get isClosed (): boolean {
    return this.closed
  }

  peers (): PeerId[] {
    return [...this.known.keys()]
  }

  send (to: PeerId, frame: Uint8Array): void {
    this.checkOpen()
    this.checkFrame(frame)
    if (to === this.id) throw new InvalidArgumentError(`${this.id} cannot send to itself`)
    this.network.transmit(this, to, frame)
  }

  broadcast (frame: Uint8Array): void {
    this.checkOpen()
    this.checkFrame(frame)
    for (const peer of this.known.keys()) this.network.transmit(this, peer, frame)
  }

  close (): Promise<void> {
    if (!this.closed) this.network.detach(this)
    return Promise.resolve()
  }

  on<E extends keyof TransportEvents> (event: E, listener: TransportEvents[E]): void {
    this.events.on(event, listener)
  }

  off<E extends keyof TransportEvents> (event: E, listener: TransportEvents[E]): void {
    this.events.off(event, listener)
  }

  /** Called by the network: a frame arrives. */
  deliver (from: PeerId, frame: Uint8Array): void {
    if (!this.closed) this.events.emit('message', [from, frame])
  }

  /** Called by the network: `peer` (incarnation `incarnation`) joined. */
  join (peer: PeerId, incarnation: number): void {
    if (this.closed || this.known.get(peer) === incarnation) return
    this.known.set(peer, incarnation)
    this.events.emit('peer-joined', [peer])
  }

  /** Called by the network: `peer` (incarnation `incarnation`) left. */
  leave (peer: PeerId, incarnation: number): void {
    if (this.closed || this.known.get(peer) !== incarnation) return
    this.known.delete(peer)
    this.events.emit('peer-left', [peer])
  }

  /** Called by the network once this transport is detached: emits `'close'`. */
  shutdown (err?: Error): void {
    if (this.closed) return
    this.closed = true
    this.known.clear()
    if (err === undefined) this.events.emit('close', [])
    else this.events.emit('close', [err])
  }

  private checkOpen (): void {
    if (this.closed) throw new TransportClosedError(`transport ${this.id} is closed`)
  }

  private checkFrame (frame: Uint8Array): void {
    if (!(frame instanceof Uint8Array)) throw new InvalidArgumentError('a frame must be a Uint8Array')
    if (frame.byteLength > this.network.maxFrameSize) {
      throw new InvalidArgumentError(`frame of ${frame.byteLength} bytes exceeds maxFrameSize (${this.network.maxFrameSize})`)
    }
  }
}
