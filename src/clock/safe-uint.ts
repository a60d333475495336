/**
 * Checks for the non-negative safe integers that counters, sequence numbers
 * and timestamps are made of.
 *
 * @module
 */
import { DecodeError, InvalidArgumentError } from '../errors.js'
import { type Decoder, readVarUint } from '../codec/reader.js'

/** Throws {@link InvalidArgumentError} unless `n` is a safe integer ≥ `min`; returns it. */
export const assertUint = (n: unknown, what: string, min = 0): number => {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min) {
    throw new InvalidArgumentError(`${what} must be a safe integer ≥ ${min}, got ${String(n)}`)
  }
  return n
}

/** `a + b`, refused with {@link InvalidArgumentError} past `Number.MAX_SAFE_INTEGER`. */
export const addSafe = (a: number, b: number, what: string): number => {
  const s = a + b
  if (s > Number.MAX_SAFE_INTEGER) throw new InvalidArgumentError(`${what} would exceed Number.MAX_SAFE_INTEGER`)
  return s
}

/** Reads a varint that must be a safe integer ≥ `min` ({@link DecodeError} otherwise). */
export const readSafeUint = (d: Decoder, what: string, min = 0): number => {
  const n = readVarUint(d, what)
  if (!Number.isSafeInteger(n) || n < min) throw new DecodeError(`${what} ${n} is out of range (must be a safe integer ≥ ${min})`)
  return n
}
