/**
 * Column encodings shared by the container modules: dot runs, HLC
 * timestamp runs, front-coded keys, LWW value entries, and their checked
 * readers. Part of update format 1 (and 2, which frames the same sections).
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError } from '../../errors.js'
import { type Decoder, readCount, readString, readVarInt, readVarUint } from '../../codec/reader.js'
import { writeString } from '../../codec/writer.js'
import type { ValueEntry } from '../containers.js'

/** Maps a local replica index to its index in the update's replica table. */
export type WireIndex = (r: number) => number

/** Dots as runs of consecutive seqs of one replica: (replica, start - prevEnd, length). */
export const writeDotRuns = (e: encoding.Encoder, n: number, rOf: (i: number) => number, sOf: (i: number) => number, w: WireIndex): void => {
  const runs: number[] = []
  let i = 0
  while (i < n) {
    const r = rOf(i)
    const s0 = sOf(i)
    let len = 1
    while (i + len < n && rOf(i + len) === r && sOf(i + len) === s0 + len) len++
    runs.push(w(r), s0, len)
    i += len
  }
  encoding.writeVarUint(e, runs.length / 3)
  let prev = 0
  for (let k = 0; k < runs.length; k += 3) {
    encoding.writeVarUint(e, runs[k])
    encoding.writeVarInt(e, runs[k + 1] - prev)
    encoding.writeVarUint(e, runs[k + 2] - 1)
    prev = runs[k + 1] + runs[k + 2] - 1
  }
}

/**
 * Timestamps as runs `(start − previous end, (length − 1) · 2 + step)`: a run
 * either repeats one timestamp (step 0, one transaction) or counts up by one
 * per entry (step 1, the HLC's logical counter across back-to-back
 * transactions), so both cases cost a few bytes per run, not per entry.
 */
export const writeTimeRuns = (e: encoding.Encoder, entries: ValueEntry[]): void => {
  const runs: number[] = []
  let i = 0
  while (i < entries.length) {
    const t = entries[i].t
    const step = i + 1 < entries.length && entries[i + 1].t === t + 1 ? 1 : 0
    let len = 1
    while (i + len < entries.length && entries[i + len].t === t + step * len) len++
    runs.push(t, len, step)
    i += len
  }
  encoding.writeVarUint(e, runs.length / 3)
  let prev = 0
  for (let k = 0; k < runs.length; k += 3) {
    encoding.writeVarInt(e, runs[k] - prev)
    encoding.writeVarUint(e, (runs[k + 1] - 1) * 2 + runs[k + 2])
    prev = runs[k] + runs[k + 2] * (runs[k + 1] - 1)
  }
}

/** Length of the common prefix of two keys (≤ 255, never splitting a surrogate pair). */
export const commonPrefix = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length, 255)
  let i = 0
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++
  // never split a surrogate pair
  if (i > 0 && i < b.length) {
    const c = b.charCodeAt(i - 1)
    if (c >= 0xd800 && c <= 0xdbff) i--
  }
  return i
}

/** Keys front-coded: (length of the prefix shared with the previous key, rest). */
export const writeKeys = (e: encoding.Encoder, keys: string[]): void => {
  let prev = ''
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]
    const p = commonPrefix(prev, k)
    encoding.writeVarUint(e, p)
    writeString(e, p === 0 ? k : k.slice(p))
    prev = k
  }
}

/** LWW entries: count, dot runs, time runs (values are written by the caller, after). */
export const writeValueEntries = (e: encoding.Encoder, entries: ValueEntry[], w: WireIndex): void => {
  encoding.writeVarUint(e, entries.length)
  if (entries.length === 0) return
  writeDotRuns(e, entries.length, i => entries[i].r, i => entries[i].s, w)
  writeTimeRuns(e, entries)
}


/** A sequence number (≥ 1). */
export const readSeq = (d: Decoder, what: string): number => {
  const s = readVarUint(d, what)
  if (s < 1) throw new DecodeError(`${what} must be ≥ 1`)
  return s
}

