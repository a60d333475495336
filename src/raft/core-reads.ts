/**
 * Linearizable reads in the Raft core (ReadIndex): the leader notes its
 * commit index, confirms it still leads with a heartbeat round, and then
 * answers; a new leader first waits for its first commit in its term.
 *
 * @module
 */
import { NotLeaderError } from '../errors.js'
import { SnapshotTransfer } from './core-snapshot.js'
import { quorumOf, type PendingRead } from './core-state.js'
import { Role, type NodeId } from './types.js'

/** See the module documentation. */
export abstract class ReadIndexing extends SnapshotTransfer {
  /**
   * Starts a linearizable read with id `ctx`; a {@link ReadState} with the
   * same `ctx` appears in a later {@link Ready} once a quorum confirmed
   * this leader. Followers forward the request to the leader.
   *
   * @throws {NotLeaderError} when no leader is known.
   */
  readIndex (ctx: number): void {
    if (this.role === Role.Leader) return this.leaderRead(ctx, this.id)
    if (this.leaderId === undefined || this.role !== Role.Follower) throw new NotLeaderError(undefined, 'no leader is known yet: retry after an election')
    this.send({ type: 'read-index', from: this.id, to: this.leaderId, term: this.term, ctx })
  }

  protected leaderRead (ctx: number, from: NodeId): void {
    if (this.log.termAt(this.log.committed) !== this.term) {
      this.waitingReads.push({ ctx, from })
      return
    }
    const voters = this.conf.voters
    if (voters.length === 1 && voters[0] === this.id) return this.answerRead({ ctx, from, index: this.log.committed, seq: 0 })
    this.pendingReads.push({ ctx, from, index: this.log.committed, seq: ++this.readSeq })
    this.readHeartbeat = true
  }

  protected answerRead (r: PendingRead): void {
    if (r.from === this.id) this.readStates.push({ ctx: r.ctx, index: r.index })
    else this.send({ type: 'read-index-resp', from: this.id, to: r.from, term: this.term, ctx: r.ctx, index: r.index, reject: false })
  }

  protected releaseReads (): void {
    if (this.pendingReads.length === 0) return
    const acked: number[] = []
    for (const v of this.conf.voters) acked.push(v === this.id ? this.readSeq : this.progress.get(v)?.readSeq ?? 0)
    acked.sort((a, b) => b - a)
    const confirmed = acked[quorumOf(acked.length) - 1]
    let n = 0
    while (n < this.pendingReads.length && this.pendingReads[n].seq <= confirmed) this.answerRead(this.pendingReads[n++])
    if (n > 0) this.pendingReads = this.pendingReads.slice(n)
  }
}
