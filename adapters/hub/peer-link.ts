/**
 * One socket between two hubs (or from the `members` command to a hub):
 * runs the {@link cluster-auth} handshake from either side, then carries
 * messages of any size as fragments of at most `fragmentBytes`, so a peer
 * socket never sends a frame the other hub's WebSocket server refuses
 * (its `maxPayload` is the client limit); a message is reassembled up to
 * `maxMessageBytes` (the `/raft` message limit), beyond which the socket
 * closes.
 *
 * @module
 */
import type { WebSocket } from 'ws'
import { DecodeError, silentLogger, type Logger } from 'aegis-replication'
import {
  decodeChallenge, decodeHello, decodeProven, encodeChallenge, encodeHello, encodeIdentity, encodeProven, macMatches, newNonce,
  PeerFrame, PeerRole, transcriptMac, type PeerIdentity
} from './cluster-auth.js'

/** Close code of a refused or failed handshake. */
export const PEER_REFUSED = 4403
/** Close code of a message over `maxMessageBytes`. */
export const PEER_TOO_LARGE = 1009

/** @default 64 KiB: below any hub's client frame limit */
export const DEFAULT_FRAGMENT_BYTES = 64 * 1024
/** @default 64 MiB */
export const DEFAULT_MAX_PEER_MESSAGE_BYTES = 64 * 1024 * 1024

/** Options of a {@link PeerLink}. */
export interface PeerLinkOptions {
  /** Which end of the socket this is. */
  side: 'dialer' | 'acceptor'
  /** The dialer's purpose (sent in the hello); ignored on the acceptor. @default PeerRole.Member */
  role?: PeerRole
  /** The cluster secret. */
  secret: string
  /** This side's identity (read when the handshake runs). */
  me: () => PeerIdentity
  /** The dialer's expectation of the acceptor's node id. @default any */
  expect?: string
  /** Decides whether the authenticated other side may stay: a reason to refuse, or undefined. */
  check: (peer: PeerIdentity, role: PeerRole) => string | undefined
  /** The handshake succeeded. */
  onOpen: (link: PeerLink) => void
  /** A whole message arrived (after the handshake). */
  onMessage: (message: Uint8Array) => void
  /** The socket closed (for any reason, also a failed handshake). */
  onClose: (link: PeerLink, code: number, reason: string) => void
  /** @default DEFAULT_FRAGMENT_BYTES */
  fragmentBytes?: number
  /** @default DEFAULT_MAX_PEER_MESSAGE_BYTES */
  maxMessageBytes?: number
  /** @default 5000 */
  handshakeTimeoutMs?: number
  /** @default silentLogger */
  logger?: Logger
}

