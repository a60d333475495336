/**
 * Elections in the Raft core: pre-vote and vote rounds, granting votes,
 * counting them, and becoming leader (with a no-op entry of the new term).
 *
 * @module
 */
import type { RaftMessage, VoteMessage } from './messages.js'
import { Replication } from './core-replication.js'
import { quorumOf } from './core-state.js'
import { EntryType, Role, type NodeId } from './types.js'

/** See the module documentation. */
export abstract class Election extends Replication {
  /** Handles a message as a follower. */
  protected abstract stepFollower (m: RaftMessage): void

  /** Starts an election now (if this node is a voter). */
  campaignNow (): void {
    if (this.role !== Role.Leader && this.promotable()) this.campaign(this.opts.preVote ? 'pre' : 'election')
  }

  protected becomeLeader (): void {
    this.reset(this.term)
    this.role = Role.Leader
    this.leaderId = this.id
    const last = this.log.lastIndex()
    for (const id of [...this.conf.voters, ...this.conf.learners]) this.addProgress(id, last + 1)
    const self = this.progress.get(this.id)
    if (self !== undefined) { self.match = this.log.stable; self.becomeReplicate() }
    this.appendEntry(EntryType.Noop, new Uint8Array(0))
    this.pendingConfIndex = this.log.lastIndex()
  }

  protected campaign (kind: 'pre' | 'election' | 'transfer'): void {
    let term: number
    if (kind === 'pre') {
      this.reset(this.term)
      this.role = Role.PreCandidate
      term = this.term + 1
    } else {
      this.reset(this.term + 1)
      this.role = Role.Candidate
      this.vote = this.id
      term = this.term
    }
    const type = kind === 'pre' ? 'pre-vote' : 'vote'
    if (this.poll(this.id, true) === 'won') {
      if (kind === 'pre') this.campaign('election')
      else this.becomeLeader()
      return
    }
    for (const v of this.conf.voters) {
      if (v === this.id) continue
      this.send({ type, from: this.id, to: v, term, index: this.log.lastIndex(), logTerm: this.log.lastTerm(), transfer: kind === 'transfer' })
    }
  }

  protected poll (id: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    if (!this.votes.has(id)) this.votes.set(id, granted)
    let yes = 0
    let no = 0
    for (const v of this.conf.voters) {
      const g = this.votes.get(v)
      if (g === true) yes++
      else if (g === false) no++
    }
    const q = quorumOf(this.conf.voters.length)
    if (yes >= q) return 'won'
    if (no > this.conf.voters.length - q) return 'lost'
    return 'pending'
  }

  protected handleVote (m: VoteMessage): void {
    const canVote = this.vote === m.from || (this.vote === null && this.leaderId === undefined) || (m.type === 'pre-vote' && m.term > this.term)
    const grant = canVote && this.log.isUpToDate(m.index, m.logTerm)
    const type = m.type === 'vote' ? 'vote-resp' : 'pre-vote-resp'
    if (grant) {
      this.send({ type, from: this.id, to: m.from, term: m.term, reject: false })
      if (m.type === 'vote') {
        this.electionElapsed = 0
        this.vote = m.from
      }
    } else {
      this.send({ type, from: this.id, to: m.from, term: this.term, reject: true })
    }
  }

  protected stepCandidate (m: RaftMessage): void {
    const myResp = this.role === Role.PreCandidate ? 'pre-vote-resp' : 'vote-resp'
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.becomeFollower(m.term, m.from)
        this.stepFollower(m)
        return
      case 'vote-resp':
      case 'pre-vote-resp': {
        if (m.type !== myResp) return
        const r = this.poll(m.from, !m.reject)
        if (r === 'won') {
          if (this.role === Role.PreCandidate) this.campaign('election')
          else this.becomeLeader()
        } else if (r === 'lost') {
          this.becomeFollower(this.term, undefined)
        }
        return
      }
      case 'timeout-now':
        return
      case 'read-index':
        this.send({ type: 'read-index-resp', from: this.id, to: m.from, term: this.term, ctx: m.ctx, index: 0, reject: true })
    }
  }
}
