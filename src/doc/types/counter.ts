/**
 * The PN counter type: per replica one component (cumulative increments
 * and decrements) with the dot of its latest write; a newer dot of the
 * same replica replaces the older component.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { readCount } from '../../codec/reader.js'
import { ContainerType, CounterContainer, type CounterComp } from '../containers.js'
import { NONE, readReplica, readSafeUint, readSeq } from './columns.js'
import type { ContainerModule } from './module.js'

/** A counter's components in one update. */
export interface CounterPayload { comps: CounterComp[] }

/** Transactions record the component written. */
export const counterModule: ContainerModule<CounterContainer, CounterPayload, CounterComp> = {
  type: ContainerType.Counter,
  name: 'counter',
  format: 1,
  create: (parent, key) => new CounterContainer(parent, key),

  statePart (c, has, keep) {
    const comps: CounterComp[] = []
    for (const k of c.comps.values()) {
      if (has !== null && has(k.r, k.s)) keep(k.r, k.s)
      else comps.push(k)
    }
    return comps.length > 0 ? { comps } : null
  },
  deltaPart (c, adds) {
    const comps = adds.filter(k => c.comps.get(k.r) === k)
    return comps.length > 0 ? { comps } : null
  },
  encode (e, p, w) {
    const comps = p?.comps ?? NONE
    encoding.writeVarUint(e, comps.length)
    for (const k of comps) {
      encoding.writeVarUint(e, w(k.r))
      encoding.writeVarUint(e, k.s)
      encoding.writeVarUint(e, k.p)
      encoding.writeVarUint(e, k.n)
    }
  },
  decode (d, nReplicas) {
    const n = readCount(d, 'counter components', 4)
    const comps: CounterComp[] = new Array(n)
    for (let i = 0; i < n; i++) {
      const r = readReplica(d, nReplicas, 'counter replica')
      const s = readSeq(d, 'counter seq')
      comps[i] = { r, s, p: readSafeUint(d, 'counter increments'), n: readSafeUint(d, 'counter decrements') }
    }
    return { comps }
  },
  forEachDot (p, f) { for (const k of p.comps) f(k.r, k.s) },
  maxTime: () => 0,

  integrate (p, ctx) {
    const { cc, rmap, txn } = ctx
    let c: CounterContainer | null = null
    for (const k of p.comps) {
      const r = rmap[k.r]
      if (cc.has(r, k.s)) continue
      k.r = r
      c ??= ctx.container()
      const old = c.comps.get(r)
      if (old === undefined || k.s > old.s) {
        c.comps.set(r, k)
        ctx.seen(r, k.s)
        if (txn.recording) txn.add(c, k)
        txn.touch(c)
      }
    }
  },

  writeLoc () {},
  readLoc: () => ({ loc: '', value: null }),
  removeDot (c, _loc, r, s) {
    const k = c.comps.get(r)
    if (k === undefined || k.s !== s) return false
    c.comps.delete(r)
    return true
  },
  scanRemove (c, dead, txn) {
    let any = false
    for (const [r, k] of c.comps) {
      if (!dead(k.r, k.s)) continue
      c.comps.delete(r)
      if (txn.recording) txn.removals.push({ c, loc: '', value: null, r: k.r, s: k.s })
      txn.touch(c)
      any = true
    }
    return any
  },
  clear (c, txn) {
    if (c.comps.size === 0) return false
    if (txn.recording) for (const k of c.comps.values()) txn.removals.push({ c, loc: '', value: null, r: k.r, s: k.s })
    c.comps.clear()
    txn.touch(c)
    return true
  },

  collectChanges: () => ({}),
  toJSON: c => c.toJSON()
}
