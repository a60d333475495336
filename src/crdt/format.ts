/**
 * The shared frame of standalone CRDT encodings: a format-version byte, then
 * a type tag, then the type's body.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError, InvalidArgumentError } from '../errors.js'
import { type Decoder, decodeWith, readUint8 } from '../codec/reader.js'
import { assertNodeId } from '../clock/node-id.js'

/** The leading byte of every standalone CRDT encoding. */
export const CRDT_FORMAT_VERSION = 1

/** The second byte of a standalone CRDT encoding: which type follows. */
export const CrdtTypeTag = {
  GCounter: 1,
  PNCounter: 2,
  LWWRegister: 3,
  MVRegister: 4,
  ORSet: 5,
  ORMap: 6
} as const

/** One of the {@link CrdtTypeTag} values. */
export type CrdtTypeTag = typeof CrdtTypeTag[keyof typeof CrdtTypeTag]

/** Encodes header + body. */
export const encodeCrdt = (tag: CrdtTypeTag, body: (e: encoding.Encoder) => void): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, CRDT_FORMAT_VERSION)
  encoding.writeUint8(e, tag)
  body(e)
  return encoding.toUint8Array(e)
}

/** Checks the header of a `name` encoding, then reads the body; {@link DecodeError} on bad input. */
export const decodeCrdt = <T>(name: keyof typeof CrdtTypeTag, bytes: Uint8Array, body: (d: Decoder) => T): T =>
  decodeWith(name, bytes, d => {
    const version = readUint8(d, 'format version')
    if (version !== CRDT_FORMAT_VERSION) throw new DecodeError(`unsupported format version ${version}`)
    const tag = readUint8(d, 'type tag')
    if (tag !== CrdtTypeTag[name]) {
      const found = Object.keys(CrdtTypeTag).find(k => CrdtTypeTag[k as keyof typeof CrdtTypeTag] === tag)
      throw new DecodeError(`expected a ${name}, found ${found ?? `unknown type tag ${tag}`}`)
    }
    return body(d)
  })

/** Validates an optional replica id. */
export const optionalNodeId = (nodeId: string | undefined): string | undefined =>
  nodeId === undefined ? undefined : assertNodeId(nodeId)

/** The replica id needed for a local write; a replica created without one can only merge and read. */
export const requireNodeId = (nodeId: string | undefined, type: string): string => {
  if (nodeId === undefined) throw new InvalidArgumentError(`this ${type} has no nodeId, so it can only merge and read: pass a nodeId to the constructor or to decode()`)
  return nodeId
}

/** Refuses merging a value of another class (possible from untyped code). */
export const assertSameType = (other: unknown, cls: abstract new (...args: never[]) => unknown): void => {
  if (!(other instanceof cls)) throw new InvalidArgumentError(`can only merge another ${cls.name}`)
}
