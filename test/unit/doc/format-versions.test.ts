/**
 * Update format versions: 1 is written while only map/counter/set/register
 * are used (older replicas keep syncing), 2 frames each container section
 * with its length; both are read. A version or container type this build
 * does not know is refused with a DecodeError that says what it got, what
 * it reads, and to upgrade, and the doc stays exactly as it was.
 */
import fc from 'fast-check'
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import { Doc, UPDATE_FORMAT_VERSION } from '../../../src/doc/index.js'
import { decodeUpdate } from '../../../src/doc/update-codec.js'
import { DecodeError } from '../../../src/errors.js'
import { handMade, reframe } from './format-2-support.js'

const T0 = 1_700_000_000_000
const mk = (id: string): Doc => { let t = T0; return new Doc({ replicaId: id, now: () => t++ }) }

/** A doc with a bit of everything, and its updates (deltas, then the full state). */
const sample = (): { doc: Doc, updates: Uint8Array[] } => {
  const a = mk('a')
  const updates: Uint8Array[] = []
  a.on('update', u => updates.push(u))
  a.map('m').set('k', { x: [1, 'y'] })
  a.map('m').map('n').counter('c').increment(3)
  a.map('m').orSet('s').add('x')
  a.set('s').add('x'); a.set('s').remove('x'); a.set('s').add(7)
  a.register('r').set(1.5)
  a.map('m').delete('k')
  updates.push(a.encodeStateAsUpdate())
  return { doc: a, updates }
}

/** A doc with state, and a check that a refused input left it (and its events) exactly as it was. */
const witness = (): { doc: Doc, refused: (f: () => unknown, message: RegExp) => void } => {
  const doc = mk('b')
  doc.map('own').set('x', 1)
  doc.counter('n').increment(2)
  const events: string[] = []
  doc.on('update', () => events.push('update'))
  doc.on('change', () => events.push('change'))
  const refused = (f: () => unknown, message: RegExp): void => {
    const json = JSON.stringify(doc.toJSON())
    const sv = doc.encodeStateVector()
    const state = doc.encodeStateAsUpdate()
    const version = doc.version().toJSON()
    let error: unknown
    try { f() } catch (err) { error = err }
    expect(error).toBeInstanceOf(DecodeError)
    expect((error as Error).message).toMatch(message)
    expect(JSON.stringify(doc.toJSON())).toBe(json)
    expect(doc.encodeStateVector()).toEqual(sv)
    expect(doc.encodeStateAsUpdate()).toEqual(state)
    expect(doc.version().toJSON()).toEqual(version)
    expect(events).toEqual([])
  }
  return { doc, refused }
}

