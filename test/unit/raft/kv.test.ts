import { describe, expect, it } from 'vitest'
import * as encoding from 'lib0/encoding'
import {
  decodeKvCommand, decodeKvResult, encodeKvCommand, encodeKvResult, KV_PROTOCOL_VERSION, KvStateMachine,
  MAX_KV_KEY_BYTES, RaftKv, type KvCommand, type KvProposer, type KvResult
} from '../../../src/raft/kv.js'
import type { RaftNode, StateMachine } from '../../../src/raft/raft-node.js'
import { DecodeError, InvalidArgumentError, NotLeaderError } from '../../../src/errors.js'
import { Prng, runSeeds } from '../../../src/testing/index.js'
import { kvApply, kvInputOf, kvModel, kvOutputOf, type KvInput, type KvOutput, type KvState } from '../../support/kv-model.js'
import { checkLinearizable, HistoryRecorder } from '../../support/linearizability.js'

const te = new TextEncoder()
const td = new TextDecoder()
const b = (s: string): Uint8Array => te.encode(s)
const str = (u: Uint8Array | null): string | null => (u === null ? null : td.decode(u))

const commands: KvCommand[] = [
  { type: 'get', key: 'a' },
  { type: 'get', key: '' },
  { type: 'get', key: 'ключ/😀' },
  { type: 'range', start: 'a', end: 'z', limit: 0 },
  { type: 'range', start: '', end: null, limit: 10 },
  { type: 'range', start: 'x', end: null, limit: Number.MAX_SAFE_INTEGER },
  { type: 'put', key: 'k', value: b('v') },
  { type: 'put', key: 'k'.repeat(MAX_KV_KEY_BYTES), value: new Uint8Array(0) },
  { type: 'put', key: '€'.repeat(MAX_KV_KEY_BYTES / 3), value: new Uint8Array(1000).fill(7) },
  { type: 'delete', key: 'k' },
  { type: 'cas', key: 'k', expected: null, next: b('1') },
  { type: 'cas', key: 'k', expected: b('1'), next: null },
  { type: 'cas', key: 'k', expected: new Uint8Array(0), next: new Uint8Array(0) }
]

const results: KvResult[] = [
  { type: 'get', value: null },
  { type: 'get', value: b('x') },
  { type: 'get', value: new Uint8Array(0) },
  { type: 'range', entries: [] },
  { type: 'range', entries: [{ key: '', value: new Uint8Array(0) }, { key: 'b', value: b('2') }] },
  { type: 'put' },
  { type: 'delete', existed: true },
  { type: 'delete', existed: false },
  { type: 'cas', ok: true },
  { type: 'cas', ok: false },
  { type: 'error', message: 'nope ✗' }
]

/** A proposer that runs commands on a local state machine (a one-node stand-in for RaftNode). */
const localNode = (sm = new KvStateMachine()): KvProposer & { sm: KvStateMachine } =>
  ({ sm, propose: async (c) => sm.apply(c), read: async (q) => sm.query(q) })

const apply = (sm: KvStateMachine, cmd: KvCommand): KvResult => decodeKvResult(sm.apply(encodeKvCommand(cmd)))
const query = (sm: KvStateMachine, cmd: KvCommand): KvResult => decodeKvResult(sm.query(encodeKvCommand(cmd)))

/** Decoding either succeeds or throws a DecodeError; anything else fails the test. */
const decodesOrRefuses = <T>(decode: (x: Uint8Array) => T, bytes: Uint8Array): T | DecodeError => {
  try {
    return decode(bytes)
  } catch (err) {
    if (!(err instanceof DecodeError)) throw new Error(`not a DecodeError for ${Array.from(bytes).join(',')}: ${String(err)}`, { cause: err })
    return err
  }
}

