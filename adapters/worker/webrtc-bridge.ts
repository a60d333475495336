/**
 * The WebRTC bridge: `RTCPeerConnection` exists only in windows, so one tab
 * per room, elected with the Web Lock `aegis-webrtc:<room>`, runs a
 * `WebRTCProvider` on its local doc. That doc is synced with the worker
 * (or the other tabs), so what peers send reaches every tab, and every
 * tab's edits reach the peers. When the tab closes, the lock passes and
 * the next tab starts its own provider.
 *
 * @module
 */
import { silentLogger, type Doc, type Logger } from 'aegis-replication'
import { LeaderElection, type LockManagerLike } from './locks.js'
import type { WebRTCBridgeOptions, WebRTCModule } from './options.js'

/** Loads `aegis-replication/webrtc` (its own entry: pages that do not lead never fetch it). */
export const loadWebRTC = async (): Promise<WebRTCModule> => await import('aegis-replication/webrtc')

/** Runs a WebRTC provider for `room` while this tab is the elected one. */
export class WebRTCBridge {
  private readonly election: LeaderElection
  private provider: { destroy (): void } | undefined = undefined
  private leading = false

  constructor (room: string, doc: Doc, opts: WebRTCBridgeOptions, locks: LockManagerLike, onLeader: (leader: boolean) => void, logger: Logger = silentLogger) {
    const load = opts.load ?? loadWebRTC
    this.election = new LeaderElection(`aegis-webrtc:${room}`, locks, leader => {
      this.leading = leader
      if (!leader) {
        this.provider?.destroy()
        this.provider = undefined
        onLeader(false)
        return
      }
      load().then(({ WebRTCProvider }) => {
        if (!this.leading) return
        this.provider = new WebRTCProvider(room, doc, { ...opts.providerOptions, signaling: opts.signaling, password: opts.password })
        onLeader(true)
      }, (err: unknown) => {
        logger.warn('could not load the WebRTC adapter; this tab runs no WebRTC', { room, error: String(err) })
      })
    }, logger)
  }

  /** Whether this tab runs the room's WebRTC provider. */
  get isLeader (): boolean { return this.provider !== undefined }

  /** Stops the provider (if running) and hands the lock on. */
  destroy (): void {
    this.election.resign()
  }
}
