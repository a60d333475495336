/**
 * Node (replica) ids: strings of at most {@link MAX_NODE_ID_BYTES} UTF-8
 * bytes, well-formed UTF-16 (a lone surrogate would not survive the UTF-8
 * wire format, so two replicas would disagree on the id).
 *
 * @module
 */
import { DecodeError, InvalidArgumentError } from '../errors.js'
import { type Decoder, readString } from '../codec/reader.js'

/** The longest node id, in UTF-8 bytes. */
export const MAX_NODE_ID_BYTES = 64

/** UTF-8 length of `s`, or -1 if `s` holds a lone surrogate. */
export const utf8Length = (s: string): number => {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff) {
      const lo = s.charCodeAt(i + 1)
      if (!(lo >= 0xdc00 && lo <= 0xdfff)) return -1
      n += 4
      i++
    } else if (c >= 0xdc00 && c <= 0xdfff) return -1
    else n += 3
  }
  return n
}

/** Whether `s` has no lone surrogates (so it survives a UTF-8 round trip). */
export const isWellFormed = (s: string): boolean => utf8Length(s) >= 0

/** Throws {@link InvalidArgumentError} unless `id` is a valid node id; returns it. */
export const assertNodeId = (id: unknown, what = 'node id'): string => {
  if (typeof id !== 'string') throw new InvalidArgumentError(`${what} must be a string, got ${typeof id}`)
  const len = utf8Length(id)
  if (len < 0) throw new InvalidArgumentError(`${what} is not well-formed UTF-16 (lone surrogate)`)
  if (len > MAX_NODE_ID_BYTES) throw new InvalidArgumentError(`${what} is ${len} UTF-8 bytes long; the limit is ${MAX_NODE_ID_BYTES}`)
  return id
}

/** Reads a node id written with `writeVarString`; {@link DecodeError} if too long. */
export const readNodeId = (d: Decoder, what = 'node id'): string => {
  const id = readString(d, what)
  if (id.length > MAX_NODE_ID_BYTES / 4 && utf8Length(id) > MAX_NODE_ID_BYTES) {
    throw new DecodeError(`${what} is longer than ${MAX_NODE_ID_BYTES} bytes`)
  }
  return id
}

/** Deterministic string order (UTF-16 code units), the same in every runtime. */
export const compareStrings = (a: string, b: string): number => a < b ? -1 : a > b ? 1 : 0
