/**
 * Bounds-checked reads on top of `lib0/decoding`. lib0 trusts its input
 * (a truncated byte array yields a short view, not an error); these helpers
 * throw {@link DecodeError} instead, and refuse declared lengths and counts
 * that the remaining bytes cannot hold, so a hostile length never allocates.
 *
 * @module
 */
import * as decoding from 'lib0/decoding'
import { DecodeError } from '../errors.js'

export type Decoder = decoding.Decoder

export const createDecoder = (bytes: Uint8Array): Decoder => decoding.createDecoder(bytes)

export const remaining = (d: Decoder): number => d.arr.length - d.pos

export const readUint8 = (d: Decoder, what: string): number => {
  if (d.pos >= d.arr.length) throw new DecodeError(`truncated input: expected ${what} at byte ${d.pos}`)
  return d.arr[d.pos++]
}

export const readVarUint = (d: Decoder, what: string): number => {
  try {
    return decoding.readVarUint(d)
  } catch (err) {
    throw new DecodeError(`bad varint for ${what} at byte ${d.pos}`, { cause: err })
  }
}

export const readVarInt = (d: Decoder, what: string): number => {
  if (d.pos >= d.arr.length) throw new DecodeError(`truncated input: expected ${what} at byte ${d.pos}`)
  try {
    return decoding.readVarInt(d)
  } catch (err) {
    throw new DecodeError(`bad varint for ${what} at byte ${d.pos}`, { cause: err })
  }
}

/** A count of items that each take at least `minBytes` bytes: refused if the input cannot hold them. */
export const readCount = (d: Decoder, what: string, minBytes = 1): number => {
  const n = readVarUint(d, what)
  if (n * minBytes > remaining(d)) {
    throw new DecodeError(`${what} declares ${n} items but only ${remaining(d)} bytes remain`)
  }
  return n
}

export const readBytes = (d: Decoder, what: string): Uint8Array => {
  const len = readVarUint(d, `${what} length`)
  if (len > remaining(d)) {
    throw new DecodeError(`${what} declares ${len} bytes but only ${remaining(d)} remain`)
  }
  // copy: the caller may keep it after the input buffer is reused
  return d.arr.slice(d.pos, (d.pos += len))
}

const utf8 = /* @__PURE__ */ (() => new TextDecoder('utf-8', { fatal: true }))()

export const readString = (d: Decoder, what: string): string => {
  const len = readVarUint(d, `${what} length`)
  if (len > remaining(d)) {
    throw new DecodeError(`${what} declares ${len} bytes but only ${remaining(d)} remain`)
  }
  const arr = d.arr
  const start = d.pos
  d.pos += len
  if (len <= 24) {
    // short ASCII strings (keys, ids) are much faster by hand than through TextDecoder
    let s = ''
    let i = start
    for (; i < start + len; i++) {
      const b = arr[i]
      if (b >= 0x80) break
      s += String.fromCharCode(b)
    }
    if (i === start + len) return s
  }
  try {
    return utf8.decode(arr.subarray(start, start + len))
  } catch (err) {
    throw new DecodeError(`${what} is not valid UTF-8`, { cause: err })
  }
}

export const readFloat64 = (d: Decoder, what: string): number => {
  if (remaining(d) < 8) throw new DecodeError(`truncated input: expected ${what} (8 bytes) at byte ${d.pos}`)
  return decoding.readFloat64(d)
}

export const expectEnd = (d: Decoder, what: string): void => {
  if (d.pos !== d.arr.length) {
    throw new DecodeError(`${remaining(d)} unexpected trailing bytes after ${what}`)
  }
}

/** Runs a whole decode; any non-DecodeError thrown inside becomes one. */
export const decodeWith = <T>(what: string, bytes: Uint8Array, f: (d: Decoder) => T): T => {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError(`${what}: expected a Uint8Array, got ${typeof bytes}`)
  const d = createDecoder(bytes)
  try {
    const result = f(d)
    expectEnd(d, what)
    return result
  } catch (err) {
    if (err instanceof DecodeError) {
      if (!err.message.startsWith(what)) err.message = `${what}: ${err.message}`
      throw err
    }
    throw new DecodeError(`${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
  }
}
