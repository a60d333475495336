/**
 * The wire form of sequence runs and id ranges inside the Doc's updates
 * (lib0 encoding). Compact: one flag byte per run says which fields follow;
 * a run continuing the previous one of its replica costs 1–2 bytes; ids are
 * deltas, origins relative to the run; text content is one UTF-8 string per
 * call, list content one value per element after the runs.
 *
 * Decoding validates everything into plain objects (bounds, counts, content
 * lengths, surrogate pairs) and throws {@link DecodeError} otherwise.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { type JsonValue, readValue, writeValue } from '../codec/value.js'
import { type Decoder, readCount, readString, readUint8, readVarInt, readVarUint, remaining } from '../codec/reader.js'
import { DecodeError } from '../errors.js'
import { isHigh, isLow } from './content.js'
import type { IdRanges, SeqId, SeqRun } from './sequence-api.js'

const SAME_R = 1
const NEXT_S = 2
/** Bits 2–3: how the left origin is written; bits 4–5: the right origin. */
const LEFT_SHIFT = 2
const RIGHT_SHIFT = 4
const DELETED = 64
const LEN_ONE = 128

/** Origin modes (2 bits). */
const O_OTHER = 0 // another replica: wire index, sequence number
const O_NULL = 1 // the start (left) or the end (right)
const O_IMPLIED = 2 // left: the element before the run; right: the previous run's right origin
const O_SAME = 3 // the run's replica: sequence number relative to the run's start

const C_NONE = 0
const C_TEXT = 1
const C_LIST = 2

const MAX = Number.MAX_SAFE_INTEGER

/** Writes runs; `toWire` maps a local replica index to the update's replica table index. */
export const writeSeqRuns = (e: encoding.Encoder, runs: SeqRun[], toWire: (r: number) => number): void => {
  encoding.writeVarUint(e, runs.length)
  let kind = C_NONE
  for (const run of runs) {
    if (run.content !== null) { kind = typeof run.content === 'string' ? C_TEXT : C_LIST; break }
  }
  encoding.writeUint8(e, kind)
  const lastEnd = new Map<number, number>()
  let prevR = -1
  let prevRight: SeqId | null | undefined
  const texts: string[] = []
  for (const run of runs) {
    const r = toWire(run.r)
    const { s, len, left, right } = run
    const end = lastEnd.get(r)
    let info = 0
    if (r === prevR) info |= SAME_R
    if (end === s) info |= NEXT_S
    const lm = left === null ? O_NULL : left.r !== run.r ? O_OTHER : left.s === s - 1 ? O_IMPLIED : O_SAME
    const rm = right === null
      ? O_NULL
      : prevRight != null && prevRight.r === right.r && prevRight.s === right.s ? O_IMPLIED : right.r === run.r ? O_SAME : O_OTHER
    info |= (lm << LEFT_SHIFT) | (rm << RIGHT_SHIFT)
    if (run.content === null) info |= DELETED
    if (len === 1) info |= LEN_ONE
    encoding.writeUint8(e, info)
    if ((info & SAME_R) === 0) encoding.writeVarUint(e, r)
    if ((info & NEXT_S) === 0) encoding.writeVarInt(e, s - (end ?? 0))
    if ((info & LEN_ONE) === 0) encoding.writeVarUint(e, len)
    writeOrigin(e, lm, left, s, toWire)
    writeOrigin(e, rm, right, s, toWire)
    prevR = r
    prevRight = right
    lastEnd.set(r, s + len)
    if (run.content !== null) {
      if (kind === C_TEXT) texts.push(run.content as string)
      else for (const v of run.content as JsonValue[]) writeValue(e, v)
    }
  }
  if (kind === C_TEXT) encoding.writeVarString(e, texts.join(''))
}

const writeOrigin = (e: encoding.Encoder, mode: number, o: SeqId | null, s: number, toWire: (r: number) => number): void => {
  if (mode === O_SAME) encoding.writeVarInt(e, s - o!.s)
  else if (mode === O_OTHER) {
    encoding.writeVarUint(e, toWire(o!.r))
    encoding.writeVarUint(e, o!.s)
  }
}

const readId = (d: Decoder, nReplicas: number, what: string): number => {
  const r = readVarUint(d, what)
  if (r >= nReplicas) throw new DecodeError(`${what} ${r} is past the replica table (${nReplicas})`)
  return r
}

const readSeq = (n: number, what: string): number => {
  if (!Number.isSafeInteger(n) || n < 0) throw new DecodeError(`${what} ${n} is out of range`)
  return n
}

const readOrigin = (d: Decoder, mode: number, nReplicas: number, r: number, s: number, len: number, what: string): SeqId => {
  let o: SeqId
  if (mode === O_SAME) o = { r, s: readSeq(s - readVarInt(d, `${what} seq`), `${what} seq`) }
  else o = { r: readId(d, nReplicas, `${what} replica`), s: readSeq(readVarUint(d, `${what} seq`), `${what} seq`) }
  if (o.r === r && o.s >= s && o.s < s + len) throw new DecodeError(`${what} points inside its own run`)
  return o
}

