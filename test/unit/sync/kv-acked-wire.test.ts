/**
 * The client's acknowledged point (`ackedSeq`) on the wire: it rides in a
 * kv-request's room field, which hubs before it read and ignore, so both
 * directions of a mixed deployment keep working without a version bump.
 */
import { describe, expect, it } from 'vitest'
import * as decoding from 'lib0/decoding'
import { decodeMessage, encodeMessage, MessageType, PROTOCOL_VERSION, type KvRequestMessage } from '../../../src/sync/index.js'
import { DecodeError } from '../../../src/errors.js'
import { decodeForward, encodeForward } from '../../../adapters/hub/peer-channels.js'
import { Access } from '../../../src/sync/messages.js'

const request = (extra: Partial<KvRequestMessage> = {}): KvRequestMessage =>
  ({ type: MessageType.KvRequest, room: '', id: 3, token: 'tok', session: 'sess', seq: 9, command: new Uint8Array([1, 2, 3]), ...extra })

/** The kv-request decoder of a hub before `ackedSeq` (PROTOCOL_VERSION 1): the room field is read and never looked at. */
const oldHubDecode = (frame: Uint8Array): { room: string, id: number, token: string, session: string, seq: number, command: Uint8Array } => {
  const d = decoding.createDecoder(frame)
  expect(decoding.readUint8(d)).toBe(PROTOCOL_VERSION)
  expect(decoding.readUint8(d)).toBe(MessageType.KvRequest)
  const out = { room: decoding.readVarString(d), id: decoding.readVarUint(d), token: decoding.readVarString(d), session: decoding.readVarString(d), seq: decoding.readVarUint(d), command: decoding.readVarUint8Array(d) }
  expect(decoding.hasContent(d)).toBe(false) // the old decoder refused trailing bytes
  return out
}

describe('kv-request ackedSeq on the wire', () => {
  it('round-trips, and a request without it encodes exactly as before (room field empty)', () => {
    for (const ackedSeq of [0, 1, 8, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      expect(decodeMessage(encodeMessage(request({ ackedSeq })))).toEqual(request({ ackedSeq }))
    }
    const plain = encodeMessage(request())
    expect(oldHubDecode(plain).room).toBe('')
    expect(decodeMessage(plain)).toEqual(request())
    expect('ackedSeq' in decodeMessage(plain)).toBe(false)
  })

  it('new client → old hub: the old decoder reads the frame whole and gets the same request (ackedSeq ignored)', () => {
    const old = oldHubDecode(encodeMessage(request({ ackedSeq: 7 })))
    expect(old).toMatchObject({ id: 3, token: 'tok', session: 'sess', seq: 9, command: new Uint8Array([1, 2, 3]) })
    expect(old.room).toBe('acked:7')
  })

  it('old client → new hub: an old frame (room "") decodes without ackedSeq; an odd room field is refused by name', () => {
    const oldFrame = encodeMessage(request())
    expect(decodeMessage(oldFrame)).toEqual(request())
    for (const field of ['acked:', 'acked:01', 'acked:-1', 'acked:1e3', 'acked:99999999999999999', 'board']) {
      const f = encodeMessage({ type: MessageType.Leave, room: field })
      f[1] = MessageType.KvRequest
      const frame = new Uint8Array([...f, ...encodeMessage(request()).subarray(3)])
      expect(() => decodeMessage(frame)).toThrow(DecodeError)
      expect(() => decodeMessage(frame)).toThrow(/unknown kv-request options/)
    }
    expect(() => encodeMessage(request({ ackedSeq: -1 }))).toThrow(/ackedSeq must be a non-negative safe integer/)
  })

  it('hub → leader forward: ackedSeq is a trailing field an old leader does not read; an old forward has none', () => {
    const f = { id: 4, kind: 1, access: Access.Write, session: 's', seq: 5, command: new Uint8Array([9]) }
    const withAcked = new Uint8Array([1, ...encodeForward({ ...f, ackedSeq: 4 })])
    const without = new Uint8Array([1, ...encodeForward(f)])
    expect(decodeForward(withAcked)).toEqual({ ...f, ackedSeq: 4 })
    expect(decodeForward(without)).toEqual(f)
    // the old leader's decoder stopped after the command: the prefix is the old frame
    expect(withAcked.subarray(0, without.length)).toEqual(without)
  })
})
