import fc from 'fast-check'
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import { createDecoder, decodeWith } from '../../../src/codec/reader.js'
import { DecodeError } from '../../../src/errors.js'
import { decodeRelativePosition, encodeRelativePosition, readIdRanges, readSeqRuns, type SeqPosition, writeIdRanges, writeSeqRuns } from '../../../src/seq/index.js'
import { Replica, syncAll } from './harness.js'

const RUNS = Number(process.env.SEQ_FUZZ_RUNS ?? 200)

/** Three replicas with some concurrent history; returns replica 0's full state. */
const history = (kind: 'text' | 'list', ops: Array<[number, number, string, boolean]>): Replica => {
  const rs = ['p', 'q', 'r'].map(id => new Replica(id, kind))
  for (const [who, at, str, del] of ops) {
    const r = rs[who % 3]
    const len = r.core.length
    const cur = kind === 'text' ? r.core.toString() : ''
    // keep text indices off the middle of a surrogate pair
    const snap = (i: number): number => kind === 'text' && i > 0 && i < len && /[\uDC00-\uDFFF]/.test(cur[i]) ? i - 1 : i
    if (del && len > 0) {
      const a = snap(at % len)
      const b = snap(Math.min(len, a + str.length))
      if (b > a) r.delete(a, b - a)
    } else r.insert(snap(at % (len + 1)), kind === 'text' ? str : [...str].map((c, i) => i % 2 === 0 ? c : [i, { c }, null, 1.5]))
    if (at % 4 === 0) syncAll(rs)
  }
  syncAll(rs)
  return rs[0]
}

const encodeState = (r: Replica): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, r.table.length)
  writeSeqRuns(e, r.core.runsSince(() => false), x => x)
  writeIdRanges(e, r.core.deleteSet(), x => x)
  return encoding.toUint8Array(e)
}

const decodeState = (bytes: Uint8Array): unknown => decodeWith('state', bytes, d => {
  const n = Number(d.arr[d.pos++] ?? 0)
  return { runs: readSeqRuns(d, n), dels: readIdRanges(d, n) }
})

const opsArb = fc.array(fc.tuple(fc.nat(2), fc.nat(), fc.string({ minLength: 1, maxLength: 4, unit: fc.constantFrom('a', 'b', 'é', '😀') }), fc.boolean()), { maxLength: 40 })

const decodesOrRefuses = (bytes: Uint8Array, f: (b: Uint8Array) => unknown): void => {
  try { f(bytes) } catch (err) {
    if (!(err instanceof DecodeError)) throw err
  }
}

describe('seq run codec', () => {
  for (const kind of ['text', 'list'] as const) {
    it(`${kind}: a full state round-trips and rebuilds the same sequence`, () => {
      fc.assert(fc.property(opsArb, ops => {
        const a = history(kind, ops)
        const bytes = encodeState(a)
        const d = createDecoder(bytes)
        const n = Number(d.arr[d.pos++])
        const runs = readSeqRuns(d, n)
        const dels = readIdRanges(d, n)
        expect(runs).toEqual(a.core.runsSince(() => false))
        expect(dels).toEqual(a.core.deleteSet())
        const b = new Replica('p', kind, a.table.slice(1))
        for (const run of runs) b.core.integrate(run)
        b.core.applyDeletes(dels)
        expect(b.text()).toEqual(a.text())
      }), { numRuns: Math.ceil(RUNS / 4) })
    })

    it(`${kind}: random and mutated bytes throw DecodeError only`, () => {
      fc.assert(fc.property(opsArb, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), fc.nat(), (ops, flips, cut) => {
        const bytes = encodeState(history(kind, ops))
        const m = bytes.slice()
        for (const [i, v] of flips) m[i % m.length] = v
        decodesOrRefuses(m, decodeState)
        decodesOrRefuses(bytes.slice(0, cut % (bytes.length + 1)), decodeState)
      }), { numRuns: RUNS })
      fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), bytes => decodesOrRefuses(bytes, decodeState)), { numRuns: RUNS * 5 })
    })
  }

  it('refuses a text run that splits a surrogate pair and content of the wrong length', () => {
    const e = encoding.createEncoder()
    writeSeqRuns(e, [{ r: 0, s: 0, len: 1, left: null, right: null, content: '\ud83d' }, { r: 0, s: 1, len: 1, left: { r: 0, s: 0 }, right: { r: 0, s: 5 }, content: '\ude00' }], x => x)
    expect(() => readSeqRuns(createDecoder(encoding.toUint8Array(e)), 1)).toThrow(DecodeError)
    const f = encoding.createEncoder()
    writeSeqRuns(f, [{ r: 0, s: 0, len: 2, left: null, right: null, content: 'abc' }], x => x)
    expect(() => readSeqRuns(createDecoder(encoding.toUint8Array(f)), 1)).toThrow(/code units/)
  })
})

describe('relative position codec', () => {
  const ids = ['alice', 'bob', 'ünïcødé']
  it('round-trips through replica id strings (other local indices on the other side)', () => {
    const other = ['bob', 'ünïcødé', 'alice']
    const positions: SeqPosition[] = [{ kind: 'start' }, { kind: 'end' }, { kind: 'id', r: 0, s: 0, assoc: 'before' }, { kind: 'id', r: 2, s: 2 ** 40, assoc: 'after' }]
    for (const pos of positions) {
      const bytes = encodeRelativePosition(pos, r => ids[r])
      const back = decodeRelativePosition(bytes, id => other.indexOf(id))
      if (pos.kind === 'id') expect(back).toEqual({ ...pos, r: other.indexOf(ids[pos.r]) })
      else expect(back).toEqual(pos)
    }
    expect(encodeRelativePosition({ kind: 'id', r: 1, s: 7, assoc: 'before' }, r => ids[r]).length).toBe(7)
  })

  it('random and mutated bytes throw DecodeError only', () => {
    const good = encodeRelativePosition({ kind: 'id', r: 2, s: 300, assoc: 'after' }, r => ids[r])
    fc.assert(fc.property(fc.uint8Array({ maxLength: 24 }), fc.nat(), fc.nat(255), (bytes, i, v) => {
      decodesOrRefuses(bytes, b => decodeRelativePosition(b, () => 0))
      const m = good.slice()
      m[i % m.length] = v
      decodesOrRefuses(m, b => decodeRelativePosition(b, () => 0))
    }), { numRuns: RUNS * 5 })
  })
})