describe('KV codec', () => {
  it('round-trips every command and result', () => {
    for (const c of commands) {
      const bytes = encodeKvCommand(c)
      expect(bytes[0]).toBe(KV_PROTOCOL_VERSION)
      expect(decodeKvCommand(bytes)).toEqual(c)
    }
    for (const r of results) {
      const bytes = encodeKvResult(r)
      expect(bytes[0]).toBe(KV_PROTOCOL_VERSION)
      expect(decodeKvResult(bytes)).toEqual(r)
    }
  })

  it('refuses bad arguments on encode', () => {
    const bad: unknown[] = [
      { type: 'get', key: 1 },
      { type: 'get', key: 'a\ud800' },
      { type: 'get', key: 'k'.repeat(MAX_KV_KEY_BYTES + 1) },
      { type: 'get', key: '€'.repeat(MAX_KV_KEY_BYTES / 3 + 1) },
      { type: 'put', key: 'k', value: 'v' },
      { type: 'put', key: 'k', value: null },
      { type: 'cas', key: 'k', expected: 'x', next: null },
      { type: 'range', start: 'a', end: null, limit: -1 },
      { type: 'range', start: 'a', end: null, limit: 1.5 },
      { type: 'range', start: 'a', end: '\udc00', limit: 0 },
      { type: 'scan', key: 'k' },
      null
    ]
    for (const c of bad) expect(() => encodeKvCommand(c as KvCommand), JSON.stringify(c)).toThrow(InvalidArgumentError)
    expect(() => encodeKvResult({ type: 'nope' } as unknown as KvResult)).toThrow(InvalidArgumentError)
    expect(() => encodeKvResult({ type: 'get', value: 'x' } as unknown as KvResult)).toThrow(InvalidArgumentError)
  })

  it('refuses a wrong version, an unknown tag, trailing bytes and non-canonical booleans', () => {
    const ok = encodeKvCommand({ type: 'delete', key: 'k' })
    expect(() => decodeKvCommand(Uint8Array.of(KV_PROTOCOL_VERSION + 1, ...ok.subarray(1)))).toThrow(/version/)
    expect(() => decodeKvCommand(Uint8Array.of(KV_PROTOCOL_VERSION, 99, 0))).toThrow(/unknown KV command tag 99/)
    expect(() => decodeKvResult(Uint8Array.of(KV_PROTOCOL_VERSION, 99))).toThrow(/unknown KV result tag 99/)
    expect(() => decodeKvCommand(Uint8Array.of(...ok, 0))).toThrow(/trailing/)
    expect(() => decodeKvResult(Uint8Array.of(KV_PROTOCOL_VERSION, 4, 2))).toThrow(/0 or 1/) // cas outcome
    expect(() => decodeKvCommand(new Uint8Array(0))).toThrow(DecodeError)
    expect(() => decodeKvCommand('bytes' as unknown as Uint8Array)).toThrow(DecodeError)
  })

  it('refuses every truncation of a valid encoding', () => {
    const cases: Array<[Uint8Array, (x: Uint8Array) => unknown]> = [
      ...commands.map((c): [Uint8Array, (x: Uint8Array) => unknown] => [encodeKvCommand(c), decodeKvCommand]),
      ...results.map((r): [Uint8Array, (x: Uint8Array) => unknown] => [encodeKvResult(r), decodeKvResult])
    ]
    for (const [bytes, decode] of cases) {
      for (let n = 0; n < bytes.length; n++) expect(() => decode(bytes.subarray(0, n))).toThrow(DecodeError)
    }
  })

  it('refuses absurd lengths and counts without allocating, over-long keys and bad UTF-8', () => {
    const e = encoding.createEncoder()
    encoding.writeUint8(e, KV_PROTOCOL_VERSION)
    encoding.writeUint8(e, 1) // range result
    encoding.writeVarUint(e, 2 ** 40)
    expect(() => decodeKvResult(encoding.toUint8Array(e))).toThrow(/declares/)

    const put = encoding.createEncoder()
    encoding.writeUint8(put, KV_PROTOCOL_VERSION)
    encoding.writeUint8(put, 2) // put
    encoding.writeVarString(put, 'k')
    encoding.writeVarUint(put, 0xffff_ffff) // value length
    encoding.writeUint8(put, 0)
    expect(() => decodeKvCommand(encoding.toUint8Array(put))).toThrow(/declares/)

    const long = encoding.createEncoder()
    encoding.writeUint8(long, KV_PROTOCOL_VERSION)
    encoding.writeUint8(long, 3) // delete
    encoding.writeVarString(long, 'k'.repeat(MAX_KV_KEY_BYTES + 1))
    expect(() => decodeKvCommand(encoding.toUint8Array(long))).toThrow(/longer than/)

    expect(() => decodeKvCommand(Uint8Array.of(KV_PROTOCOL_VERSION, 0, 2, 0xc3, 0x28))).toThrow(/UTF-8/)
    expect(() => decodeKvCommand(Uint8Array.of(KV_PROTOCOL_VERSION, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01))).toThrow(DecodeError)
  })

  it('fuzz: random bytes decode or throw DecodeError, never anything else', () => {
    runSeeds(20, (_seed, prng) => {
      for (let i = 0; i < 300; i++) {
        const len = prng.int(0, 40)
        const bytes = Uint8Array.from({ length: len }, () => prng.int(0, 255))
        // mostly well-versioned, with a plausible tag, so decoding gets past the first bytes
        if (len > 0 && prng.bool(0.8)) bytes[0] = KV_PROTOCOL_VERSION
        if (len > 1 && prng.bool(0.8)) bytes[1] = prng.int(0, 6)
        for (const decode of [decodeKvCommand, decodeKvResult]) {
          const r = decodesOrRefuses<KvCommand | KvResult>(decode, bytes)
          if (!(r instanceof DecodeError) && decode === decodeKvCommand) expect(decodeKvCommand(encodeKvCommand(r as KvCommand))).toEqual(r)
          if (!(r instanceof DecodeError) && decode === decodeKvResult) expect(decodeKvResult(encodeKvResult(r as KvResult))).toEqual(r)
        }
        const sm = new KvStateMachine()
        sm.apply(encodeKvCommand({ type: 'put', key: 'keep', value: b('me') }))
        const snap = sm.snapshot()
        expect(decodeKvResult(sm.apply(bytes)).type).toMatch(/^(put|delete|cas|error)$/)
        if (!(bytes.length > 1 && bytes[0] === KV_PROTOCOL_VERSION && bytes[1] >= 2 && bytes[1] <= 4)) expect(sm.snapshot()).toEqual(snap)
        const r = decodesOrRefuses((x) => { sm.restore(x); return sm }, bytes)
        if (r instanceof DecodeError) expect(sm.snapshot()).toEqual(snap)
      }
    }, { env: process.env })
  })

  it('fuzz: mutated valid encodings decode or throw DecodeError', () => {
    const sm = new KvStateMachine()
    for (const [i, c] of commands.entries()) if (c.type === 'put') sm.apply(encodeKvCommand({ ...c, key: `${i}` }))
    const seeds = [...commands.map(encodeKvCommand), ...results.map(encodeKvResult), sm.snapshot()]
    runSeeds(20, (_seed, prng) => {
      for (let i = 0; i < 300; i++) {
        const bytes = Array.from(prng.pick(seeds).subarray(0, 64))
        for (let m = prng.int(1, 3); m > 0; m--) {
          const at = prng.int(0, Math.max(0, bytes.length - 1))
          switch (prng.int(0, 3)) {
            case 0: bytes[at] = prng.int(0, 255); break
            case 1: bytes[at] ^= 1 << prng.int(0, 7); break
            case 2: bytes.splice(at, 1); break
            default: bytes.splice(at, 0, prng.int(0, 255))
          }
        }
        const mutated = Uint8Array.from(bytes)
        decodesOrRefuses(decodeKvCommand, mutated)
        decodesOrRefuses(decodeKvResult, mutated)
        const target = new KvStateMachine()
        decodesOrRefuses((x) => target.restore(x), mutated)
        expect(() => target.apply(mutated)).not.toThrow()
      }
    }, { env: process.env })
  })
})

