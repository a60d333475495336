/**
 * A {@link PeerSync} session over one `MessagePort`: the page's local doc
 * on one end, the worker's doc on the other. The port is reliable and in
 * order, so there is no anti-entropy timer and no chunking.
 *
 * @module
 */
import { silentLogger, type Doc, type Logger } from 'aegis-replication'
import { PeerSync } from 'aegis-replication/sync'
import type { PortLike } from './options.js'

/** A frame posted over a port is never chunked: structured cloning has no small size limit. */
const NO_CHUNKING = 0x7fff_ffff

/** Keeps `doc` in sync with the doc on the other end of `port`. */
export class PortSession {
  readonly session: PeerSync
  private readonly port: PortLike
  private readonly logger: Logger
  private closed = false

  constructor (port: PortLike, room: string, doc: Doc, logger: Logger = silentLogger) {
    this.port = port
    this.logger = logger
    this.session = new PeerSync({ room, doc, send: frame => { if (!this.closed) port.postMessage(frame) }, maxFrameBytes: NO_CHUNKING, logger })
    port.onmessage = this.onMessage
  }

  /** Starts the handshake (both ends do). */
  start (): void { this.session.start() }

  /** Stops the session and closes the port. */
  close (): void {
    if (this.closed) return
    this.closed = true
    this.port.onmessage = null
    this.session.destroy()
    this.port.close?.()
  }

  private readonly onMessage = (event: { data: unknown }): void => {
    const data = event.data
    const frame = data instanceof Uint8Array ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : undefined
    if (frame === undefined) {
      this.logger.warn('dropped a port message that is not bytes', { room: this.session.room, kind: typeof data })
      return
    }
    try {
      this.session.receive(frame)
    } catch (err) {
      this.logger.warn('dropped a bad frame from the port', { room: this.session.room, error: String(err) })
    }
  }
}
