/**
 * The byte form of a {@link SeqPosition}, meaningful on any replica: it
 * carries the replica id string, not a local replica index. Layout:
 * version (1), tag (0 start, 1 end, 2 before an element, 3 after it), then
 * for an element its replica id (lib0 var string) and sequence number
 * (var uint).
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { decodeWith, readString, readUint8, readVarUint } from '../codec/reader.js'
import { writeString } from '../codec/writer.js'
import { DecodeError, VersionError } from '../errors.js'
import type { SeqPosition } from './sequence-api.js'

/** The version byte of encoded relative positions. */
export const RELATIVE_POSITION_VERSION = 1

/** Encodes a position; `replicaId` maps a local replica index to its replica id string. */
export const encodeRelativePosition = (pos: SeqPosition, replicaId: (r: number) => string): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, RELATIVE_POSITION_VERSION)
  if (pos.kind === 'start') encoding.writeUint8(e, 0)
  else if (pos.kind === 'end') encoding.writeUint8(e, 1)
  else {
    encoding.writeUint8(e, pos.assoc === 'after' ? 3 : 2)
    writeString(e, replicaId(pos.r))
    encoding.writeVarUint(e, pos.s)
  }
  return encoding.toUint8Array(e)
}

/**
 * Decodes a position; `replicaIndex` maps a replica id string to this
 * replica's local index (the Doc adds unknown ids to its table).
 * Throws {@link DecodeError} on malformed bytes.
 */
export const decodeRelativePosition = (bytes: Uint8Array, replicaIndex: (id: string) => number): SeqPosition =>
  decodeWith('relative position', bytes, d => {
    const version = readUint8(d, 'version')
    if (version !== RELATIVE_POSITION_VERSION) throw new VersionError(version)
    const tag = readUint8(d, 'tag')
    if (tag === 0) return { kind: 'start' }
    if (tag === 1) return { kind: 'end' }
    if (tag !== 2 && tag !== 3) throw new DecodeError(`bad position tag ${tag}`)
    const id = readString(d, 'replica id')
    const s = readVarUint(d, 'seq')
    if (!Number.isSafeInteger(s)) throw new DecodeError(`seq ${s} is out of range`)
    return { kind: 'id', r: replicaIndex(id), s, assoc: tag === 3 ? 'after' : 'before' }
  })