describe('KvStateMachine', () => {
  it('puts, gets, deletes', () => {
    const sm = new KvStateMachine()
    expect(query(sm, { type: 'get', key: 'a' })).toEqual({ type: 'get', value: null })
    expect(apply(sm, { type: 'put', key: 'a', value: b('1') })).toEqual({ type: 'put' })
    expect(query(sm, { type: 'get', key: 'a' })).toEqual({ type: 'get', value: b('1') })
    expect(apply(sm, { type: 'put', key: 'a', value: b('2') })).toEqual({ type: 'put' })
    expect(query(sm, { type: 'get', key: 'a' })).toEqual({ type: 'get', value: b('2') })
    expect(sm.size).toBe(1)
    expect(apply(sm, { type: 'delete', key: 'a' })).toEqual({ type: 'delete', existed: true })
    expect(apply(sm, { type: 'delete', key: 'a' })).toEqual({ type: 'delete', existed: false })
    expect(query(sm, { type: 'get', key: 'a' })).toEqual({ type: 'get', value: null })
    expect(sm.size).toBe(0)
  })

  it('compare-and-swaps by content: absent, equal, different, and deleting', () => {
    const sm = new KvStateMachine()
    expect(apply(sm, { type: 'cas', key: 's', expected: b('x'), next: b('a') })).toEqual({ type: 'cas', ok: false })
    expect(apply(sm, { type: 'cas', key: 's', expected: null, next: b('a') })).toEqual({ type: 'cas', ok: true })
    expect(apply(sm, { type: 'cas', key: 's', expected: null, next: b('b') })).toEqual({ type: 'cas', ok: false })
    expect(apply(sm, { type: 'cas', key: 's', expected: b('b'), next: b('c') })).toEqual({ type: 'cas', ok: false })
    expect(apply(sm, { type: 'cas', key: 's', expected: b('a'), next: b('c') })).toEqual({ type: 'cas', ok: true }) // a fresh copy of the bytes
    expect(apply(sm, { type: 'cas', key: 's', expected: b('c'), next: null })).toEqual({ type: 'cas', ok: true })
    expect(query(sm, { type: 'get', key: 's' })).toEqual({ type: 'get', value: null })
    apply(sm, { type: 'put', key: 'e', value: new Uint8Array(0) })
    expect(apply(sm, { type: 'cas', key: 'e', expected: null, next: b('z') })).toEqual({ type: 'cas', ok: false }) // empty is not absent
    expect(apply(sm, { type: 'cas', key: 'e', expected: new Uint8Array(0), next: b('z') })).toEqual({ type: 'cas', ok: true })
  })

  it('scans ranges in key order, with an exclusive end and a limit', () => {
    const sm = new KvStateMachine()
    for (const k of ['b', 'a', 'c/2', 'c/1', 'd', '', 'é', '😀', '\uffff']) apply(sm, { type: 'put', key: k, value: b(k) })
    const keys = (start: string, end: string | null, limit = 0): string[] =>
      (query(sm, { type: 'range', start, end, limit }) as { entries: Array<{ key: string }> }).entries.map((e) => e.key)
    expect(keys('', null)).toEqual(['', 'a', 'b', 'c/1', 'c/2', 'd', 'é', '😀', '\uffff']) // UTF-16 code unit order
    expect(keys('b', 'd')).toEqual(['b', 'c/1', 'c/2'])
    expect(keys('c/', 'c0')).toEqual(['c/1', 'c/2'])
    expect(keys('a', null, 2)).toEqual(['a', 'b'])
    expect(keys('z', 'a')).toEqual([])
    expect(keys('bb', 'bc')).toEqual([])
    const r = query(sm, { type: 'range', start: 'c/1', end: 'c/2', limit: 0 })
    expect(r).toEqual({ type: 'range', entries: [{ key: 'c/1', value: b('c/1') }] })
  })

  it('refuses reads through apply and writes through query, and survives garbage in apply', () => {
    const sm = new KvStateMachine()
    apply(sm, { type: 'put', key: 'a', value: b('1') })
    const before = sm.snapshot()
    expect(apply(sm, { type: 'get', key: 'a' })).toMatchObject({ type: 'error', message: expect.stringContaining('read()') })
    expect(decodeKvResult(sm.apply(Uint8Array.of(7, 7, 7)))).toMatchObject({ type: 'error', message: expect.stringContaining('version') })
    expect(() => sm.query(encodeKvCommand({ type: 'put', key: 'a', value: b('2') }))).toThrow(InvalidArgumentError)
    expect(() => sm.query(Uint8Array.of(KV_PROTOCOL_VERSION))).toThrow(DecodeError)
    expect(sm.snapshot()).toEqual(before)
  })

  it('snapshots deterministically (key order) and restores', () => {
    const a = new KvStateMachine()
    const c = new KvStateMachine()
    const keys = Array.from({ length: 50 }, (_, i) => `k${(i * 37) % 50}`)
    for (const k of keys) apply(a, { type: 'put', key: k, value: b(k) })
    for (const k of [...keys].reverse()) apply(c, { type: 'put', key: k, value: b(k) })
    apply(c, { type: 'put', key: 'tmp', value: b('x') })
    apply(c, { type: 'delete', key: 'tmp' })
    expect(c.snapshot()).toEqual(a.snapshot())

    const restored = new KvStateMachine()
    apply(restored, { type: 'put', key: 'old', value: b('gone') })
    restored.restore(a.snapshot())
    expect(restored.snapshot()).toEqual(a.snapshot())
    expect(restored.size).toBe(50)
    expect(query(restored, { type: 'get', key: 'old' })).toEqual({ type: 'get', value: null })
    expect(query(restored, { type: 'range', start: 'k1', end: 'k2', limit: 3 })).toEqual({
      type: 'range', entries: ['k1', 'k10', 'k11'].map((key) => ({ key, value: b(key) }))
    })
    // and keeps working after a restore
    apply(restored, { type: 'put', key: 'k00', value: b('new') })
    expect(query(restored, { type: 'range', start: 'k0', end: 'k1', limit: 0 })).toMatchObject({ entries: [{ key: 'k0' }, { key: 'k00' }] })
  })

  it('refuses a bad snapshot and keeps its contents', () => {
    const sm = new KvStateMachine()
    apply(sm, { type: 'put', key: 'a', value: b('1') })
    const before = sm.snapshot()
    const snap = (keys: string[]): Uint8Array => {
      const e = encoding.createEncoder()
      encoding.writeUint8(e, KV_PROTOCOL_VERSION)
      encoding.writeVarUint(e, keys.length)
      for (const k of keys) { encoding.writeVarString(e, k); encoding.writeVarUint8Array(e, b('v')) }
      return encoding.toUint8Array(e)
    }
    expect(() => sm.restore(snap(['b', 'a']))).toThrow(/out of order/)
    expect(() => sm.restore(snap(['a', 'a']))).toThrow(/out of order/)
    expect(() => sm.restore(Uint8Array.of(KV_PROTOCOL_VERSION, 100))).toThrow(/declares/)
    expect(() => sm.restore(new Uint8Array(0))).toThrow(DecodeError)
    expect(sm.snapshot()).toEqual(before)
    sm.restore(snap([]))
    expect(sm.size).toBe(0)
  })

  it('agrees with the linearizability checker\'s KV model on random sequential runs', () => {
    runSeeds(30, (_seed, prng) => {
      const sm = new KvStateMachine()
      let model: KvState = kvModel.init()
      const keys = ['a', 'b', 'c', 'é', '']
      const values = ['1', '2', '']
      const v = (p: Prng): string | null => (p.bool(0.3) ? null : p.pick(values))
      for (let i = 0; i < 200; i++) {
        const key = prng.pick(keys)
        const [lo, hi] = [prng.pick(keys), prng.pick(keys)].sort()
        const input: KvInput = prng.pick<() => KvInput>([
          () => ({ op: 'get', key }),
          () => ({ op: 'put', key, value: prng.pick(values) }),
          () => ({ op: 'delete', key }),
          () => ({ op: 'cas', key, expected: v(prng), next: v(prng) }),
          () => ({ op: 'range', from: lo, to: prng.bool(0.3) ? null : hi, limit: prng.int(0, 3) })
        ])()
        const want = kvApply(model, input)
        model = want.state
        const toBytes = (s: string | null): Uint8Array | null => (s === null ? null : b(s))
        const got = input.op === 'get'
          ? query(sm, { type: 'get', key: input.key })
          : input.op === 'range'
            ? query(sm, { type: 'range', start: input.from, end: input.to, limit: input.limit ?? 0 })
            : input.op === 'put'
              ? apply(sm, { type: 'put', key: input.key, value: b(input.value) })
              : input.op === 'delete'
                ? apply(sm, { type: 'delete', key: input.key })
                : apply(sm, { type: 'cas', key: input.key, expected: toBytes(input.expected), next: toBytes(input.next) })
        const asModel = got.type === 'get'
          ? { op: 'get', value: str(got.value) }
          : got.type === 'range'
            ? { op: 'range', entries: got.entries.map((e) => [e.key, str(e.value)]) }
            : got.type === 'delete'
              ? { op: 'delete', existed: got.existed }
              : got.type === 'cas' ? { op: 'cas', ok: got.ok } : { op: got.type }
        expect(asModel).toEqual(want.output)
      }
    }, { env: process.env })
  })
})

