/**
 * Hashing: stable key hashes and the three ways to spread keys over nodes.
 *
 * - {@link HashRing}: named nodes with weights, replica sets of distinct
 *   nodes, fast lookups (binary search), any number of nodes.
 * - {@link Rendezvous}: named nodes with exact weighted shares; a lookup
 *   scores every node, so best for tens to hundreds of nodes.
 * - {@link JumpHash}: numbered buckets (shards), no state, perfect balance;
 *   buckets are added and removed only at the end.
 * - {@link xxh64} / {@link xxh32}: xxHash of strings (UTF-8) or bytes,
 *   identical in every runtime and to the reference C library.
 *
 * ```ts
 * import { HashRing, JumpHash, Rendezvous, xxh64Hex } from 'aegis-replication'
 * const ring = new HashRing().addNode('hub-a').addNode('hub-b').addNode('hub-c')
 * ring.getNodes('doc:42', 2)   // two distinct hubs, owner first
 * JumpHash.hash('doc:42', 16)  // a shard in [0, 16)
 * new Rendezvous().addNode('a').addNode('b', 2).getNode('doc:42')
 * xxh64Hex('abc')              // '44bc2cf5ad770999'
 * ```
 *
 * @module
 */
export { xxh64, xxh64Hex, xxh64Into, type HashInput, type Seed64 } from './hash64.js'
export { xxh32 } from './xxh32.js'
export { JumpHash, type JumpKey } from './jump-hash.js'
export { HashRing, type HashRingOptions } from './hash-ring.js'
export { Rendezvous } from './rendezvous.js'
