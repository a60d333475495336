/**
 * Small helpers on element content (a string of UTF-16 code units for
 * text, an array of values for lists) and ids.
 *
 * @module
 */
import type { JsonValue } from '../codec/value.js'
import type { SeqId } from './sequence-api.js'

export type Content = string | JsonValue[]

export const sliceContent = (c: Content, a: number, b?: number): Content => c.slice(a, b)

export const concatContent = (a: Content, b: Content): Content =>
  typeof a === 'string' ? a + (b as string) : a.concat(b as JsonValue[])

export const sameId = (a: SeqId | null, b: SeqId | null): boolean =>
  a === b || (a !== null && b !== null && a.r === b.r && a.s === b.s)

export const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff
export const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff
