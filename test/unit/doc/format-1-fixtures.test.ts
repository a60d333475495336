/**
 * Frozen bytes of update / state vector format 1 (test/fixtures/format-1,
 * never regenerated) must keep loading to the same JSON.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Doc } from '../../../src/doc/index.js'
import { decodeStateVector } from '../../../src/doc/state-vector.js'
import { runSeeds } from '../../../src/testing/index.js'

const DIR = join(import.meta.dirname, '../../fixtures/format-1')
const bin = (name: string): Uint8Array => new Uint8Array(readFileSync(join(DIR, `${name}.bin`)))
const meta = (name: string): any => JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8'))
const names = readdirSync(DIR).filter(f => f.endsWith('.bin')).map(f => f.slice(0, -4)).sort()
const fresh = (): Doc => new Doc({ replicaId: 'fixture-reader', now: () => 1_800_000_000_000 })
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v))

/** Re-encoding the loaded state must load again to the same JSON (also through a state-vector diff). */
const roundTrips = (doc: Doc, json: unknown): void => {
  const again = fresh()
  again.applyUpdate(doc.encodeStateAsUpdate())
  expect(plain(again.toJSON())).toEqual(json)
  const empty = fresh()
  empty.applyUpdate(doc.encodeStateAsUpdate(empty.encodeStateVector()))
  expect(plain(empty.toJSON())).toEqual(json)
}

describe('format 1 fixtures', () => {
  it('holds every kind of fixture', () => {
    expect(names.filter(n => n.startsWith('state-')).length).toBeGreaterThanOrEqual(3)
    expect(names.filter(n => n.startsWith('sv-')).length).toBeGreaterThanOrEqual(3)
    expect(names.filter(n => n.startsWith('delta-')).length).toBeGreaterThanOrEqual(10)
  })

  for (const name of names.filter(n => n.startsWith('state-'))) {
    it(`${name} loads to its JSON and version, and re-encodes`, () => {
      const m = meta(name)
      const doc = fresh()
      if (m.base !== undefined) doc.applyUpdate(bin(m.base))
      doc.applyUpdate(bin(name))
      expect(plain(doc.toJSON())).toEqual(m.json)
      expect(doc.version().toJSON()).toEqual(m.version)
      roundTrips(doc, m.json)
      // applying it again changes nothing
      const events: unknown[] = []
      doc.on('update', u => events.push(u))
      doc.applyUpdate(bin(name))
      expect(plain(doc.toJSON())).toEqual(m.json)
      expect(events).toEqual([])
    })
  }

  for (const name of names.filter(n => n.startsWith('sv-'))) {
    it(`${name} decodes to its version, and equals what the loaded state encodes`, () => {
      const m = meta(name)
      const sv = bin(name)
      expect(decodeStateVector(sv)).toEqual(m.version)
      const doc = fresh()
      doc.applyUpdate(bin(m.of))
      expect(doc.encodeStateVector()).toEqual(sv)
      // the full state's holder answers this state vector with nothing new
      const holder = fresh()
      holder.applyUpdate(bin(m.of))
      const other = fresh()
      other.applyUpdate(bin(m.of))
      other.applyUpdate(holder.encodeStateAsUpdate(sv))
      expect(plain(other.toJSON())).toEqual(meta(m.of).json)
    })
  }

  for (const name of names.filter(n => n.startsWith('delta-'))) {
    it(`${name} loads alone to its JSON`, () => {
      const doc = fresh()
      doc.applyUpdate(bin(name))
      expect(plain(doc.toJSON())).toEqual(meta(name).json)
      roundTrips(doc, meta(name).json)
    })
  }

  it('the deltas in any order, with duplicates, one by one or all at once, give the same JSON', () => {
    const set = JSON.parse(readFileSync(join(DIR, 'deltas.json'), 'utf8'))
    const deltas: Uint8Array[] = set.deltas.map(bin)
    runSeeds(30, (_seed, prng) => {
      const order = prng.shuffle([...deltas, ...deltas.filter(() => prng.int(0, 2) === 0)])
      const one = fresh()
      for (const u of order) one.applyUpdate(u)
      expect(plain(one.toJSON())).toEqual(set.json)
      expect(one.version().toJSON()).toEqual(set.version)
      const all = fresh()
      all.applyUpdates(order)
      expect(plain(all.toJSON())).toEqual(set.json)
      roundTrips(one, set.json)
    })
  })
})