describe('RaftKv', () => {
  it('fits RaftNode (type-level)', () => {
    const asProposer = (node: RaftNode): KvProposer => node
    const asStateMachine = (sm: KvStateMachine): StateMachine => sm
    expect(typeof asProposer).toBe('function')
    expect(typeof asStateMachine).toBe('function')
  })

  it('gets, puts, deletes, compare-and-swaps and scans through a node', async () => {
    const kv = new RaftKv(localNode())
    expect(await kv.get('seat')).toBeNull()
    expect(await kv.cas('seat', null, b('alice'))).toBe(true)
    expect(await kv.cas('seat', null, b('bob'))).toBe(false)
    expect(str(await kv.get('seat'))).toBe('alice')
    await kv.put('seat2', b('carol'))
    expect((await kv.range('seat', null)).map((e) => [e.key, str(e.value)])).toEqual([['seat', 'alice'], ['seat2', 'carol']])
    expect(await kv.range('seat', null, 1)).toHaveLength(1)
    expect(await kv.range('seat', 'seat2')).toHaveLength(1)
    expect(await kv.delete('seat')).toBe(true)
    expect(await kv.delete('seat')).toBe(false)
    expect(await kv.cas('seat2', b('carol'), null)).toBe(true)
    expect(await kv.range('', null)).toEqual([])
  })

  it('routes writes to propose and reads to read', async () => {
    const calls: string[] = []
    const node = localNode()
    const kv = new RaftKv({
      propose: async (c) => { calls.push('propose'); return node.propose(c) },
      read: async (q) => { calls.push('read'); return node.read(q) }
    })
    await kv.put('a', b('1'))
    await kv.get('a')
    await kv.cas('a', b('1'), b('2'))
    await kv.range('a', null)
    await kv.delete('a')
    expect(calls).toEqual(['propose', 'read', 'propose', 'read', 'propose'])
  })

  it('passes node errors through and types the others', async () => {
    const kv = new RaftKv({
      propose: async () => { throw new NotLeaderError('n2') },
      read: async () => encodeKvResult({ type: 'cas', ok: true })
    })
    await expect(kv.put('a', b('1'))).rejects.toBeInstanceOf(NotLeaderError)
    await expect(kv.get('a')).rejects.toThrow(/expected a get result, got a cas result/)
    const refusing = new RaftKv({
      propose: async () => encodeKvResult({ type: 'error', message: 'refused' }),
      read: async () => Uint8Array.of(1, 2, 3)
    })
    await expect(refusing.delete('a')).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(refusing.range('a', null)).rejects.toBeInstanceOf(DecodeError)
    await expect(kv.get('\ud800')).rejects.toBeInstanceOf(InvalidArgumentError)
  })
})

