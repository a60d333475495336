/**
 * One link of the mesh: an `RTCPeerConnection` to one peer with one
 * negotiated, ordered data channel (id 0, created by both sides, so no
 * `ondatachannel` race), and a {@link PeerSync} session on it, created once
 * the channel opens. Each attempt has a session id, and signals of another
 * attempt are ignored (the provider resolves colliding offers). Frames queue
 * behind the channel's buffer (`bufferedAmountLowThreshold`), so a large
 * chunked update does not overflow it.
 *
 * @module
 */
import type { Clock, Doc, Logger, TimerHandle } from 'aegis-replication'
import { PeerSync } from 'aegis-replication/sync'
import type { PeerSignal } from './signal-payload.js'

/** Queue frames while the channel holds more than this. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024
/** Resume when the channel's buffer drops to this. */
const LOW_WATER_BYTES = 1024 * 1024
/** A `disconnected` connection gets this long to recover before the link is closed. */
const DISCONNECTED_GRACE_MS = 5000

/** What a link needs from its provider. */
export interface LinkHost {
  readonly room: string
  readonly doc: Doc
  readonly clock: Clock
  readonly logger: Logger
  readonly maxFrameBytes: number
  readonly connectTimeoutMs: number
  readonly rtcConfig: RTCConfiguration
  readonly RTCPeerConnection: typeof RTCPeerConnection
  /** The sync sessions of every link of this provider: their updates are not relayed to the other links (a full mesh). */
  readonly sessions: WeakSet<object>
  /** Sends a signal to the link's peer through the hub. */
  signal (to: string, s: PeerSignal): void
  opened (link: PeerLink): void
  closed (link: PeerLink, reason: string): void
  synced (link: PeerLink): void
  awareness (link: PeerLink, update: Uint8Array): void
}

export type LinkState = 'connecting' | 'open' | 'closed'

/** One peer connection, its data channel and its sync session. */
export class PeerLink {
  private _sync: PeerSync | undefined
  private readonly pc: RTCPeerConnection
  private readonly dc: RTCDataChannel
  private _state: LinkState = 'connecting'
  /** Whether the data channel ever opened. */
  wasOpen = false
  private readonly queue: Uint8Array[] = []
  private readonly pendingCandidates: RTCIceCandidateInit[] = []
  private haveRemote = false
  private timer: TimerHandle | undefined
  /** Awareness client ids this peer announced over the link. */
  readonly clients = new Set<number>()

  constructor (private readonly host: LinkHost, readonly remote: string, readonly session: string, readonly offerer: boolean) {
    this.pc = new host.RTCPeerConnection(host.rtcConfig)
    this.dc = this.pc.createDataChannel('aegis', { negotiated: true, id: 0, ordered: true })
    this.dc.binaryType = 'arraybuffer'
    this.dc.bufferedAmountLowThreshold = LOW_WATER_BYTES
    this.pc.onicecandidate = (e) => {
      if (this._state === 'closed') return
      host.signal(remote, { t: 'ice', s: session, c: e.candidate === null ? null : e.candidate.toJSON() })
    }
    this.pc.onconnectionstatechange = () => this.connectionState()
    this.dc.onopen = () => {
      if (this._state !== 'connecting') return
      this._state = 'open'
      this.wasOpen = true
      this.clearTimer()
      // frames stay under what the other end accepts (Chromium 256 KiB, older browsers 64 KiB)
      const limit = this.pc.sctp?.maxMessageSize
      const sync = this._sync = new PeerSync({
        room: host.room,
        doc: host.doc,
        send: frame => this.send(frame),
        maxFrameBytes: typeof limit === 'number' && limit >= 1024 ? Math.min(host.maxFrameBytes, limit) : host.maxFrameBytes,
        now: () => host.clock.now(),
        logger: host.logger,
        // every peer of the mesh hears an update from its author; hub and worker updates still go out.
        // Where the mesh has a gap (a channel still connecting), the state-vector resync fills it.
        forward: origin => !host.sessions.has(origin as object),
        resyncEveryMs: 5000
      })
      host.sessions.add(sync)
      sync.on('synced', () => host.synced(this))
      sync.on('awareness', update => host.awareness(this, update))
      sync.start()
      host.opened(this)
      this.flush()
    }
    this.dc.onclose = () => this.close('the data channel closed')
    this.dc.onerror = (e) => host.logger.debug('data channel error', { peer: remote, error: String((e as RTCErrorEvent).error?.message ?? e) })
    this.dc.onbufferedamountlow = () => this.flush()
    this.dc.onmessage = (e: MessageEvent) => this.receive(e.data)
    this.timer = host.clock.setTimeout(() => {
      this.timer = undefined
      if (this._state === 'connecting') this.close(`no data channel after ${host.connectTimeoutMs} ms`)
    }, host.connectTimeoutMs)
  }