const toBytes = (data: WebSocket.RawData): Uint8Array => {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

/** See the module documentation. */
export class PeerLink {
  /** The other side, once it proved it knows the secret. */
  remote: PeerIdentity | undefined
  /** What the dialer opened the socket for. */
  role: PeerRole
  open = false
  private closed = false
  private hello: Uint8Array | undefined
  private challenge: Uint8Array | undefined
  /** The dialer's identity bytes (sent in the proof). */
  private proofIdentity: Uint8Array | undefined
  private readonly parts: Uint8Array[] = []
  private partBytes = 0
  private readonly fragmentBytes: number
  private readonly maxMessageBytes: number
  private readonly logger: Logger
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor (readonly socket: WebSocket, private readonly options: PeerLinkOptions) {
    this.role = options.role ?? PeerRole.Member
    this.fragmentBytes = Math.max(256, options.fragmentBytes ?? DEFAULT_FRAGMENT_BYTES)
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_PEER_MESSAGE_BYTES
    this.logger = options.logger ?? silentLogger
    this.timer = setTimeout(() => { this.refuse('the peer handshake did not finish in time') }, options.handshakeTimeoutMs ?? 5000)
    socket.on('message', (data, isBinary) => {
      if (!isBinary) { this.refuse('text frame on a peer socket'); return }
      this.receive(toBytes(data))
    })
    socket.on('close', (code, reason) => { this.closedNow(code, reason.toString()) })
    socket.on('error', (err) => { this.logger.debug('peer socket error', { peer: this.remote?.nodeId, error: String(err) }) })
    if (options.side === 'dialer') {
      const start = (): void => {
        this.hello = encodeHello(this.role, newNonce())
        socket.send(this.hello, { binary: true })
      }
      if (socket.readyState === 1) start(); else socket.once('open', start)
    }
  }

  /** Sends one message (fragmented as needed); dropped unless the link is open. */
  send (message: Uint8Array): void {
    this.sendTagged(undefined, message)
  }

  /** Sends `[tag] ‖ payload` as one message, without building it first when it fits one frame. */
  sendTagged (tag: number | undefined, payload: Uint8Array): void {
    if (!this.open || this.closed) return
    const head = tag === undefined ? 0 : 1
    const total = head + payload.length
    if (total + 1 <= this.fragmentBytes) {
      const frame = new Uint8Array(total + 1)
      frame[0] = PeerFrame.Data
      if (tag !== undefined) frame[1] = tag
      frame.set(payload, 1 + head)
      this.socket.send(frame, { binary: true })
      return
    }
    let message = payload
    if (tag !== undefined) {
      message = new Uint8Array(total)
      message[0] = tag
      message.set(payload, 1)
    }
    const step = this.fragmentBytes - 1
    for (let at = 0; at < message.length; at += step) {
      const chunk = message.subarray(at, Math.min(message.length, at + step))
      const frame = new Uint8Array(chunk.length + 1)
      frame[0] = at + step >= message.length ? PeerFrame.Data : PeerFrame.DataMore
      frame.set(chunk, 1)
      this.socket.send(frame, { binary: true })
    }
  }

  /** Closes the socket. */
  close (code = 1000, reason = ''): void {
    if (this.closed) return
    try { this.socket.close(code, reason.slice(0, 120)) } catch { this.socket.terminate() }
    // a peer that does not answer the close handshake
    setTimeout(() => { this.socket.terminate() }, 2000).unref?.()
  }

  /** Drops the socket at once. */
  terminate (): void {
    this.socket.terminate()
  }

  private refuse (reason: string): void {
    if (this.closed) return
    this.logger.warn('refused a peer hub socket', { side: this.options.side, peer: this.remote?.nodeId, reason })
    this.close(PEER_REFUSED, reason)
  }

  private closedNow (code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.timer)
    this.options.onClose(this, code, reason) // `open` still tells whether the handshake had finished
    this.open = false
  }

  private receive (frame: Uint8Array): void {
    if (this.closed) return
    if (this.open) { this.receiveData(frame); return }
    try {
      if (this.options.side === 'acceptor') this.acceptorStep(frame); else this.dialerStep(frame)
    } catch (err) {
      this.refuse(err instanceof DecodeError ? `bad handshake: ${err.message}` : `handshake failed: ${String(err)}`)
    }
  }

  private acceptorStep (frame: Uint8Array): void {
    const { secret } = this.options
    if (this.hello === undefined) {
      this.role = decodeHello(frame).role
      this.hello = frame.slice()
      this.challenge = encodeChallenge(newNonce())
      this.socket.send(this.challenge, { binary: true })
      return
    }
    const proof = decodeProven(PeerFrame.Proof, frame)
    if (!macMatches(proof.mac, transcriptMac(secret, 'dialer', this.hello, this.challenge!, proof.identityBytes))) {
      this.refuse('authentication failed: the dialling hub does not know this cluster\'s secret')
      return
    }
    this.remote = proof.peer
    const why = this.options.check(proof.peer, this.role)
    if (why !== undefined) { this.refuse(why); return }
    const mine = encodeIdentity(this.options.me())
    const mac = transcriptMac(secret, 'acceptor', this.hello, this.challenge!, proof.identityBytes, mine)
    this.socket.send(encodeProven(PeerFrame.Welcome, mine, mac), { binary: true })
    this.opened()
  }

  private dialerStep (frame: Uint8Array): void {
    const { secret } = this.options
    if (this.challenge === undefined) {
      decodeChallenge(frame)
      this.challenge = frame.slice()
      this.proofIdentity = encodeIdentity(this.options.me())
      const mac = transcriptMac(secret, 'dialer', this.hello!, this.challenge, this.proofIdentity)
      this.socket.send(encodeProven(PeerFrame.Proof, this.proofIdentity, mac), { binary: true })
      return
    }
    const welcome = decodeProven(PeerFrame.Welcome, frame)
    if (!macMatches(welcome.mac, transcriptMac(secret, 'acceptor', this.hello!, this.challenge, this.proofIdentity!, welcome.identityBytes))) {
      this.refuse('authentication failed: the hub dialled does not know this cluster\'s secret')
      return
    }
    this.remote = welcome.peer
    if (this.options.expect !== undefined && welcome.peer.nodeId !== this.options.expect) {
      this.refuse(`expected hub ${this.options.expect} at this address, found ${welcome.peer.nodeId}`)
      return
    }
    const why = this.options.check(welcome.peer, this.role)
    if (why !== undefined) { this.refuse(why); return }
    this.opened()
  }

  private opened (): void {
    clearTimeout(this.timer)
    this.open = true
    this.options.onOpen(this)
  }

  private receiveData (frame: Uint8Array): void {
    const kind = frame[0]
    if (kind !== PeerFrame.Data && kind !== PeerFrame.DataMore) { this.refuse(`unexpected frame ${kind} after the handshake`); return }
    const chunk = frame.subarray(1)
    this.partBytes += chunk.length
    if (this.partBytes > this.maxMessageBytes) {
      this.logger.warn('a peer hub sent a message over the limit', { peer: this.remote?.nodeId, maxMessageBytes: this.maxMessageBytes })
      this.close(PEER_TOO_LARGE, 'peer message too large')
      return
    }
    if (kind === PeerFrame.DataMore) { this.parts.push(chunk); return }
    let message = chunk
    if (this.parts.length > 0) {
      this.parts.push(chunk)
      message = new Uint8Array(this.partBytes)
      let at = 0
      for (const p of this.parts) { message.set(p, at); at += p.length }
      this.parts.length = 0
    }
    this.partBytes = 0
    this.options.onMessage(message)
  }
}
