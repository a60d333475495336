import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  Access, decodeMessage, encodeMessage, ErrorCode, KvStatus, MessageType, PROTOCOL_VERSION, Reassembler, splitFrame, type SyncMessage
} from '../../../src/sync/index.js'
import { DecodeError } from '../../../src/errors.js'

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b)

const samples: SyncMessage[] = [
  { type: MessageType.Join, room: 'board', token: 'secret', access: Access.Write, stateVector: bytes(1, 2, 3) },
  { type: MessageType.Join, room: 'ünïcode-room', token: '', access: Access.Read, stateVector: bytes() },
  { type: MessageType.Joined, room: 'board', access: Access.Read },
  { type: MessageType.SyncStep1, room: 'board', stateVector: bytes(9) },
  { type: MessageType.SyncStep2, room: 'board', update: bytes(1, 0, 0) },
  { type: MessageType.Update, room: 'board', seq: 42, update: bytes(7, 7) },
  { type: MessageType.Update, room: 'board', seq: 0, update: bytes() },
  { type: MessageType.Ack, room: 'board', from: 3, to: 9 },
  { type: MessageType.Awareness, room: 'board', update: bytes(1, 2) },
  { type: MessageType.Leave, room: 'board' },
  { type: MessageType.Error, room: '', code: ErrorCode.RateLimited, reason: 'slow down' },
  { type: MessageType.Chunk, id: 5, index: 1, count: 3, bytes: bytes(4, 5, 6) },
  { type: MessageType.KvRequest, room: '', id: 7, token: 't', session: 'abc123', seq: 4, command: bytes(1, 2) },
  { type: MessageType.KvRequest, room: '', id: 9, token: 't', session: 'abc123', seq: 6, command: bytes(1, 2), ackedSeq: 5 },
  { type: MessageType.KvRequest, room: '', id: 10, token: '', session: 's', seq: 1, command: bytes(), ackedSeq: 0 },
  { type: MessageType.KvResponse, room: '', id: 7, status: KvStatus.Ok, result: bytes(1, 3), reason: '' },
  { type: MessageType.KvResponse, room: '', id: 8, status: KvStatus.Failed, result: bytes(), reason: 'denied' }
]

describe('sync messages', () => {
  it('round-trip every message type', () => {
    for (const m of samples) expect(decodeMessage(encodeMessage(m))).toEqual(m)
  })

  it('start with the protocol version and reject another one by name', () => {
    const frame = encodeMessage(samples[0])
    expect(frame[0]).toBe(PROTOCOL_VERSION)
    frame[0] = 99
    expect(() => decodeMessage(frame)).toThrow(/protocol version 99 is not supported/)
  })

  it('reject unknown types, unknown codes, trailing bytes and impossible chunks', () => {
    expect(() => decodeMessage(bytes(PROTOCOL_VERSION, 77, 0))).toThrow(/unknown message type 77/)
    expect(() => decodeMessage(bytes(PROTOCOL_VERSION, MessageType.Error, 0, 1, 0))).toThrow(/unknown error code/)
    const f = encodeMessage(samples[9])
    expect(() => decodeMessage(new Uint8Array([...f, 0]))).toThrow(/trailing/)
    expect(() => decodeMessage(encodeMessage({ type: MessageType.Chunk, id: 1, index: 3, count: 3, bytes: bytes() }))).toThrow(/impossible/)
  })

  it('reject a kv response with an unknown status and a kv session over 64 bytes', () => {
    const r = encodeMessage({ type: MessageType.KvResponse, room: '', id: 1, status: KvStatus.Ok, result: bytes(), reason: '' })
    r[4] = 9 // version, type, room length 0, id 1, status
    expect(() => decodeMessage(r)).toThrow(/unknown kv status 9/)
    const long = encodeMessage({ type: MessageType.KvRequest, room: '', id: 1, token: '', session: 's'.repeat(65), seq: 1, command: bytes() })
    expect(() => decodeMessage(long)).toThrow(/kv session is longer than 64 bytes/)
  })

  it('refuse room names and tokens over the limits without allocating them', () => {
    const long = encodeMessage({ type: MessageType.Leave, room: 'x'.repeat(300) })
    expect(() => decodeMessage(long)).toThrow(/room name is longer than 256 bytes/)
    // a declared length of 2^31 with 3 bytes behind it
    expect(() => decodeMessage(bytes(PROTOCOL_VERSION, MessageType.Leave, 0x80, 0x80, 0x80, 0x80, 0x08, 1, 2, 3))).toThrow(DecodeError)
  })

  it('decode random and mutated bytes to a message or a DecodeError, nothing else', () => {
    const valid = samples.map(encodeMessage)
    fc.assert(fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([f, at, b]) => {
          const g = f.slice(); g[at % g.length] = b; return g
        }),
        fc.tuple(fc.constantFrom(...valid), fc.nat()).map(([f, n]) => f.slice(0, n % f.length))
      ),
      (frame) => {
        try {
          decodeMessage(frame)
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError)
        }
      }
    ), { numRuns: 3000 })
  })
})

describe('chunking', () => {
  it('splits under the frame limit and reassembles in any order with duplicates', () => {
    const big = encodeMessage({ type: MessageType.Update, room: 'r', seq: 1, update: new Uint8Array(10_000).map((_, i) => i % 251) })
    const chunks = splitFrame(big, 512, 7)
    expect(chunks.length).toBeGreaterThan(19)
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(512)
    const r = new Reassembler()
    const shuffled = [...chunks].reverse()
    let out: Uint8Array | undefined
    for (const c of [...shuffled, shuffled[0]]) {
      const m = decodeMessage(c)
      if (m.type !== MessageType.Chunk) throw new Error('not a chunk')
      out = r.push(m) ?? out
    }
    expect(out).toEqual(big)
    expect(r.bufferedBytes).toBe(0)
  })

  it('leaves small frames alone', () => {
    const f = encodeMessage(samples[0])
    expect(splitFrame(f, 512, 1)).toEqual([f])
  })

  it('refuses messages over the size limit and contradicting chunks, dropping the partial message', () => {
    const r = new Reassembler({ maxMessageBytes: 1000 })
    const chunk = (id: number, index: number, count: number, n: number) =>
      ({ type: MessageType.Chunk, id, index, count, bytes: new Uint8Array(n) }) as const
    r.push(chunk(1, 0, 3, 600))
    expect(() => r.push(chunk(1, 1, 3, 600))).toThrow(/larger than 1000 bytes/)
    expect(r.bufferedBytes).toBe(0)
    r.push(chunk(2, 0, 3, 10))
    expect(() => r.push(chunk(2, 1, 4, 10))).toThrow(/says 4 chunks, earlier ones said 3/)
    expect(() => r.push(chunk(3, 0, 5000, 1))).toThrow(/cannot fit/)
  })

  it('keeps at most maxPending partial messages', () => {
    const r = new Reassembler({ maxPending: 2 })
    for (let id = 0; id < 5; id++) r.push({ type: MessageType.Chunk, id, index: 0, count: 2, bytes: new Uint8Array(100) })
    expect(r.bufferedBytes).toBe(200)
  })
})
