/**
 * The contract between the cores and the network. A transport moves opaque
 * frames between named peers; the cores encode and decode the bytes. Every
 * adapter (WebSocket, WebRTC, BroadcastChannel, the in-memory network)
 * fulfils it.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'

/** The name of a peer on a transport. A Raft node id is a `PeerId`. */
export type PeerId = string & { readonly __brand: 'PeerId' }

/**
 * Brands a string as a {@link PeerId}.
 *
 * @throws {InvalidArgumentError} if `id` is not a non-empty string.
 */
export const peerId = (id: string): PeerId => {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidArgumentError('a peer id must be a non-empty string')
  return id as PeerId
}

/** The events a {@link Transport} emits, by name. */
export interface TransportEvents {
  /** A peer became reachable; frames may now be sent to it. */
  'peer-joined': (peer: PeerId) => void
  /** A peer went away (closed, crashed, disconnected). */
  'peer-left': (peer: PeerId) => void
  /** A frame arrived. The receiver owns `frame`. */
  message: (from: PeerId, frame: Uint8Array) => void
  /** The transport closed; `err` is set when it did not close on request. */
  close: (err?: Error) => void
}

/**
 * Moves frames between peers. Delivery is best effort: frames may be lost,
 * duplicated or reordered unless an implementation documents otherwise, and
 * the cores are written to cope. Sending to a peer that is gone is not an
 * error; the frame is dropped.
 */
export interface Transport {
  /** This peer's id. */
  readonly id: PeerId
  /** The peers this transport currently knows (joined and not left). */
  peers (): PeerId[]
  /**
   * Sends `frame` to `to`. The transport copies or transfers the bytes
   * before it returns, so the caller may reuse its buffer.
   *
   * @throws {TransportClosedError} once the transport is closed.
   */
  send (to: PeerId, frame: Uint8Array): void
  /**
   * Sends `frame` to every peer in {@link peers}.
   *
   * @throws {TransportClosedError} once the transport is closed.
   */
  broadcast (frame: Uint8Array): void
  /** Closes the transport; emits `'close'` once. Safe to call twice. */
  close (): Promise<void>
  on<E extends keyof TransportEvents> (event: E, listener: TransportEvents[E]): void
  off<E extends keyof TransportEvents> (event: E, listener: TransportEvents[E]): void
}
