/**
 * The codec for JSON-like values (string, number, boolean, null, Uint8Array,
 * arrays and plain objects) and their canonical form, used to compare set
 * elements by value. Compact: small integers take one or two bytes.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError, InvalidArgumentError } from '../errors.js'
import { writeString } from './writer.js'
import { type Decoder, readBytes, readCount, readFloat64, readString, readUint8, readVarInt } from './reader.js'

/** A value a CRDT can hold. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | Uint8Array
  | JsonValue[]
  | { [key: string]: JsonValue }

/** Nesting deeper than this is refused, on write and on read. */
export const MAX_VALUE_DEPTH = 64

const T_NULL = 0
const T_FALSE = 1
const T_TRUE = 2
const T_INT = 3
const T_FLOAT = 4
const T_STRING = 5
const T_BYTES = 6
const T_ARRAY = 7
const T_OBJECT = 8

const isInt = (n: number): boolean => Number.isInteger(n) && n <= Number.MAX_SAFE_INTEGER && n >= -Number.MAX_SAFE_INTEGER && !Object.is(n, -0)

export const writeValue = (e: encoding.Encoder, v: JsonValue, depth = 0): void => {
  if (depth > MAX_VALUE_DEPTH) throw new InvalidArgumentError(`value nested deeper than ${MAX_VALUE_DEPTH} levels`)
  switch (typeof v) {
    case 'string':
      encoding.writeUint8(e, T_STRING)
      writeString(e, v)
      return
    case 'number':
      if (isInt(v)) {
        encoding.writeUint8(e, T_INT)
        encoding.writeVarInt(e, v)
      } else {
        encoding.writeUint8(e, T_FLOAT)
        encoding.writeFloat64(e, v)
      }
      return
    case 'boolean':
      encoding.writeUint8(e, v ? T_TRUE : T_FALSE)
      return
    case 'object':
      if (v === null) {
        encoding.writeUint8(e, T_NULL)
      } else if (v instanceof Uint8Array) {
        encoding.writeUint8(e, T_BYTES)
        encoding.writeVarUint8Array(e, v)
      } else if (Array.isArray(v)) {
        encoding.writeUint8(e, T_ARRAY)
        encoding.writeVarUint(e, v.length)
        for (let i = 0; i < v.length; i++) writeValue(e, v[i], depth + 1)
      } else {
        const proto = Object.getPrototypeOf(v)
        if (proto !== Object.prototype && proto !== null) {
          throw new InvalidArgumentError(`cannot store a ${proto?.constructor?.name ?? 'non-plain'} object: use plain objects, arrays, strings, numbers, booleans, null or Uint8Array`)
        }
        const keys = Object.keys(v)
        encoding.writeUint8(e, T_OBJECT)
        encoding.writeVarUint(e, keys.length)
        for (const k of keys) {
          encoding.writeVarString(e, k)
          writeValue(e, (v as Record<string, JsonValue>)[k], depth + 1)
        }
      }
      return
    default:
      throw new InvalidArgumentError(`cannot store a value of type ${typeof v}: use JSON-like values or Uint8Array`)
  }
}

export const readValue = (d: Decoder, depth = 0): JsonValue => {
  if (depth > MAX_VALUE_DEPTH) throw new DecodeError(`value nested deeper than ${MAX_VALUE_DEPTH} levels`)
  const tag = readUint8(d, 'value tag')
  switch (tag) {
    case T_NULL: return null
    case T_FALSE: return false
    case T_TRUE: return true
    case T_INT: return readVarInt(d, 'integer value')
    case T_FLOAT: return readFloat64(d, 'float value')
    case T_STRING: return readString(d, 'string value')
    case T_BYTES: return readBytes(d, 'bytes value')
    case T_ARRAY: {
      const n = readCount(d, 'array value', 1)
      const a: JsonValue[] = new Array(n)
      for (let i = 0; i < n; i++) a[i] = readValue(d, depth + 1)
      return a
    }
    case T_OBJECT: {
      const n = readCount(d, 'object value', 2)
      const o: Record<string, JsonValue> = {}
      for (let i = 0; i < n; i++) {
        const k = readString(d, 'object key')
        const v = readValue(d, depth + 1)
        // defineProperty: a key named __proto__ must stay an own data property
        Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
      }
      return o
    }
    default:
      throw new DecodeError(`unknown value tag ${tag} at byte ${d.pos - 1}`)
  }
}

/** Checks that `v` is storable (throws InvalidArgumentError otherwise). */
export const assertValue = (v: unknown): JsonValue => {
  writeValue(encoding.createEncoder(), v as JsonValue)
  return v as JsonValue
}

/**
 * A string that two values share exactly when they are equal: object keys
 * are sorted, `1` and `1.0` agree, `Uint8Array`s compare by content.
 */
export const canonicalKey = (v: JsonValue): string => {
  switch (typeof v) {
    case 'string': return 's' + v
    case 'number': return 'n' + (Object.is(v, -0) ? '0' : String(v))
    case 'boolean': return v ? 't' : 'f'
    default: break
  }
  const e = encoding.createEncoder()
  writeCanonical(e, v, 0)
  let s = 'x'
  const bytes = encoding.toUint8Array(e)
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i])
  return s
}

const writeCanonical = (e: encoding.Encoder, v: JsonValue, depth: number): void => {
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && !Array.isArray(v)) {
    if (depth > MAX_VALUE_DEPTH) throw new InvalidArgumentError(`value nested deeper than ${MAX_VALUE_DEPTH} levels`)
    const keys = Object.keys(v).sort()
    encoding.writeUint8(e, T_OBJECT)
    encoding.writeVarUint(e, keys.length)
    for (const k of keys) {
      encoding.writeVarString(e, k)
      writeCanonical(e, v[k], depth + 1)
    }
  } else if (Array.isArray(v)) {
    if (depth > MAX_VALUE_DEPTH) throw new InvalidArgumentError(`value nested deeper than ${MAX_VALUE_DEPTH} levels`)
    encoding.writeUint8(e, T_ARRAY)
    encoding.writeVarUint(e, v.length)
    for (const x of v) writeCanonical(e, x, depth + 1)
  } else {
    writeValue(e, typeof v === 'number' && Object.is(v, -0) ? 0 : v, depth)
  }
}

/** Structural equality of two JSON-like values. */
export const valuesEqual = (a: JsonValue, b: JsonValue): boolean => a === b || canonicalKey(a) === canonicalKey(b)
