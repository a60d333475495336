/**
 * Loads the `webrtc-adapter` shim (it patches `RTCPeerConnection` & co. on
 * `window` when imported). Imported lazily, and only where there is a
 * `window`: the entry itself has no side effects, tree-shakes, and loads in
 * Node, workers and edge runtimes.
 *
 * @module
 */
import type { Logger } from 'aegis-replication'

let loading: Promise<void> | undefined

/** Resolves once the shim ran (or at once without a `window`); never rejects. */
export const loadWebRTCShim = (logger: Logger): Promise<void> => {
  if (typeof (globalThis as { window?: unknown }).window === 'undefined') return Promise.resolve()
  loading ??= import('webrtc-adapter').then(() => undefined, (err: unknown) => {
    logger.warn('could not load the webrtc-adapter shim; using the browser\'s WebRTC as it is', { error: String(err) })
  })
  return loading
}
