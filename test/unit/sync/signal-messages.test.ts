import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { decodeMessage, encodeMessage, MessageType, PROTOCOL_VERSION, type SyncMessage } from '../../../src/sync/index.js'
import { MAX_PEER_ID_BYTES, MAX_SIGNAL_PAYLOAD_BYTES } from '../../../src/sync/messages.js'
import { DecodeError } from '../../../src/errors.js'

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b)

const samples: SyncMessage[] = [
  { type: MessageType.Signal, room: 'board', from: 'peer-a', to: 'peer-b', payload: bytes(1, 2, 3) },
  { type: MessageType.Signal, room: 'ünïcode', from: 'a', to: '', payload: bytes() },
  { type: MessageType.SignalJoin, room: 'board', token: 'secret' },
  { type: MessageType.SignalJoin, room: 'board', token: '' }
]

describe('signal messages', () => {
  it('round-trip, with the protocol version first and new type tags', () => {
    for (const m of samples) {
      const f = encodeMessage(m)
      expect(f[0]).toBe(PROTOCOL_VERSION)
      expect(f[1]).toBe(m.type)
      expect(decodeMessage(f)).toEqual(m)
    }
    expect([MessageType.Signal, MessageType.SignalJoin]).toEqual([11, 12])
  })

  it('round-trip any room, peer ids and payload', () => {
    const id = fc.string({ minLength: 1, maxLength: 20 })
    fc.assert(fc.property(fc.string({ maxLength: 40 }), id, fc.oneof(fc.constant(''), id), fc.uint8Array({ maxLength: 300 }),
      (room, from, to, payload) => {
        const m: SyncMessage = { type: MessageType.Signal, room, from, to, payload }
        expect(decodeMessage(encodeMessage(m))).toEqual(m)
      }), { numRuns: 500 })
  })

  it('refuse an empty sender, over-long peer ids, over-large payloads and trailing bytes', () => {
    expect(() => decodeMessage(encodeMessage({ type: MessageType.Signal, room: 'r', from: '', to: 'b', payload: bytes() }))).toThrow(/needs a sender/)
    const long = 'x'.repeat(MAX_PEER_ID_BYTES + 1)
    expect(() => decodeMessage(encodeMessage({ type: MessageType.Signal, room: 'r', from: long, to: '', payload: bytes() }))).toThrow(/longer than 64 bytes/)
    expect(() => decodeMessage(encodeMessage({ type: MessageType.Signal, room: 'r', from: 'a', to: long, payload: bytes() }))).toThrow(DecodeError)
    expect(() => decodeMessage(new Uint8Array([...encodeMessage(samples[2]), 0]))).toThrow(/trailing/)
    const big = { type: MessageType.Signal, room: 'r', from: 'a', to: '', payload: new Uint8Array(MAX_SIGNAL_PAYLOAD_BYTES) } as const
    expect(decodeMessage(encodeMessage(big))).toEqual(big)
    expect(() => decodeMessage(encodeMessage({ ...big, payload: new Uint8Array(MAX_SIGNAL_PAYLOAD_BYTES + 1) }))).toThrow(/larger than 65536/)
  })

  it('decode random, mutated and truncated signal frames to a message or a DecodeError, nothing else', () => {
    const valid = samples.map(encodeMessage)
    fc.assert(fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }).map(b => new Uint8Array([PROTOCOL_VERSION, MessageType.Signal, ...b])),
        fc.uint8Array({ maxLength: 64 }).map(b => new Uint8Array([PROTOCOL_VERSION, MessageType.SignalJoin, ...b])),
        fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([f, at, b]) => {
          const g = f.slice(); g[at % g.length] = b; return g
        }),
        fc.tuple(fc.constantFrom(...valid), fc.nat()).map(([f, n]) => f.slice(0, n % f.length))
      ),
      (frame) => {
        try {
          const m = decodeMessage(frame)
          if (m.type === MessageType.Signal) expect(m.from.length).toBeGreaterThan(0)
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError)
        }
      }
    ), { numRuns: 3000 })
  })
})