/**
 * A one-process stand-in for a Raft group on virtual time: each command
 * takes effect at one instant inside its call (so the group is
 * linearizable), answers arrive later, and a few answers are lost. With
 * `staleReads` reads are served by a replica that applies writes 20 time
 * units late, which is not linearizable.
 */
const simulate = async (prng: Prng, staleReads: boolean): Promise<HistoryRecorder<KvInput, KvOutput>> => {
  let now = 0
  const events: Array<{ at: number, seq: number, run: () => void }> = []
  let seq = 0
  const at = (t: number, run: () => void): void => { events.push({ at: t, seq: seq++, run }) }
  const leader = new KvStateMachine()
  const follower = new KvStateMachine()
  const respond = (res: (r: Uint8Array) => void, r: Uint8Array): void => {
    if (prng.bool(0.03)) return // the answer is lost: the client never hears back
    at(now + prng.int(0, 8), () => res(r))
  }
  const node: KvProposer = {
    propose: (cmd) => new Promise((res) => at(now + prng.int(0, 8), () => {
      respond(res, leader.apply(cmd))
      at(now + 20, () => follower.apply(cmd))
    })),
    read: (q) => new Promise((res) => at(now + prng.int(0, 8), () => respond(res, (staleReads ? follower : leader).query(q))))
  }
  const kv = new RaftKv(node)
  const history = new HistoryRecorder<KvInput, KvOutput>(() => now)
  const keys = ['a', 'b', 'c']
  const values = [b('x'), b('y'), new Uint8Array([0, 255])]
  const client = async (id: number): Promise<void> => {
    for (let i = 0; i < 30; i++) {
      const key = prng.pick(keys)
      const cmd: KvCommand = prng.pick<() => KvCommand>([
        () => ({ type: 'get', key }),
        () => ({ type: 'put', key, value: prng.pick(values) }),
        () => ({ type: 'delete', key }),
        () => ({ type: 'cas', key, expected: prng.bool(0.3) ? null : prng.pick(values), next: prng.pick(values) })
      ])()
      const op = history.invoke(id, kvInputOf(cmd))
      const run = async (): Promise<KvResult> => {
        switch (cmd.type) {
          case 'get': return { type: 'get', value: await kv.get(cmd.key) }
          case 'put': await kv.put(cmd.key, cmd.value); return { type: 'put' }
          case 'delete': return { type: 'delete', existed: await kv.delete(cmd.key) }
          case 'cas': return { type: 'cas', ok: await kv.cas(cmd.key, cmd.expected, cmd.next) }
          default: throw new Error('unreachable')
        }
      }
      const result = await run()
      op.ok(kvOutputOf(result))
      await new Promise<void>((res) => at(now + prng.int(0, 3), res))
    }
  }
  for (let id = 0; id < 5; id++) void client(id)
  const flush = (): Promise<void> => new Promise((res) => setImmediate(res))
  await flush()
  while (events.length > 0) {
    events.sort((x, y) => x.at - y.at || x.seq - y.seq)
    const e = events.shift()!
    now = e.at
    e.run()
    await flush()
  }
  return history
}

