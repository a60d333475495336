import { describe, expect, it } from 'vitest'
import { Prng, runSeeds } from 'aegis-replication/testing'
import {
  DecodeError, RAFT_PROTOCOL_VERSION, decodeRaftMessage, decodeSnapshotStreamMessage, encodeSnapshotStreamMessage, isSnapshotStreamFrame,
  type SnapshotStreamMessage
} from 'aegis-replication/raft'

const meta = { index: 120, term: 7, conf: { voters: ['a', 'b', 'c'], learners: ['d'] } }
const base = { from: 'a', to: 'b', term: 7 }
const samples: SnapshotStreamMessage[] = [
  { ...base, type: 'snapshot-chunk', meta, total: 10, checksum: 0xdeadbeef, offset: 0, done: false, chunkChecksum: 0x01020304, data: new Uint8Array([1, 2, 3, 4]) },
  { ...base, type: 'snapshot-chunk', meta, total: 10, checksum: 0xffffffff, offset: 4, done: true, chunkChecksum: 0, data: new Uint8Array([5, 6, 7, 8, 9, 10]) },
  { ...base, type: 'snapshot-chunk', meta, total: 0, checksum: 0, offset: 0, done: true, chunkChecksum: 0, data: new Uint8Array(0) },
  { ...base, type: 'snapshot-chunk-ack', index: 120, checksum: 0x80000000, offset: 65_536, status: 'ok' },
  { ...base, type: 'snapshot-chunk-ack', index: 120, checksum: 1, offset: 0, status: 'retry' },
  { ...base, type: 'snapshot-chunk-ack', index: 120, checksum: 1, offset: 10, status: 'done' },
  { ...base, type: 'snapshot-chunk-ack', index: 3, checksum: 1, offset: 0, status: 'refused' }
]

describe('streamed snapshot codec', () => {
  it('round-trips every message, and tells its frames from the core\'s', () => {
    for (const m of samples) {
      const bytes = encodeSnapshotStreamMessage(m)
      expect(decodeSnapshotStreamMessage(bytes)).toEqual(m)
      expect(isSnapshotStreamFrame(bytes)).toBe(true)
      expect(() => decodeRaftMessage(bytes)).toThrow(DecodeError)
    }
  })

  it('refuses inconsistent chunks: past the total, or a done flag that does not match', () => {
    const over = { ...samples[0], offset: 8 } as SnapshotStreamMessage
    expect(() => decodeSnapshotStreamMessage(encodeSnapshotStreamMessage(over))).toThrow(/exceeds total/)
    const notDone = { ...samples[1], done: false } as SnapshotStreamMessage
    expect(() => decodeSnapshotStreamMessage(encodeSnapshotStreamMessage(notDone))).toThrow(/done flag/)
    expect(() => decodeSnapshotStreamMessage(encodeSnapshotStreamMessage(samples[3]).subarray(0, 9))).toThrow(DecodeError)
    expect(() => decodeSnapshotStreamMessage(Uint8Array.of(...encodeSnapshotStreamMessage(samples[3]), 0))).toThrow(DecodeError)
  })

  it('fuzz: random and mutated bytes either decode to a valid message or throw DecodeError', () => runSeeds(500, (seed, prng: Prng) => {
    const check = (bytes: Uint8Array): void => {
      try {
        const m = decodeSnapshotStreamMessage(bytes)
        // whatever decodes is consistent and survives a round trip (varints may have been written non-minimally)
        expect(decodeSnapshotStreamMessage(encodeSnapshotStreamMessage(m))).toEqual(m)
        if (m.type === 'snapshot-chunk') {
          expect(m.offset + m.data.length).toBeLessThanOrEqual(m.total)
          expect(m.done).toBe(m.offset + m.data.length === m.total)
        }
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err
      }
    }
    const random = new Uint8Array(prng.int(0, 80)).map(() => prng.int(0, 255))
    check(random)
    check(Uint8Array.of(RAFT_PROTOCOL_VERSION, prng.next() < 0.5 ? 0x40 : 0x41, ...random))
    const m = encodeSnapshotStreamMessage(samples[prng.int(0, samples.length - 1)])
    for (let i = 0; i < 20; i++) {
      const mutated = m.slice()
      const flips = prng.int(1, 3)
      for (let f = 0; f < flips; f++) mutated[prng.int(0, mutated.length - 1)] = prng.int(0, 255)
      check(prng.next() < 0.2 ? mutated.subarray(0, prng.int(0, mutated.length)) : mutated)
    }
  }, { env: process.env }))
})