  get state (): LinkState { return this._state }

  /** The sync session; only while the channel is open. */
  get sync (): PeerSync {
    if (this._sync === undefined || this._state !== 'open') throw new Error(`unexpected: the link to ${this.remote} is ${this._state}`)
    return this._sync
  }

  /** Whether the peer answered our state vector on this link. */
  get synced (): boolean { return this._state === 'open' && this._sync?.synced === true }

  /** Offerer: creates and sends the offer. */
  async offer (): Promise<void> {
    try {
      await this.pc.setLocalDescription(await this.pc.createOffer())
      if (this._state === 'closed') return
      this.host.signal(this.remote, { t: 'offer', s: this.session, sdp: this.pc.localDescription!.sdp })
    } catch (err) {
      this.close(`could not create an offer: ${String(err)}`)
    }
  }

  /** Answerer: takes the offer, sends the answer. */
  async answer (sdp: string): Promise<void> {
    try {
      await this.pc.setRemoteDescription({ type: 'offer', sdp })
      await this.remoteSet()
      await this.pc.setLocalDescription(await this.pc.createAnswer())
      if (this._state === 'closed') return
      this.host.signal(this.remote, { t: 'answer', s: this.session, sdp: this.pc.localDescription!.sdp })
    } catch (err) {
      this.close(`could not answer the offer: ${String(err)}`)
    }
  }

  /** Offerer: takes the answer. */
  async accept (sdp: string): Promise<void> {
    if (this.haveRemote || this.pc.signalingState !== 'have-local-offer') return
    try {
      await this.pc.setRemoteDescription({ type: 'answer', sdp })
      await this.remoteSet()
    } catch (err) {
      this.close(`could not take the answer: ${String(err)}`)
    }
  }

  /** A trickled candidate (kept until the remote description is set). */
  async candidate (c: RTCIceCandidateInit | null): Promise<void> {
    if (c === null || this._state === 'closed') return
    if (!this.haveRemote) { this.pendingCandidates.push(c); return }
    try {
      await this.pc.addIceCandidate(c)
    } catch (err) {
      this.host.logger.debug('ignored an ICE candidate', { peer: this.remote, error: String(err) })
    }
  }

  /** Closes the connection (idempotent) and tells the provider. */
  close (reason: string): void {
    if (this._state === 'closed') return
    this._state = 'closed'
    this.clearTimer()
    this.queue.length = 0
    this._sync?.destroy()
    this.pc.onicecandidate = this.pc.onconnectionstatechange = null
    this.dc.onopen = this.dc.onclose = this.dc.onmessage = this.dc.onbufferedamountlow = this.dc.onerror = null
    try { this.dc.close() } catch {}
    try { this.pc.close() } catch {}
    this.host.closed(this, reason)
  }

  private async remoteSet (): Promise<void> {
    this.haveRemote = true
    for (const c of this.pendingCandidates.splice(0)) await this.candidate(c)
  }

  private connectionState (): void {
    const s = this.pc.connectionState
    if (s === 'failed' || s === 'closed') { this.close(`the peer connection ${s}`); return }
    if (s === 'disconnected' && this._state === 'open' && this.timer === undefined) {
      this.timer = this.host.clock.setTimeout(() => {
        this.timer = undefined
        if (this.pc.connectionState !== 'connected') this.close('the peer connection stayed disconnected')
      }, DISCONNECTED_GRACE_MS)
    }
  }

  private receive (data: unknown): void {
    if (this._state !== 'open') return
    if (!(data instanceof ArrayBuffer)) {
      this.host.logger.warn('ignored a non-binary data channel message', { peer: this.remote })
      return
    }
    try {
      this.sync.receive(new Uint8Array(data))
    } catch (err) {
      const bad = (err as Error | undefined)?.name === 'DecodeError'
      this.host.logger[bad ? 'warn' : 'error'](bad ? 'undecodable frame from a peer; closing the link' : 'handling a peer frame failed; closing the link', { peer: this.remote, error: String(err) })
      this.close(bad ? 'bad frame' : 'frame handling failed')
    }
  }

  private send (frame: Uint8Array): void {
    if (this._state === 'closed') return
    this.queue.push(frame)
    this.flush()
  }

  private flush (): void {
    const dc = this.dc
    try {
      while (this.queue.length > 0 && dc.readyState === 'open' && dc.bufferedAmount < HIGH_WATER_BYTES) {
        dc.send(this.queue.shift() as Uint8Array<ArrayBuffer>)
      }
    } catch (err) {
      this.close(`sending failed: ${String(err)}`)
    }
  }

  private clearTimer (): void {
    if (this.timer !== undefined) this.host.clock.clearTimeout(this.timer)
    this.timer = undefined
  }
}
