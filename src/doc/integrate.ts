/**
 * Integration of one decoded update into a Doc: explicit removals, then
 * (state updates) the removal of what the sender has seen but no longer
 * holds, then each container's new elements through its type's module,
 * then the causal context. Type-specific work is dispatched by
 * `ContainerType` to the modules under `types/`.
 *
 * @module
 */
import { childKey, type Container, detach, MapContainer, walk } from './containers.js'
import { DotRanges } from './dot-clock.js'
import type { Doc } from './doc.js'
import type { Txn } from './txn.js'
import type { DecodedUpdate } from './update-codec.js'
import { type IntegrateCtx, moduleOf } from './types/index.js'

/** Local containers of an update's container table, by index (null: not here). */
type Wired = Array<Container | null | undefined>

/**
 * The local container for entry `i` of u's container table (`wired`
 * caches them); with `create`, made if missing, else null if missing.
 */
const resolve = (doc: Doc, u: DecodedUpdate, wired: Wired, i: number, create: boolean): Container | null => {
  const hit = wired[i]
  if (hit !== undefined && (hit === null ? !create : hit.attached)) return hit
  const wc = u.containers[i]
  let c: Container | null = null
  if (wc.parent < 0) {
    const k = childKey(wc.type, wc.key)
    c = doc._roots.get(k) ?? null
    if (c === null && create) doc._roots.set(k, c = moduleOf(wc.type).create(null, wc.key, doc._env))
  } else {
    const parent = resolve(doc, u, wired, wc.parent, create) as MapContainer | null
    if (parent !== null) {
      c = parent.child(wc.type, wc.key) ?? null
      if (c === null && create) {
        c = moduleOf(wc.type).create(parent, wc.key, doc._env)
        parent.children.set(childKey(wc.type, wc.key), c)
      }
    }
  }
  wired[i] = c
  return c
}

/** The dots a state update says its sender still holds (its elements), as ranges over local replica indices. */
const liveDotsOf = (u: DecodedUpdate, rmap: readonly number[]): DotRanges => {
  const liveSeqs: Array<number[] | undefined> = []
  const live = (w: number, s: number): void => { (liveSeqs[rmap[w]] ??= []).push(s) }
  for (const wc of u.containers) moduleOf(wc.type).forEachDot(wc.payload, live)
  return DotRanges.fromSeqs(liveSeqs)
}

/** Integrates one decoded update into `txn`; returns the largest timestamp it added (0: none). */
export const integrateOne = (doc: Doc, u: DecodedUpdate, rmap: number[], txn: Txn): number => {
  const rec = txn.recording
  const cc = doc._cc
  const newer = doc._newerFn
  const wired: Wired = new Array(u.containers.length)
  let touchedNested: Set<Container> | null = null
  const nested = (c: Container): void => { if (c.parent !== null) (touchedNested ??= new Set()).add(c) }

  // 1. explicit removals
  for (const rm of u.removals) {
    const r = rmap[rm.r]
    const known = cc.has(r, rm.s)
    const c = resolve(doc, u, wired, rm.c, rec && !known)
    if (c === null) continue
    const removed = moduleOf(c.type).removeDot(c, rm.loc, r, rm.s, newer)
    if (removed) txn.touch(c, c instanceof MapContainer ? rm.loc : undefined)
    nested(c)
    if (rec && (removed || !known)) txn.removals.push({ c, loc: rm.loc, value: rm.value, r, s: rm.s })
  }

  // 2. state updates: remove what the sender has seen but no longer holds
  if (u.state) {
    const ccU = new DotRanges()
    for (let w = 0; w < u.cc.length; w++) if (u.cc[w] !== undefined) ccU.ranges[rmap[w]] = u.cc[w]
    const keepU = new DotRanges()
    for (let w = 0; w < u.keep.length; w++) if (u.keep[w] !== undefined) keepU.ranges[rmap[w]] = u.keep[w]
    let liveU: DotRanges | null = null
    const dead = (r: number, s: number): boolean => ccU.has(r, s) && !keepU.has(r, s) && !(liveU ??= liveDotsOf(u, rmap)).has(r, s)
    for (const root of doc._roots.values()) {
      walk(root, c => { if (moduleOf(c.type).scanRemove(c, dead, txn, newer)) nested(c) })
    }
  }

  // 3. elements this doc has not seen (their dots join the causal context in step 4)
  let maxTime = 0
  const seen: number[] = []
  for (let i = 0; i < u.containers.length; i++) {
    const wc = u.containers[i]
    let made: Container | null = null
    const ctx: IntegrateCtx<Container> = {
      rmap,
      cc,
      txn,
      newer,
      container: () => (made ??= resolve(doc, u, wired, i, true)!),
      seen: (r, s) => { seen.push(r, s, s) },
      seenRange: (r, start, end) => { seen.push(r, start, end) },
      time: t => { if (t > maxTime) maxTime = t }
    }
    moduleOf(wc.type).integrate(wc.payload, ctx)
    if (made !== null) nested(made)
  }

  // 4. merge the causal context
  for (let w = 0; w < u.cc.length; w++) {
    const a = u.cc[w]
    if (a !== undefined) for (let i = 0; i < a.length; i += 2) cc.addRange(rmap[w], a[i], a[i + 1])
  }
  for (const rm of u.removals) cc.add(rmap[rm.r], rm.s)
  for (let i = 0; i < seen.length; i += 3) cc.addRange(seen[i], seen[i + 1], seen[i + 2])

  // 5. drop nested containers left empty
  if (touchedNested !== null) for (const c of touchedNested as Set<Container>) if (c.attached && c.isEmpty()) detach(c)
  for (let i = 0; i < wired.length; i++) {
    const c = wired[i]
    if (c != null && c.parent !== null && c.attached && c.isEmpty()) detach(c)
  }
  return maxTime
}

/** The still-live elements a transaction added, per container, as its module's payloads. */
export const partsOf = (txn: Txn): Array<{ c: Container, p: unknown }> => {
  const out: Array<{ c: Container, p: unknown }> = []
  if (txn.adds === null) return out
  for (const [c, adds] of txn.adds) {
    const p = moduleOf(c.type).deltaPart(c, adds)
    if (p !== null) out.push({ c, p })
  }
  return out
}