describe('update format versions', () => {
  it('writes version 1 while only the first four types are used, in deltas and state', () => {
    const { updates } = sample()
    expect(UPDATE_FORMAT_VERSION).toBe(1)
    for (const u of updates) {
      expect(u[0]).toBe(1)
      expect(decodeUpdate(u).version).toBe(1)
    }
  })

  it('reads version 2 (length-prefixed sections) to the same state as version 1', () => {
    const { doc, updates } = sample()
    const v2 = updates.map(u => reframe(u, 2))
    for (const u of v2) expect(u[0]).toBe(2)
    const one = mk('one')
    for (const u of v2) one.applyUpdate(u)
    expect(one.toJSON()).toEqual(doc.toJSON())
    const all = mk('all')
    all.applyUpdates(v2.slice(0, -1).reverse())
    expect(all.toJSON()).toEqual(doc.toJSON())
    // and back: what it writes (old types only) is version 1 again
    expect(one.encodeStateAsUpdate()[0]).toBe(1)
    expect(reframe(v2[v2.length - 1], 1)).toEqual(updates[updates.length - 1])
  })

  it('refuses an unknown update version, naming it, what it reads, and to upgrade; the doc is unchanged', () => {
    const { updates } = sample()
    const { doc, refused } = witness()
    for (const version of [0, 3, 7, 255]) {
      const u = updates[0].slice(); u[0] = version
      refused(() => doc.applyUpdate(u), new RegExp(`update format version ${version}: this build of aegis-replication reads versions 1 and 2; upgrade aegis-replication`))
      refused(() => doc.applyUpdates([updates[0], u]), new RegExp(`^updates\\[1\\] \\(of 2\\): .*format version ${version}.*upgrade aegis-replication`))
    }
  })

  it('refuses a container type it does not know, in version 2 and in version 1, with nothing of the update applied', () => {
    const { doc, refused } = witness()
    for (const type of [4, 5, 9, 0x7f]) {
      const known = /knows types 0 \(map\), 1 \(counter\), 2 \(set\), 3 \(register\); upgrade aegis-replication/
      refused(() => doc.applyUpdate(handMade(2, type, new Uint8Array([1, 2, 3]))), new RegExp(`unknown container type ${type} \\(container 0\\)`))
      refused(() => doc.applyUpdate(handMade(2, type)), known)
      refused(() => doc.applyUpdate(handMade(1, type)), new RegExp(`unknown container type ${type}`))
    }
    // a good container before the unknown one is not applied either
    refused(() => doc.applyUpdate(counterThen(true)), /unknown container type 4 \(container 1\)/)
    // the same without the text container applies (the framing above is right)
    doc.applyUpdate(counterThen(false))
    expect(doc.toJSON()).toEqual({ n: 7, own: { x: 1 } })
  })

  it('refuses a version 2 section whose length does not match what its type reads', () => {
    const { doc, refused } = witness()
    const withSection = (section: number[]): Uint8Array => handMade(2, 1, new Uint8Array(section))
    // a counter section: count 0, then a stray byte
    refused(() => doc.applyUpdate(withSection([0, 7])), /section of 2 bytes, 1 read/)
    // a counter section cut short: the module may not read past its section
    refused(() => doc.applyUpdate(withSection([1, 0, 1])), /DecodeError|unexpected end|truncated|declares|end of/i)
  })

  it('refuses an unknown state vector version, and answers nothing', () => {
    const { doc, refused } = witness()
    const sv = mk('c').encodeStateVector()
    for (const version of [0, 2, 9]) {
      const bad = sv.slice(); bad[0] = version
      refused(() => doc.encodeStateAsUpdate(bad), new RegExp(`state vector format version ${version}: this build of aegis-replication reads version 1; upgrade aegis-replication`))
    }
  })

  it('version 2 framing fuzz: mutated and random version 2 updates give DecodeError (doc unchanged) or a consistent apply', () => {
    const v2 = sample().updates.map(u => reframe(u, 2))
    const check = (bytes: Uint8Array): void => {
      const { doc, refused } = witness()
      try {
        decodeUpdate(bytes)
      } catch {
        refused(() => doc.applyUpdate(bytes), /./)
        return
      }
      doc.applyUpdate(bytes)
      doc.map('own').set('y', 2)
      const again = mk('again')
      again.applyUpdate(doc.encodeStateAsUpdate())
      expect(again.toJSON()).toEqual(doc.toJSON())
    }
    fc.assert(fc.property(
      fc.nat(v2.length - 1),
      fc.array(fc.tuple(fc.constantFrom('flip', 'insert', 'delete', 'truncate'), fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      (which, mutations) => {
        let bytes = Array.from(v2[which])
        for (const [kind, pos, byte] of mutations) {
          const p = bytes.length === 0 ? 0 : pos % bytes.length
          if (kind === 'flip') bytes[p] = byte
          else if (kind === 'insert') bytes.splice(p, 0, byte)
          else if (kind === 'delete') bytes.splice(p, 1)
          else bytes = bytes.slice(0, p)
        }
        check(new Uint8Array(bytes))
      }), { numRuns: 700 })
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), bytes => {
      const withHeader = new Uint8Array(bytes.length + 1); withHeader[0] = 2; withHeader.set(bytes, 1)
      check(withHeader)
    }), { numRuns: 700 })
    // sections with random content and random declared lengths, for every known and unknown type
    fc.assert(fc.property(fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 40 }), (type, section) => {
      check(handMade(2, type, section))
    }), { numRuns: 700 })
  })
})

/** Version 2: a root counter 'n' with one component (replica 'future', seq 1, +5), then (with `text`) a root text. */
function counterThen (text: boolean): Uint8Array {
  const e = encoding.createEncoder()
  for (const b of [2, 0, 1]) encoding.writeUint8(e, b)
  encoding.writeVarString(e, 'future')
  for (const b of [1, 0, 1, 0, 0]) encoding.writeVarUint(e, b) // cc: replica 0, seq 1
  encoding.writeVarUint(e, text ? 2 : 1)
  encoding.writeUint8(e, 1 | 0x80); encoding.writeVarString(e, 'n')
  if (text) { encoding.writeUint8(e, 4 | 0x80); encoding.writeVarString(e, 'text') }
  encoding.writeVarUint8Array(e, new Uint8Array([1, 0, 1, 5, 0])) // one comp: replica 0, seq 1, +5, -0
  if (text) encoding.writeVarUint8Array(e, new Uint8Array([0]))
  encoding.writeVarUint(e, 0) // removals
  return encoding.toUint8Array(e)
}
