/**
 * The state vector a replica sends to ask for what it lacks: its causal
 * context (version vector plus the dots beyond it), keyed by replica id.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError } from '../errors.js'
import { decodeWith, readCount, readString, readUint8, readVarUint } from '../codec/reader.js'
import type { DotClock } from './dot-clock.js'

/** The leading byte of an encoded state vector. */
export const STATE_VECTOR_FORMAT_VERSION = 1

export interface DecodedStateVector { ids: string[], vv: number[], cloud: number[][] }

export const encodeStateVector = (ids: readonly string[], cc: DotClock): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, STATE_VECTOR_FORMAT_VERSION)
  // sorted by id: equal causal contexts give equal bytes on every replica
  const rs: number[] = []
  for (let r = 0; r < ids.length; r++) if ((cc.vv[r] ?? 0) > 0 || cc.cloud[r] !== undefined) rs.push(r)
  rs.sort((a, b) => ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0)
  encoding.writeVarUint(e, rs.length)
  for (const r of rs) {
    const v = cc.vv[r] ?? 0
    encoding.writeVarString(e, ids[r])
    encoding.writeVarUint(e, v)
    const cloud = cc.cloudOf(r)
    encoding.writeVarUint(e, cloud.length)
    let prev = v
    for (const s of cloud) { encoding.writeVarUint(e, s - prev - 1); prev = s }
  }
  return encoding.toUint8Array(e)
}

export const decodeStateVector = (bytes: Uint8Array): DecodedStateVector => decodeWith('state vector', bytes, d => {
  const version = readUint8(d, 'format version')
  if (version !== STATE_VECTOR_FORMAT_VERSION) {
    throw new DecodeError(`unsupported state vector format version ${version}: this build of aegis-replication reads version ${STATE_VECTOR_FORMAT_VERSION}; upgrade aegis-replication to read it`)
  }
  const n = readCount(d, 'replicas', 3)
  const ids: string[] = new Array(n)
  const vv: number[] = new Array(n)
  const cloud: number[][] = new Array(n)
  const seen = new Set<string>()
  for (let i = 0; i < n; i++) {
    const id = readString(d, 'replica id')
    if (seen.has(id)) throw new DecodeError(`replica id ${JSON.stringify(id)} listed twice`)
    seen.add(id)
    ids[i] = id
    let prev = vv[i] = readVarUint(d, 'version')
    const m = readCount(d, 'cloud', 1)
    const c: number[] = new Array(m)
    for (let j = 0; j < m; j++) {
      prev = c[j] = prev + 1 + readVarUint(d, 'cloud gap')
      if (prev > Number.MAX_SAFE_INTEGER) throw new DecodeError('cloud sequence number out of range')
    }
    cloud[i] = c
  }
  return { ids, vv, cloud }
})
