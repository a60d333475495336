/**
 * Test helpers for update format 2: re-frame an update in another version,
 * and hand-made updates holding what this build does not know.
 */
import * as encoding from 'lib0/encoding'
import { type Container, type MapContainer } from '../../../src/doc/containers.js'
import { decodeUpdate, encodeUpdate, type UpdateParts } from '../../../src/doc/update-codec.js'
import { moduleOf } from '../../../src/doc/types/index.js'

const ENV = { compareReplicas: (a: number, b: number) => a - b }

/** The same update written as format `version` (2: length-prefixed container sections). */
export const reframe = (bytes: Uint8Array, version: 1 | 2): Uint8Array => {
  const u = decodeUpdate(bytes)
  const cs: Container[] = []
  for (const wc of u.containers) cs.push(moduleOf(wc.type).create(wc.parent < 0 ? null : cs[wc.parent] as MapContainer, wc.key, ENV))
  const parts: UpdateParts['parts'] = u.containers.map((wc, i) => ({ c: cs[i], p: wc.payload }))
  return encodeUpdate({
    state: u.state,
    replicaIds: u.replicas,
    cc: u.cc,
    parts,
    removals: u.removals.map(rm => ({ c: cs[rm.c], loc: rm.loc, value: rm.value, r: rm.r, s: rm.s })),
    keep: u.state ? u.keep : null,
    version
  })
}

/**
 * A hand-made update: version byte `version`, replica 'future' with dot 1,
 * one root container of type `type` named 'doc' whose section is `section`
 * (length-prefixed in version ≥ 2), no removals.
 */
export const handMade = (version: number, type: number, section = new Uint8Array([0])): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, version)
  encoding.writeUint8(e, 0) // flags
  encoding.writeVarUint(e, 1)
  encoding.writeVarString(e, 'future')
  encoding.writeVarUint(e, 1) // cc groups
  encoding.writeVarUint(e, 0) // replica 0
  encoding.writeVarUint(e, 1) // one range
  encoding.writeVarUint(e, 0) // gap: starts at 1
  encoding.writeVarUint(e, 0) // length 1
  encoding.writeVarUint(e, 1) // containers
  encoding.writeUint8(e, type | 0x80)
  encoding.writeVarString(e, 'doc')
  if (version >= 2) encoding.writeVarUint8Array(e, section)
  else encoding.writeUint8Array(e, section)
  encoding.writeVarUint(e, 0) // removals
  return encoding.toUint8Array(e)
}