/** Reads runs written by {@link writeSeqRuns}; replica indices stay the update's table indices. */
export const readSeqRuns = (d: Decoder, nReplicas: number): SeqRun[] => {
  const n = readCount(d, 'seq run count', 1)
  const kind = readUint8(d, 'seq content kind')
  if (kind > C_LIST || (n === 0 && kind !== C_NONE)) throw new DecodeError(`bad seq content kind ${kind}`)
  const runs: SeqRun[] = []
  const lastEnd = new Map<number, number>()
  let prevR = -1
  let prevRight: SeqId | null = null
  let visible = 0
  for (let i = 0; i < n; i++) {
    const info = readUint8(d, 'seq run flags')
    let r: number
    if ((info & SAME_R) !== 0) {
      if (prevR < 0) throw new DecodeError('first seq run cannot repeat a replica')
      r = prevR
    } else r = readId(d, nReplicas, 'seq run replica')
    const end = lastEnd.get(r)
    let s: number
    if ((info & NEXT_S) !== 0) {
      if (end === undefined) throw new DecodeError('seq run continues a replica with no earlier run')
      s = end
    } else s = readSeq((end ?? 0) + readVarInt(d, 'seq run start'), 'seq run start')
    const len = (info & LEN_ONE) !== 0 ? 1 : readVarUint(d, 'seq run length')
    if (len < 1 || s + len > MAX) throw new DecodeError(`bad seq run length ${len}`)
    const lm = (info >> LEFT_SHIFT) & 3
    let left: SeqId | null
    if (lm === O_NULL) left = null
    else if (lm === O_IMPLIED) {
      if (s === 0) throw new DecodeError('seq run at 0 cannot continue a previous element')
      left = { r, s: s - 1 }
    } else left = readOrigin(d, lm, nReplicas, r, s, len, 'left origin')
    const rm = (info >> RIGHT_SHIFT) & 3
    let right: SeqId | null
    if (rm === O_NULL) right = null
    else if (rm === O_IMPLIED) {
      if (prevRight === null) throw new DecodeError('seq run repeats a missing right origin')
      right = { r: prevRight.r, s: prevRight.s }
      if (right.r === r && right.s >= s && right.s < s + len) throw new DecodeError('right origin points inside its own run')
    } else right = readOrigin(d, rm, nReplicas, r, s, len, 'right origin')
    const deleted = (info & DELETED) !== 0
    if (!deleted && kind === C_NONE) throw new DecodeError('live seq run without content')
    const run: SeqRun = { r, s, len, left, right, content: null }
    if (!deleted) {
      if (kind === C_LIST) {
        if (len > remaining(d)) throw new DecodeError(`seq run declares ${len} values but only ${remaining(d)} bytes remain`)
        const values: JsonValue[] = []
        for (let k = 0; k < len; k++) values.push(readValue(d))
        run.content = values
      } else {
        visible += len
        run.content = ''
      }
    }
    runs.push(run)
    prevR = r
    prevRight = right
    lastEnd.set(r, s + len)
  }
  if (kind === C_TEXT) {
    const text = readString(d, 'seq text')
    if (text.length !== visible) throw new DecodeError(`seq text has ${text.length} code units, runs need ${visible}`)
    let at = 0
    for (const run of runs) {
      if (run.content === null) continue
      const c = text.slice(at, at + run.len)
      if (isLow(c.charCodeAt(0)) || isHigh(c.charCodeAt(c.length - 1))) throw new DecodeError('seq run splits a surrogate pair')
      run.content = c
      at += run.len
    }
  }
  return runs
}

/** Writes id ranges (sorted, disjoint pairs per replica) with `toWire` replica indices. */
export const writeIdRanges = (e: encoding.Encoder, ranges: IdRanges, toWire: (r: number) => number): void => {
  const rs: number[] = []
  for (let r = 0; r < ranges.length; r++) if (ranges[r] !== undefined && ranges[r]!.length > 0) rs.push(r)
  encoding.writeVarUint(e, rs.length)
  for (const r of rs) {
    const arr = ranges[r]!
    encoding.writeVarUint(e, toWire(r))
    encoding.writeVarUint(e, arr.length >> 1)
    let prev = 0
    for (let i = 0; i < arr.length; i += 2) {
      encoding.writeVarUint(e, arr[i] - prev)
      encoding.writeVarUint(e, arr[i + 1] - arr[i])
      prev = arr[i + 1] + 1
    }
  }
}

/** Reads id ranges written by {@link writeIdRanges}. */
export const readIdRanges = (d: Decoder, nReplicas: number): IdRanges => {
  const out: IdRanges = []
  const n = readCount(d, 'id range replica count', 2)
  for (let i = 0; i < n; i++) {
    const r = readId(d, nReplicas, 'id range replica')
    if (out[r] !== undefined) throw new DecodeError(`id ranges repeat replica ${r}`)
    const pairs = readCount(d, 'id range count', 2)
    const arr: number[] = []
    let prev = 0
    for (let k = 0; k < pairs; k++) {
      const a = readSeq(prev + readVarUint(d, 'id range start'), 'id range start')
      const b = readSeq(a + readVarUint(d, 'id range length'), 'id range end')
      arr.push(a, b)
      prev = b + 1
    }
    out[r] = arr
  }
  return out
}
