/**
 * The add-wins set type: each element (by canonical key) carries the dots
 * of the adds that are still live; a remove drops the dots it observed, so
 * a concurrent add survives.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError } from '../../errors.js'
import { readCount, readVarUint, remaining } from '../../codec/reader.js'
import { canonicalKey, readValue, writeValue } from '../../codec/value.js'
import { ContainerType, SetContainer, type SetElem } from '../containers.js'
import { NONE, readDotRuns, SCRATCH_SIZE, scratchR, scratchS, writeDotRuns } from './columns.js'
import type { ContainerModule } from './module.js'

/** A set's elements in one update, each with the dots of its adds. */
export interface SetPayload { elems: SetElem[] }
/** What a transaction records for a set: element `elem` (with the dots added) at canonical `key`. */
export interface SetAdd { key: string, elem: SetElem }

export const setModule: ContainerModule<SetContainer, SetPayload, SetAdd> = {
  type: ContainerType.Set,
  name: 'set',
  format: 1,
  create: (parent, key) => new SetContainer(parent, key),

  statePart (c, has, keep) {
    const elems: SetElem[] = []
    for (const el of c.elems.values()) {
      let dots: number[] | null = null
      for (let i = 0; i < el.dots.length; i += 2) {
        const r = el.dots[i]; const s = el.dots[i + 1]
        if (has !== null && has(r, s)) keep(r, s)
        else (dots ??= []).push(r, s)
      }
      if (dots !== null) elems.push(dots.length === el.dots.length ? el : { v: el.v, dots })
    }
    return elems.length > 0 ? { elems } : null
  },
  deltaPart (c, adds) {
    const elems: SetElem[] = []
    for (const { key, elem } of adds) {
      const live = c.elems.get(key)
      if (live === undefined) continue
      const dots: number[] = []
      for (let i = 0; i < elem.dots.length; i += 2) {
        for (let j = 0; j < live.dots.length; j += 2) {
          if (live.dots[j] === elem.dots[i] && live.dots[j + 1] === elem.dots[i + 1]) { dots.push(elem.dots[i], elem.dots[i + 1]); break }
        }
      }
      if (dots.length > 0) elems.push({ v: elem.v, dots })
    }
    return elems.length > 0 ? { elems } : null
  },
  encode (e, p, w) {
    const elems = p?.elems ?? NONE
    encoding.writeVarUint(e, elems.length)
    if (elems.length === 0) return
    const flat: number[] = []
    for (const el of elems) {
      encoding.writeVarUint(e, (el.dots.length >> 1) - 1)
      for (let i = 0; i < el.dots.length; i++) flat.push(el.dots[i])
    }
    writeDotRuns(e, flat.length >> 1, i => flat[i * 2], i => flat[i * 2 + 1], w)
    for (const el of elems) writeValue(e, el.v)
  },
  decode (d, nReplicas) {
    const n = readCount(d, 'set elements', 2)
    if (n === 0) return { elems: NONE }
    const counts: number[] = new Array(n)
    let total = 0
    for (let i = 0; i < n; i++) {
      total += counts[i] = readVarUint(d, 'element dot count') + 1
      if (total > remaining(d)) throw new DecodeError('set element dot counts exceed the input')
    }
    const rs: number[] = total <= SCRATCH_SIZE ? scratchR : new Array(total)
    const ss: number[] = total <= SCRATCH_SIZE ? scratchS : new Array(total)
    readDotRuns(d, total, nReplicas, rs, ss)
    const elems: SetElem[] = new Array(n)
    let k = 0
    for (let i = 0; i < n; i++) {
      const dots: number[] = new Array(counts[i] * 2)
      for (let j = 0; j < counts[i]; j++, k++) { dots[j * 2] = rs[k]; dots[j * 2 + 1] = ss[k] }
      elems[i] = { v: null, dots }
    }
    for (let i = 0; i < n; i++) elems[i].v = readValue(d)
    return { elems }
  },
  forEachDot (p, f) { for (const el of p.elems) for (let i = 0; i < el.dots.length; i += 2) f(el.dots[i], el.dots[i + 1]) },
  maxTime: () => 0,

  integrate (p, ctx) {
    const { cc, rmap, txn } = ctx
    let c: SetContainer | null = null
    for (const el of p.elems) {
      let dots: number[] | null = null
      for (let j = 0; j < el.dots.length; j += 2) {
        const r = rmap[el.dots[j]]
        if (!cc.has(r, el.dots[j + 1])) (dots ??= []).push(r, el.dots[j + 1])
      }
      if (dots === null) continue
      c ??= ctx.container()
      const key = canonicalKey(el.v)
      const cur = c.elems.get(key)
      if (cur === undefined) c.elems.set(key, { v: el.v, dots: dots.slice() })
      else for (let j = 0; j < dots.length; j++) cur.dots.push(dots[j])
      for (let j = 0; j < dots.length; j += 2) ctx.seen(dots[j], dots[j + 1])
      if (txn.recording) txn.add(c, { key, elem: { v: el.v, dots } })
      txn.touch(c)
    }
  },

  writeLoc: (e, _loc, value) => writeValue(e, value),
  readLoc (d) {
    const value = readValue(d)
    return { loc: canonicalKey(value), value }
  },
  removeDot (c, loc, r, s) {
    const el = c.elems.get(loc)
    if (el === undefined) return false
    for (let i = 0; i < el.dots.length; i += 2) {
      if (el.dots[i] === r && el.dots[i + 1] === s) {
        el.dots.splice(i, 2)
        if (el.dots.length === 0) c.elems.delete(loc)
        return true
      }
    }
    return false
  },
  scanRemove (c, dead, txn) {
    let any = false
    for (const [key, el] of c.elems) {
      for (let i = el.dots.length - 2; i >= 0; i -= 2) {
        if (!dead(el.dots[i], el.dots[i + 1])) continue
        if (txn.recording) txn.removals.push({ c, loc: key, value: el.v, r: el.dots[i], s: el.dots[i + 1] })
        el.dots.splice(i, 2)
        any = true
      }
      if (el.dots.length === 0) c.elems.delete(key)
      if (any) txn.touch(c)
    }
    return any
  },
  clear (c, txn) {
    if (c.elems.size === 0) return false
    if (txn.recording) {
      for (const [k, el] of c.elems) for (let i = 0; i < el.dots.length; i += 2) txn.removals.push({ c, loc: k, value: el.v, r: el.dots[i], s: el.dots[i + 1] })
    }
    c.elems.clear()
    txn.touch(c)
    return true
  },

  collectChanges: () => ({}),
  toJSON: c => c.toJSON()
}
