/**
 * The register type: one last-writer-wins value; concurrent losers kept as
 * conflicts until a write observes them.
 *
 * @module
 */
import { readValue, writeValue } from '../../codec/value.js'
import { ContainerType, RegisterContainer, type ValueEntry } from '../containers.js'
import { NONE, readValueEntries, writeValueEntries } from './columns.js'
import { maxTimeOf, promote } from './lww.js'
import type { ContainerModule, Newer } from './module.js'

/** A register's entries in one update (the winner and concurrent ones). */
export interface RegisterPayload { values: ValueEntry[] }

const removeDot = (c: RegisterContainer, _loc: string, r: number, s: number, newer: Newer): boolean => {
  const e = c.entry
  if (e === null) return false
  if (e.r === r && e.s === s) {
    c.entry = c.conflicts.length === 0 ? null : promote(c.conflicts, newer)
    return true
  }
  const i = c.conflicts.findIndex(x => x.r === r && x.s === s)
  if (i < 0) return false
  c.conflicts.splice(i, 1)
  return true
}

/** Transactions record the entry written. */
export const registerModule: ContainerModule<RegisterContainer, RegisterPayload, ValueEntry> = {
  type: ContainerType.Register,
  name: 'register',
  format: 1,
  create: (parent, key) => new RegisterContainer(parent, key),

  statePart (c, has, keep) {
    if (c.entry === null) return null
    const values: ValueEntry[] = []
    for (const e of [c.entry, ...c.conflicts]) {
      if (has !== null && has(e.r, e.s)) keep(e.r, e.s)
      else values.push(e)
    }
    return values.length > 0 ? { values } : null
  },
  deltaPart (c, adds) {
    const values = adds.filter(e => c.entry === e || c.conflicts.includes(e))
    return values.length > 0 ? { values } : null
  },
  encode (e, p, w) {
    const values = p?.values ?? NONE
    writeValueEntries(e, values, w)
    for (let i = 0; i < values.length; i++) writeValue(e, values[i].v)
  },
  decode (d, nReplicas) {
    const values = readValueEntries(d, nReplicas)
    for (let i = 0; i < values.length; i++) values[i].v = readValue(d)
    return { values }
  },
  forEachDot (p, f) { for (const e of p.values) f(e.r, e.s) },
  maxTime: p => maxTimeOf(p.values),

  integrate (p, ctx) {
    const { cc, rmap, txn } = ctx
    let c: RegisterContainer | null = null
    for (const e of p.values) {
      const r = rmap[e.r]
      if (cc.has(r, e.s)) continue
      e.r = r
      ctx.time(e.t)
      ctx.seen(r, e.s)
      c ??= ctx.container()
      if (c.entry === null) {
        c.entry = e
      } else if (ctx.newer(e, c.entry)) {
        c.conflicts.push(c.entry)
        c.entry = e
      } else {
        c.conflicts.push(e)
      }
      if (txn.recording) txn.add(c, e)
      txn.touch(c)
    }
  },

  writeLoc () {},
  readLoc: () => ({ loc: '', value: null }),
  removeDot,
  scanRemove (c, dead, txn, newer) {
    const hits = c.entry === null ? [] : [c.entry, ...c.conflicts].filter(e => dead(e.r, e.s))
    for (const e of hits) {
      removeDot(c, '', e.r, e.s, newer)
      if (txn.recording) txn.removals.push({ c, loc: '', value: null, r: e.r, s: e.s })
      txn.touch(c)
    }
    return hits.length > 0
  },
  clear (c, txn) {
    if (c.entry === null) return false
    if (txn.recording) for (const e of [c.entry, ...c.conflicts]) txn.removals.push({ c, loc: '', value: null, r: e.r, s: e.s })
    c.entry = null
    c.conflicts = []
    txn.touch(c)
    return true
  },

  collectChanges: () => ({}),
  toJSON: c => c.toJSON()
}
