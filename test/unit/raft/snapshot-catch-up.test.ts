/**
 * The leader used to compact its log right up to each new snapshot, so a
 * follower only a few entries behind at that moment could catch up only by
 * receiving the whole snapshot. Like etcd (`SnapshotCatchUpEntries`), the
 * log now keeps the entries since the previous snapshot in memory.
 */
import { describe, expect, it } from 'vitest'
import { enc, fakePeers, track } from './fake-peers.js'

describe('snapshots and lagging followers', () => {
  it('the leader keeps the entries since its previous snapshot in memory, for followers slightly behind the latest one', async () => {
    const c = await fakePeers({ snapshotThreshold: 5 })
    await c.until(() => c.node.isLeader())
    for (let i = 0; i < 12; i++) {
      const p = track(c.node.propose(enc(`c${i}`)))
      await c.until(() => p.settled)
    }
    await c.run(50)
    const saved = c.storage.snapshot!.index
    expect(saved).toBeGreaterThanOrEqual(10)
    expect(c.node.raft!.log.snapshot.index).toBeLessThan(saved) // entries since the previous snapshot stay in memory
    // so a follower behind `saved` by less than a snapshot interval is sent entries (the leader sends a
    // snapshot only when the entries after the follower's match are gone)
    expect(c.node.raft!.log.firstIndex()).toBeLessThanOrEqual(saved - 3)
    expect(c.node.raft!.log.termAt(saved - 3)).toBe(c.node.status().term)
    await c.node.stop()
  })
})
