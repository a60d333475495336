/**
 * Standalone delta-state CRDTs (Almeida, Shoker, Baquero 2018). Every
 * mutation returns a delta — an instance of the same class — that any
 * replica's `merge` accepts, in any order and any number of times.
 *
 * ```ts
 * import { ORSet } from 'aegis-replication'
 * const a = new ORSet<string>('alice'), b = new ORSet<string>('bob')
 * b.merge(a.add('milk'))
 * b.values() // ['milk']
 * ```
 *
 * @module
 */
export { CRDT_FORMAT_VERSION, CrdtTypeTag } from './format.js'
export { CausalContext, CAUSAL_CONTEXT_VERSION, type Dot } from './causal-context.js'
export { GCounter } from './g-counter.js'
export { PNCounter } from './pn-counter.js'
export { LWWRegister, type LWWEntry, compareLWWEntries } from './lww-register.js'
export { MVRegister } from './mv-register.js'
export { ORSet } from './or-set.js'
export { ORMap, ORMapView, ORMapCounter, ORMapRegister, ORMapSet } from './or-map.js'
export { MAX_MAP_DEPTH } from './or-map-store.js'
export type { NestedJSON } from './or-map-store.js'
