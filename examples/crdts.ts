import { HybridLogicalClock, Ordering, ORMap, ORSet, VectorClock } from 'aegis-replication'

// Standalone delta-state CRDTs: every operation returns a small delta.
const a = new ORSet<string>('replica-a')
const b = new ORSet<string>('replica-b')
const d1 = a.add('milk')
b.merge(d1) // ship only the delta, not the whole set
const d2 = b.remove('milk') // b removes what it has seen...
const d3 = a.add('milk') // ...while a re-adds it concurrently
a.merge(d2)
b.merge(d3)
export const basket = [a.values(), b.values()] // add wins on both: [['milk'], ['milk']]

// Nested CRDTs in a map; a concurrent update beats a remove.
const m1 = new ORMap('replica-a')
const m2 = new ORMap('replica-b')
m2.merge(m1.counter('likes').increment(2))
const removed = m2.remove('likes') // b drops the counter...
const updated = m1.counter('likes').increment(1) // ...while a increments it
m1.merge(removed)
m2.merge(updated)
m2.merge(m1.map('profile').register('name').set('Ada'))
export const profile = [m1.value(), m2.value()]
// both: { likes: 3, profile: { name: ['Ada'] } } — the updated counter survives
// whole; registers in an ORMap are multi-value (all concurrent writes)

// Vector clocks order events; HLC timestamps order last-writer-wins values.
const vc1 = VectorClock.from({ a: 2, b: 1 })
const vc2 = VectorClock.from({ a: 1, b: 3 })
export const concurrent = vc1.compare(vc2) === Ordering.Concurrent // true
const hlc = new HybridLogicalClock('replica-a')
export const later = hlc.now() < hlc.now() // true: strictly increasing