/** A wire replica index, checked against the table size `n`. */
export const readReplica = (d: Decoder, n: number, what: string): number => {
  const r = readVarUint(d, what)
  if (r >= n) throw new DecodeError(`${what} ${r} is not in the replica table (${n} entries)`)
  return r
}

/** Shared empty array for absent parts (decoded updates are never mutated). */
export const NONE: never[] = []

/** Reads what `writeDotRuns` wrote into `rs` / `ss` (exactly `n` dots). */
export const readDotRuns = (d: Decoder, n: number, nReplicas: number, rs: number[], ss: number[]): void => {
  const runs = readCount(d, 'dot runs', 3)
  let filled = 0
  let prev = 0
  for (let k = 0; k < runs; k++) {
    const r = readReplica(d, nReplicas, 'dot replica')
    const s0 = prev + readVarInt(d, 'dot seq')
    const len = readVarUint(d, 'dot run length') + 1
    if (s0 < 1 || s0 + len - 1 > Number.MAX_SAFE_INTEGER) throw new DecodeError('dot sequence number out of range')
    if (filled + len > n) throw new DecodeError(`dot runs cover more than the ${n} elements declared`)
    for (let i = 0; i < len; i++) { rs[filled] = r; ss[filled++] = s0 + i }
    prev = s0 + len - 1
  }
  if (filled !== n) throw new DecodeError(`dot runs cover ${filled} of ${n} elements`)
}

/** Reused dot columns for small tables: decoding is synchronous, and most updates hold a few elements. */
export const SCRATCH_SIZE = 64
export const scratchR: number[] = /* @__PURE__ */ (() => new Array<number>(SCRATCH_SIZE).fill(0))()
export const scratchS: number[] = /* @__PURE__ */ (() => new Array<number>(SCRATCH_SIZE).fill(0))()

/** Reads what `writeValueEntries` wrote (values left null for the caller). */
export const readValueEntries = (d: Decoder, nReplicas: number): ValueEntry[] => {
  const n = readCount(d, 'entries', 2)
  if (n === 0) return NONE
  const rs: number[] = n <= SCRATCH_SIZE ? scratchR : new Array(n)
  const ss: number[] = n <= SCRATCH_SIZE ? scratchS : new Array(n)
  readDotRuns(d, n, nReplicas, rs, ss)
  const out: ValueEntry[] = new Array(n)
  const runs = readCount(d, 'time runs', 2)
  let filled = 0
  let t = 0
  for (let k = 0; k < runs; k++) {
    t += readVarInt(d, 'timestamp')
    const x = readVarUint(d, 'time run length')
    const step = x % 2
    const len = (x - step) / 2 + 1
    if (filled + len > n) throw new DecodeError(`time runs cover more than the ${n} entries declared`)
    if (t < 0 || t + step * (len - 1) > Number.MAX_SAFE_INTEGER) throw new DecodeError('timestamp out of range')
    for (let i = 0; i < len; i++, filled++) out[filled] = { r: rs[filled], s: ss[filled], t: t + step * i, v: null }
    t += step * (len - 1)
  }
  if (filled !== n) throw new DecodeError(`time runs cover ${filled} of ${n} entries`)
  return out
}

/** Reads `n` keys written by `writeKeys`. */
export const readKeys = (d: Decoder, n: number): string[] => {
  const keys: string[] = new Array(n)
  let prev = ''
  for (let i = 0; i < n; i++) {
    const p = readVarUint(d, 'key prefix')
    if (p > prev.length) throw new DecodeError(`key prefix ${p} longer than the previous key`)
    const k = p === 0 ? readString(d, 'key') : prev.slice(0, p) + readString(d, 'key')
    keys[i] = prev = k
  }
  return keys
}

/** A varuint no larger than `Number.MAX_SAFE_INTEGER`. */
export const readSafeUint = (d: Decoder, what: string): number => {
  const n = readVarUint(d, what)
  if (n > Number.MAX_SAFE_INTEGER) throw new DecodeError(`${what} out of range`)
  return n
}

