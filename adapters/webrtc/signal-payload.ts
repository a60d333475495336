/**
 * What WebRTC peers tell each other through the hub (JSON inside the
 * sealed payload): `announce` (I am in the room: whoever hears it
 * offers; when two offers collide, the smaller peer id's stands), `offer`/`answer` (SDP) and `ice` (a trickled candidate, `null`
 * at the end) of one connection attempt `s`, and `full` (my `maxPeers` are
 * taken: we sync through the hub).
 *
 * @module
 */

export type PeerSignal =
  | { t: 'announce' }
  | { t: 'full' }
  | { t: 'offer', s: string, sdp: string }
  | { t: 'answer', s: string, sdp: string }
  | { t: 'ice', s: string, c: RTCIceCandidateInit | null }

const isString = (v: unknown): v is string => typeof v === 'string'

/** Parses a payload; undefined for anything that is not a well-formed signal. */
export const parsePeerSignal = (bytes: Uint8Array): PeerSignal | undefined => {
  let v: unknown
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    return undefined
  }
  if (typeof v !== 'object' || v === null) return undefined
  const o = v as Record<string, unknown>
  switch (o.t) {
    case 'announce':
    case 'full':
      return { t: o.t }
    case 'offer':
    case 'answer':
      return isString(o.s) && isString(o.sdp) ? { t: o.t, s: o.s, sdp: o.sdp } : undefined
    case 'ice': {
      if (!isString(o.s)) return undefined
      if (o.c === null) return { t: 'ice', s: o.s, c: null }
      const c = o.c as Record<string, unknown> | undefined
      if (typeof c !== 'object' || c === null || !isString(c.candidate)) return undefined
      return {
        t: 'ice',
        s: o.s,
        c: {
          candidate: c.candidate,
          sdpMid: isString(c.sdpMid) ? c.sdpMid : null,
          sdpMLineIndex: typeof c.sdpMLineIndex === 'number' ? c.sdpMLineIndex : null,
          usernameFragment: isString(c.usernameFragment) ? c.usernameFragment : null
        }
      }
    }
    default:
      return undefined
  }
}

export const encodePeerSignal = (s: PeerSignal): Uint8Array<ArrayBuffer> => new TextEncoder().encode(JSON.stringify(s))