describe('RaftKv histories', () => {
  it('are linearizable over a node that applies each command atomically', async () => {
    await runSeeds(10, async (_seed, prng) => {
      const history = await simulate(prng, false)
      expect(history.operations.length).toBeGreaterThan(20)
      expect(checkLinearizable(history.operations, kvModel)).toEqual({ ok: true })
    }, { env: process.env })
  })

  it('are caught when reads come from a lagging replica', async () => {
    // a stale read is not visible in every run; it is in most
    const outcomes: Array<boolean | 'unknown'> = []
    for (let seed = 1; seed <= 10; seed++) outcomes.push(checkLinearizable((await simulate(new Prng(seed), true)).operations, kvModel).ok)
    expect(outcomes).not.toContain('unknown')
    expect(outcomes.filter((ok) => ok === false).length).toBeGreaterThanOrEqual(8)
  })

  it('HistoryRecorder keeps pending operations, drops failed ones, refuses double completion', () => {
    let now = 0
    const h = new HistoryRecorder<string, number>(() => now)
    const a = h.invoke(1, 'a')
    now = 5
    const b2 = h.invoke(2, 'b')
    h.invoke(3, 'c')
    now = 9
    a.ok(1)
    b2.fail()
    expect(h.operations).toEqual([
      { clientId: 1, input: 'a', output: 1, call: 0, return: 9 },
      { clientId: 3, input: 'c', output: undefined, call: 5, return: Infinity }
    ])
    expect(() => a.ok(2)).toThrow(/twice/)
  })

  it('kvInputOf / kvOutputOf map commands and results to the model, values in hex', () => {
    expect(kvInputOf({ type: 'cas', key: 'k', expected: null, next: Uint8Array.of(0, 255) })).toEqual({ op: 'cas', key: 'k', expected: null, next: '00ff' })
    expect(kvInputOf({ type: 'range', start: 'a', end: null, limit: 2 })).toEqual({ op: 'range', from: 'a', to: null, limit: 2 })
    expect(kvOutputOf({ type: 'range', entries: [{ key: 'a', value: Uint8Array.of(1) }] })).toEqual({ op: 'range', entries: [['a', '01']] })
    expect(kvOutputOf({ type: 'get', value: null })).toEqual({ op: 'get', value: null })
    expect(() => kvOutputOf({ type: 'error', message: 'refused' })).toThrow(TypeError)
  })
})
