/**
 * Membership in the Raft core: single-server configuration changes, the
 * configuration taking effect as soon as it is in the log, learners
 * promoted once caught up, and leadership transfer.
 *
 * @module
 */
import { NotLeaderError } from '../errors.js'
import { encodeConfChange } from './codec.js'
import { Election } from './core-election.js'
import { ConfChangeError } from './errors.js'
import { ConfChangeOp, EntryType, Role, type ConfChange, type ConfState, type NodeId } from './types.js'

/** See the module documentation. */
export abstract class Membership extends Election {
  /**
   * Proposes a single-server membership change.
   *
   * @throws {NotLeaderError} when not the leader.
   * @throws {ConfChangeError} when a change is still pending, the leader
   *   has not committed an entry of its term yet, or the change does not
   *   fit the configuration.
   */
  proposeConfChange (op: ConfChange['op'], node: NodeId): { index: number, term: number } {
    this.checkLeader()
    if (this.pendingConfIndex > this.log.committed || this.log.termAt(this.log.committed) !== this.term) {
      throw new ConfChangeError('another membership change is still being committed: wait for it, then retry')
    }
    const conf = this.log.conf()
    const isVoter = conf.voters.includes(node)
    const isLearner = conf.learners.includes(node)
    const next: ConfState = { voters: [...conf.voters], learners: [...conf.learners] }
    switch (op) {
      case ConfChangeOp.AddLearner:
        if (isVoter || isLearner) throw new ConfChangeError(`${node} is already a member`)
        next.learners.push(node)
        break
      case ConfChangeOp.Promote:
        if (!isLearner) throw new ConfChangeError(`${node} is not a learner: add it first`)
        next.learners = next.learners.filter((n) => n !== node)
        next.voters.push(node)
        break
      case ConfChangeOp.Remove:
        if (!isVoter && !isLearner) throw new ConfChangeError(`${node} is not a member`)
        if (isVoter && conf.voters.length === 1) throw new ConfChangeError(`${node} is the last voter and cannot be removed`)
        next.voters = next.voters.filter((n) => n !== node)
        next.learners = next.learners.filter((n) => n !== node)
        break
    }
    next.voters.sort()
    next.learners.sort()
    const r = this.appendEntry(EntryType.ConfChange, encodeConfChange({ op, node, conf: next }))
    this.pendingConfIndex = r.index
    return r
  }

  /**
   * Hands leadership to `to`: the leader brings it up to date, then tells
   * it to campaign at once. Proposals are refused meanwhile; the transfer
   * is abandoned after an election timeout.
   *
   * @throws {NotLeaderError} when not the leader.
   * @throws {ConfChangeError} when `to` is not a voter.
   */
  transferLeadership (to: NodeId): void {
    if (this.role !== Role.Leader) throw new NotLeaderError(this.leaderId)
    if (to === this.id) return
    if (!this.conf.voters.includes(to)) throw new ConfChangeError(`cannot transfer leadership to ${to}: it is not a voter`)
    this.leadTransferee = to
    this.transferElapsed = 0
    const pr = this.progress.get(to)!
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeout-now', from: this.id, to, term: this.term })
    else this.sendAppend(to)
  }

  /** The configuration changed (appended or truncated): adopt it. */
  protected confChanged (): void {
    this.conf = this.log.conf()
    if (this.role !== Role.Leader) return
    const members = new Set([...this.conf.voters, ...this.conf.learners])
    for (const id of members) this.addProgress(id, this.log.lastIndex())
    for (const id of [...this.progress.keys()]) if (!members.has(id) && id !== this.id) this.progress.delete(id)
    if (this.leadTransferee !== undefined && !this.conf.voters.includes(this.leadTransferee)) this.leadTransferee = undefined
    this.maybeCommit()
  }

  protected maybePromote (): void {
    if (!this.opts.autoPromote || this.leadTransferee !== undefined) return
    if (this.pendingConfIndex > this.log.committed || this.log.termAt(this.log.committed) !== this.term) return
    for (const l of this.conf.learners) {
      const pr = this.progress.get(l)
      if (pr !== undefined && pr.match >= this.log.committed) {
        this.proposeConfChange(ConfChangeOp.Promote, l)
        return
      }
    }
  }
}
