import { describe, expect, it } from 'vitest'
import { Prng, runSeeds } from 'aegis-replication/testing'
import {
  DecodeError, RAFT_PROTOCOL_VERSION, SessionTable, decodeCommand, decodeConfChange, decodeEntry, decodeHardState, decodeNodeSnapshot,
  decodeRaftMessage, decodeSnapshot, encodeCommand, encodeConfChange, encodeEntry, encodeHardState, encodeNodeSnapshot, encodeRaftMessage,
  encodeSnapshot, type RaftMessage
} from 'aegis-replication/raft'

const conf = { voters: ['a', 'b', 'c'], learners: ['d'] }
const entries = [
  { term: 3, index: 11, type: 'normal' as const, data: new Uint8Array([1, 2, 3]) },
  { term: 3, index: 12, type: 'conf-change' as const, data: encodeConfChange({ op: 'add-learner', node: 'd', conf }) },
  { term: 4, index: 13, type: 'noop' as const, data: new Uint8Array(0) }
]
const base = { from: 'a', to: 'b', term: 4 }
const samples: RaftMessage[] = [
  { ...base, type: 'append', index: 10, logTerm: 2, entries, commit: 9 },
  { ...base, type: 'append', index: 0, logTerm: 0, entries: [], commit: 0 },
  { ...base, type: 'append-resp', index: 13, reject: false, rejectHint: 0, logTerm: 0 },
  { ...base, type: 'append-resp', index: 20, reject: true, rejectHint: 7, logTerm: 2 },
  { ...base, type: 'heartbeat', commit: 12, readSeq: 99 },
  { ...base, type: 'heartbeat-resp', readSeq: 99 },
  { ...base, type: 'vote', index: 13, logTerm: 4, transfer: false },
  { ...base, type: 'pre-vote', index: 13, logTerm: 4, transfer: true },
  { ...base, type: 'vote-resp', reject: true },
  { ...base, type: 'pre-vote-resp', reject: false },
  { ...base, type: 'snapshot', meta: { index: 50, term: 3, conf }, offset: 8, total: 20, data: new Uint8Array([9, 9, 9]) },
  { ...base, type: 'snapshot-resp', index: 50, offset: 11 },
  { ...base, type: 'timeout-now' },
  { ...base, type: 'read-index', ctx: 123456 },
  { ...base, type: 'read-index-resp', ctx: 123456, index: 13, reject: false }
]

describe('raft codec', () => {
  it('round-trips every message type', () => {
    for (const m of samples) {
      const bytes = encodeRaftMessage(m)
      expect(bytes[0]).toBe(RAFT_PROTOCOL_VERSION)
      expect(decodeRaftMessage(bytes)).toEqual(m)
    }
  })

  it('round-trips entries, hard state, snapshots, conf changes, commands and node snapshots', () => {
    for (const e of entries) expect(decodeEntry(encodeEntry(e))).toEqual(e)
    expect(decodeHardState(encodeHardState({ term: 7, vote: 'c', commit: 5 }))).toEqual({ term: 7, vote: 'c', commit: 5 })
    expect(decodeHardState(encodeHardState({ term: 7, vote: null, commit: 5 }))).toEqual({ term: 7, vote: null, commit: 5 })
    const snap = { index: 9, term: 2, conf, data: new Uint8Array([5, 6]) }
    expect(decodeSnapshot(encodeSnapshot(snap))).toEqual(snap)
    expect(decodeConfChange(encodeConfChange({ op: 'remove', node: 'b', conf }))).toEqual({ op: 'remove', node: 'b', conf })
    expect(decodeCommand(encodeCommand(new Uint8Array([1]), { clientId: 'c1', seq: 42 }))).toEqual({ cmd: new Uint8Array([1]), session: { clientId: 'c1', seq: 42 } })
    expect(decodeCommand(encodeCommand(new Uint8Array([1])))).toEqual({ cmd: new Uint8Array([1]) })
    const t = new SessionTable()
    t.record({ clientId: 'x', seq: 3 }, new Uint8Array([7]))
    const t2 = new SessionTable()
    expect(decodeNodeSnapshot(encodeNodeSnapshot(t, new Uint8Array([1, 2])), t2)).toEqual(new Uint8Array([1, 2]))
    expect(t2.check({ clientId: 'x', seq: 3 })).toEqual({ kind: 'duplicate', result: new Uint8Array([7]) })
  })

  it('rejects a wrong version, an unknown type, truncation and trailing bytes with DecodeError', () => {
    const good = encodeRaftMessage(samples[0])
    expect(() => decodeRaftMessage(Uint8Array.of(99, ...good.subarray(1)))).toThrow(/version/)
    expect(() => decodeRaftMessage(Uint8Array.of(good[0], 200, ...good.subarray(2)))).toThrow(DecodeError)
    for (let n = 0; n < good.length; n++) expect(() => decodeRaftMessage(good.subarray(0, n))).toThrow(DecodeError)
    expect(() => decodeRaftMessage(Uint8Array.of(...good, 0))).toThrow(DecodeError)
  })

  it('fuzz: random and mutated bytes either decode to a valid message or throw DecodeError', () => runSeeds(300, (seed, prng: Prng) => {
    const check = (bytes: Uint8Array): void => {
      try {
        const m = decodeRaftMessage(bytes)
        // whatever decodes must re-encode to the same bytes
        expect(encodeRaftMessage(m)).toEqual(bytes)
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err
      }
    }
    const random = new Uint8Array(prng.int(0, 64)).map(() => prng.int(0, 255))
    check(random)
    check(Uint8Array.of(RAFT_PROTOCOL_VERSION, prng.int(0, 14), ...random))
    const m = encodeRaftMessage(samples[prng.int(0, samples.length - 1)])
    for (let i = 0; i < 20; i++) {
      const mutated = m.slice()
      const flips = prng.int(1, 3)
      for (let f = 0; f < flips; f++) mutated[prng.int(0, mutated.length - 1)] = prng.int(0, 255)
      check(prng.next() < 0.2 ? mutated.subarray(0, prng.int(0, mutated.length)) : mutated)
    }
    for (const decode of [decodeEntry, decodeHardState, decodeSnapshot, decodeConfChange]) {
      try { decode(random) } catch (err) { if (!(err instanceof DecodeError)) throw err }
    }
  }, { env: process.env }))
})
