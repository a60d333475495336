import { describe, expect, it } from 'vitest'
import * as encoding from 'lib0/encoding'
import { checkReplicaId, decodeUpdate, MAX_REPLICA_ID_BYTES, UPDATE_FORMAT_VERSION } from '../../../src/doc/update-codec.js'
import { DecodeError } from '../../../src/errors.js'

/** An update that names `ids` and holds nothing else. */
const withReplicas = (ids: string[]): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, UPDATE_FORMAT_VERSION)
  encoding.writeUint8(e, 0)
  encoding.writeVarUint(e, ids.length)
  for (const id of ids) encoding.writeVarString(e, id)
  encoding.writeVarUint(e, 0) // causal context groups
  encoding.writeVarUint(e, 0) // containers
  encoding.writeVarUint(e, 0) // removals
  return encoding.toUint8Array(e)
}

const utf8Bytes = (s: string): number => new TextEncoder().encode(s).length

describe('update codec: replica ids', () => {
  it('limits ids to 64 UTF-8 bytes, counted as TextEncoder counts them', () => {
    const ids = [
      'a'.repeat(64), 'a'.repeat(65), 'é'.repeat(32), 'é'.repeat(33), '€'.repeat(21), 'a' + '€'.repeat(21),
      '😀'.repeat(16), 'a' + '😀'.repeat(16), '\ud800'.repeat(21), 'a' + '\ud800'.repeat(21), '\udc00\ud800'.repeat(11), ''
    ]
    for (const id of ids) {
      const ok = id.length > 0 && utf8Bytes(id) <= MAX_REPLICA_ID_BYTES
      expect(checkReplicaId(id) === null, JSON.stringify(id)).toBe(ok)
    }
  })

  it('decodes ids seen before as the same strings, and still refuses bad ones', () => {
    const a = decodeUpdate(withReplicas(['alice', 'bob'])).replicas
    const b = decodeUpdate(withReplicas(['bob', 'alice'])).replicas
    expect(b).toEqual(['bob', 'alice'])
    expect(b[0]).toBe(a[1])
    // the same leading bytes as a known id, but longer than allowed
    decodeUpdate(withReplicas(['x'.repeat(64)]))
    expect(() => decodeUpdate(withReplicas(['x'.repeat(65)]))).toThrow(DecodeError)
    expect(() => decodeUpdate(withReplicas(['é'.repeat(33)]))).toThrow(/at most 64 UTF-8 bytes/)
    // many ids: more than the cache holds, decoded right on the way back
    const many = Array.from({ length: 40 }, (_, i) => 'replica-' + i)
    expect(decodeUpdate(withReplicas(many)).replicas).toEqual(many)
    expect(decodeUpdate(withReplicas(many.slice().reverse())).replicas).toEqual(many.slice().reverse())
  })

  it('refuses an id listed twice, in short and long tables', () => {
    expect(() => decodeUpdate(withReplicas(['a', 'a']))).toThrow(/listed twice/)
    const long = Array.from({ length: 12 }, (_, i) => 'r' + i)
    expect(() => decodeUpdate(withReplicas([...long, 'r3']))).toThrow(/listed twice/)
    expect(decodeUpdate(withReplicas(long)).replicas).toEqual(long)
  })

  it('a truncated id is a DecodeError', () => {
    const bytes = withReplicas(['alice'])
    decodeUpdate(bytes)
    expect(() => decodeUpdate(bytes.subarray(0, 6))).toThrow(DecodeError)
  })
})
