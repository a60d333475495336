import { HashRing, JumpHash } from 'aegis-replication'

// Place documents on hubs: same key → same hub in every runtime.
const ring = new HashRing() // 150 virtual nodes per hub
for (const hub of ['hub-a', 'hub-b', 'hub-c', 'hub-d']) ring.addNode(hub)

export const owner = ring.getNode('doc:board-42') // e.g. 'hub-c'
export const replicas = ring.getNodes('doc:board-42', 3) // 3 distinct hubs

// Or map keys to numbered shards with no table at all.
export const shard = JumpHash.hash('doc:board-42', 16) // 0..15
