/**
 * The map type: last-writer-wins plain values per key (concurrent losers
 * kept as conflicts until a write observes them); nested containers live
 * in `children` and are the Doc's business (the tree), not this module's.
 *
 * @module
 */
import { readString } from '../../codec/reader.js'
import { readValue, writeValue, type JsonValue } from '../../codec/value.js'
import { writeString } from '../../codec/writer.js'
import { ContainerType, MapContainer, type ValueEntry } from '../containers.js'
import type { Txn } from '../txn.js'
import { readKeys, readValueEntries, writeKeys, writeValueEntries, NONE } from './columns.js'
import { maxTimeOf, promote } from './lww.js'
import type { ContainerModule, HasDot, Newer } from './module.js'

/** A map's elements in one update: `values[i]` is at `keys[i]`. */
export interface MapPayload { values: ValueEntry[], keys: string[] }
/** What a transaction records for a map: entry `e` written at `key`. */
export interface MapAdd { key: string, e: ValueEntry }

const pushConflict = (c: MapContainer, key: string, e: ValueEntry): void => {
  const cs = c.conflicts.get(key)
  if (cs === undefined) c.conflicts.set(key, [e])
  else cs.push(e)
}

const removeDot = (c: MapContainer, loc: string, r: number, s: number, newer: Newer): boolean => {
  const e = c.values.get(loc)
  if (e === undefined) return false
  const cs = c.conflicts.size === 0 ? undefined : c.conflicts.get(loc)
  if (e.r === r && e.s === s) {
    if (cs === undefined) c.values.delete(loc)
    else {
      c.values.set(loc, promote(cs, newer))
      if (cs.length === 0) c.conflicts.delete(loc)
    }
    return true
  }
  if (cs === undefined) return false
  const i = cs.findIndex(x => x.r === r && x.s === s)
  if (i < 0) return false
  cs.splice(i, 1)
  if (cs.length === 0) c.conflicts.delete(loc)
  return true
}

export const mapModule: ContainerModule<MapContainer, MapPayload, MapAdd> = {
  type: ContainerType.Map,
  name: 'map',
  format: 1,
  create: (parent, key) => new MapContainer(parent, key),

  statePart (c, has, keep) {
    if (c.values.size === 0) return null
    const values: ValueEntry[] = []
    const keys: string[] = []
    for (const [k, e] of c.values) {
      if (has !== null && has(e.r, e.s)) { keep(e.r, e.s); continue }
      values.push(e)
      keys.push(k)
    }
    for (const [k, es] of c.conflicts) {
      for (const e of es) {
        if (has !== null && has(e.r, e.s)) { keep(e.r, e.s); continue }
        values.push(e)
        keys.push(k)
      }
    }
    return values.length > 0 ? { values, keys } : null
  },
  deltaPart (c, adds) {
    let p: MapPayload | null = null
    for (const { key, e } of adds) {
      if (c.values.get(key) !== e && !(c.conflicts.get(key)?.includes(e) ?? false)) continue
      p ??= { values: [], keys: [] }
      p.values.push(e)
      p.keys.push(key)
    }
    return p
  },
  encode (e, p, w) {
    const values = p?.values ?? NONE
    writeValueEntries(e, values, w)
    writeKeys(e, p?.keys ?? NONE)
    for (let i = 0; i < values.length; i++) writeValue(e, values[i].v)
  },
  decode (d, nReplicas) {
    const values = readValueEntries(d, nReplicas)
    const keys = readKeys(d, values.length)
    for (let i = 0; i < values.length; i++) values[i].v = readValue(d)
    return { values, keys }
  },
  forEachDot (p, f) { for (const e of p.values) f(e.r, e.s) },
  maxTime: p => maxTimeOf(p.values),

  integrate (p, ctx) {
    const { values, keys } = p
    const { cc, rmap, txn } = ctx
    let c: MapContainer | null = null
    for (let j = 0; j < values.length; j++) {
      const e = values[j]
      const r = rmap[e.r]
      if (cc.has(r, e.s)) continue
      e.r = r
      ctx.time(e.t)
      ctx.seen(r, e.s)
      c ??= ctx.container()
      const key = keys[j]
      const old = c.values.get(key)
      if (old === undefined) {
        c.values.set(key, e)
      } else if (ctx.newer(e, old)) {
        c.values.set(key, e)
        pushConflict(c, key, old)
      } else {
        pushConflict(c, key, e)
      }
      if (txn.recording) txn.add(c, { key, e })
      txn.touch(c, key)
    }
  },

  writeLoc: (e, loc) => writeString(e, loc),
  readLoc: d => ({ loc: readString(d, 'removal key'), value: null }),
  removeDot,
  scanRemove (c: MapContainer, dead: HasDot, txn: Txn, newer: Newer) {
    const hits: Array<[string, ValueEntry]> = []
    for (const [k, e] of c.values) if (dead(e.r, e.s)) hits.push([k, e])
    for (const [k, es] of c.conflicts) for (const e of es) if (dead(e.r, e.s)) hits.push([k, e])
    for (const [k, e] of hits) {
      removeDot(c, k, e.r, e.s, newer)
      if (txn.recording) txn.removals.push({ c, loc: k, value: null, r: e.r, s: e.s })
      txn.touch(c, k)
    }
    return hits.length > 0
  },
  clear (c, txn) {
    const rec = txn.recording
    let any = false
    for (const [k, e] of c.values) { any = true; if (rec) txn.removals.push({ c, loc: k, value: null, r: e.r, s: e.s }) }
    for (const [k, es] of c.conflicts) for (const e of es) if (rec) txn.removals.push({ c, loc: k, value: null, r: e.r, s: e.s })
    c.values.clear()
    c.conflicts.clear()
    if (any) txn.touch(c)
    return any
  },

  collectChanges: (_c, keys) => keys === null ? {} : { keys: Array.from(keys) },
  toJSON: (c): JsonValue => c.toJSON()
}
