import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { deriveRoomKey, openSignal, sealSignal } from '../../../adapters/webrtc/signal-crypto.js'
import { encodePeerSignal, parsePeerSignal, type PeerSignal } from '../../../adapters/webrtc/signal-payload.js'

const text = (s: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(s)

describe('sealed signaling payloads', () => {
  it('open with the same password, room, sender and target only', async () => {
    const key = await deriveRoomKey('correct horse', 'room-1')
    const sealed = await sealSignal(key, 'room-1', 'a', 'b', text('{"t":"announce"}'))
    expect(new TextDecoder().decode(sealed)).not.toContain('announce')
    expect(await openSignal(key, 'room-1', 'a', 'b', sealed)).toEqual(text('{"t":"announce"}'))
    const wrong = await deriveRoomKey('wrong horse', 'room-1')
    expect(await openSignal(wrong, 'room-1', 'a', 'b', sealed)).toBe('wrong-password')
    // the same password in another room is another key
    expect(await openSignal(await deriveRoomKey('correct horse', 'room-2'), 'room-1', 'a', 'b', sealed)).toBe('wrong-password')
    // a hub cannot redirect it to another peer or pass it off as another sender's
    expect(await openSignal(key, 'room-1', 'a', 'c', sealed)).toBe('wrong-password')
    expect(await openSignal(key, 'room-1', 'm', 'b', sealed)).toBe('wrong-password')
    // fresh IVs: sealing twice gives different bytes
    expect(await sealSignal(key, 'room-1', 'a', 'b', text('x'))).not.toEqual(await sealSignal(key, 'room-1', 'a', 'b', text('x')))
  })

  it('tell plain from sealed payloads, and refuse what is neither', async () => {
    const key = await deriveRoomKey('pw', 'r')
    const plain = await sealSignal(undefined, 'r', 'a', '', text('{}'))
    expect(await openSignal(undefined, 'r', 'a', '', plain)).toEqual(text('{}'))
    expect(await openSignal(key, 'r', 'a', '', plain)).toBe('expected-password')
    expect(await openSignal(undefined, 'r', 'a', '', await sealSignal(key, 'r', 'a', '', text('{}')))).toBe('unexpected-password')
    expect(await openSignal(key, 'r', 'a', '', new Uint8Array([1, 2, 3]))).toBe('malformed')
    expect(await openSignal(key, 'r', 'a', '', new Uint8Array())).toBe('malformed')
    expect(await openSignal(key, 'r', 'a', '', new Uint8Array([7, 0]))).toBe('malformed')
  })

  it('parse every well-formed peer signal and nothing else', () => {
    const samples: PeerSignal[] = [
      { t: 'announce' }, { t: 'full' },
      { t: 'offer', s: 's1', sdp: 'v=0' }, { t: 'answer', s: 's1', sdp: 'v=0' },
      { t: 'ice', s: 's1', c: null },
      { t: 'ice', s: 's1', c: { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'u' } }
    ]
    for (const s of samples) expect(parsePeerSignal(encodePeerSignal(s))).toEqual(s)
    for (const bad of ['', 'null', '[]', '{"t":"offer"}', '{"t":"ice","s":"x","c":{}}', '{"t":"nope"}', '\uFFFF']) {
      expect(parsePeerSignal(text(bad))).toBeUndefined()
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
      const s = parsePeerSignal(b)
      if (s !== undefined) expect(['announce', 'full', 'offer', 'answer', 'ice']).toContain(s.t)
    }), { numRuns: 2000 })
  })
})
