/**
 * The hubs' membership on top of {@link RaftNode}'s `addNode`/`removeNode`:
 * keeps the peer transport dialling the configuration in the log (URLs from
 * the replicated member directory), decides which authenticated peers may
 * connect (cluster id, member id, membership), has the leader fill the
 * directory (cluster id, URLs, member ids on first contact), and runs the
 * `members add|remove|list` and `join` requests on the leader.
 *
 * @module
 */
import { ConfChangeError, type KvStateMachine, type RaftNode } from 'aegis-replication/raft'
import type { Logger } from 'aegis-replication'
import { clusterMismatch, type PeerIdentity } from './cluster-auth.js'
import {
  claimClusterId, deleteMember, putMember, randomId, readDirectory, saveIdentity, type LocalIdentity, type MemberRecord
} from './cluster-identity.js'
import type { HubPeerTransport } from './peer-transport.js'

/** A membership request (JSON on an admin socket or forwarded to the leader). */
export type AdminRequest =
  | { op: 'list' }
  | { op: 'add', id: string, url: string }
  | { op: 'join', id: string, url: string }
  | { op: 'remove', id: string }

/** A row of `members list`. */
export interface MemberRow { id: string, url: string | null, role: 'voter' | 'learner', memberId: string | null, leader: boolean }

/** The answer to an {@link AdminRequest}. */
export type AdminAnswer =
  | { ok: true, clusterId: string, leader: string | null, members: MemberRow[] }
  | { ok: false, error: string, retry?: boolean }

const URL_RE = /^wss?:\/\/[^\s/]+$/

/** See the module documentation. */
export class HubMembership {
  /** Member ids of peers seen on authenticated sockets (the leader binds them). */
  private readonly seen = new Map<string, string>()
  private proposing = false

  constructor (
    private readonly node: RaftNode,
    private readonly sm: KvStateMachine,
    private readonly transport: () => HubPeerTransport,
    private readonly identity: LocalIdentity,
    private readonly options: { id: string, dataDir: string, peers: Record<string, string>, selfUrl?: string, logger: Logger }
  ) {}

  /** Members and learners of the configuration this node has, without itself. */
  private others (): string[] {
    const conf = this.node.status().conf
    return [...conf.voters, ...conf.learners].filter(id => id !== this.options.id)
  }

  /** Whether an authenticated peer may connect as a member; a reason when not. */
  admit (peer: PeerIdentity): string | undefined {
    const dir = readDirectory(this.sm)
    const mismatch = clusterMismatch(this.identity.clusterId !== '' ? this.identity.clusterId : dir.clusterId, peer.clusterId)
    if (mismatch !== undefined) return `hub ${peer.nodeId}: ${mismatch}`
    const rec = dir.members.get(peer.nodeId)
    if (rec?.memberId !== undefined && rec.memberId !== peer.memberId) {
      return `hub ${peer.nodeId} has a new data directory (member id ${peer.memberId}, the group knows ${rec.memberId}): ` +
        `it may not vote until it is removed and added again (aegis-hub members remove ${peer.nodeId}, then members add)`
    }
    let conf
    try { conf = this.node.status().conf } catch { return undefined } // not started: the handshake of a starting hub
    if (conf.voters.length === 0 && conf.learners.length === 0) return undefined // joining: the group will tell
    if (!conf.voters.includes(peer.nodeId) && !conf.learners.includes(peer.nodeId)) return `hub ${peer.nodeId} is not a member of this group`
    return undefined
  }

  /** An authenticated member connected. */
  sawMember (peer: PeerIdentity): void {
    this.seen.set(peer.nodeId, peer.memberId)
  }

  /** Brings the transport, the local identity and (on the leader) the directory up to date. */
  async reconcile (): Promise<void> {
    let conf
    try { conf = this.node.status().conf } catch { return }
    const dir = readDirectory(this.sm)
    if (dir.clusterId !== '' && dir.clusterId !== this.identity.clusterId) {
      this.identity.clusterId = dir.clusterId
      await saveIdentity(this.options.dataDir, this.identity)
      this.options.logger.info('cluster id', { clusterId: dir.clusterId })
    }
    const peers: Record<string, string> = {}
    for (const id of this.others()) {
      const url = dir.members.get(id)?.url ?? this.options.peers[id]
      if (url !== undefined) peers[id] = url
    }
    this.transport().setPeers(peers)
    if (!this.node.isLeader() || this.proposing) return
    const commands: Uint8Array[] = []
    if (dir.clusterId === '') commands.push(claimClusterId(this.identity.clusterId !== '' ? this.identity.clusterId : randomId()))
    for (const id of [...conf.voters, ...conf.learners]) {
      const rec = dir.members.get(id)
      const bound = id === this.options.id ? this.identity.memberId : this.seen.get(id)
      const url = rec?.url ?? (id === this.options.id ? this.options.selfUrl : this.options.peers[id])
      if (url === undefined) continue
      if (rec === undefined || (rec.memberId === undefined && bound !== undefined)) commands.push(putMember(id, { url, ...(bound === undefined ? {} : { memberId: bound }) }))
    }
    if (commands.length === 0) return
    this.proposing = true
    try {
      for (const c of commands) await this.node.propose(c)
    } catch (err) {
      this.options.logger.debug('membership: directory update not committed yet', { error: String(err) })
    } finally { this.proposing = false }
  }

  /** Rows for `members list`, from this node's applied state. */
  list (): AdminAnswer {
    const conf = this.node.status().conf
    const dir = readDirectory(this.sm)
    const row = (id: string, role: MemberRow['role']): MemberRow => {
      const rec = dir.members.get(id)
      return { id, url: rec?.url ?? null, role, memberId: rec?.memberId ?? null, leader: this.node.leaderId === id }
    }
    return {
      ok: true,
      clusterId: dir.clusterId,
      leader: this.node.leaderId ?? null,
      members: [...conf.voters.map(id => row(id, 'voter')), ...conf.learners.map(id => row(id, 'learner'))]
    }
  }

  /** Runs a change on the leader (the caller forwards it there when this node is not). */
  async change (req: Exclude<AdminRequest, { op: 'list' }>): Promise<AdminAnswer> {
    if (typeof req.id !== 'string' || req.id === '' || req.id.length > 256) return { ok: false, error: 'a member needs an id' }
    const conf = this.node.status().conf
    const isMember = conf.voters.includes(req.id) || conf.learners.includes(req.id)
    if (req.op === 'remove') {
      if (!isMember) return { ok: false, error: `${req.id} is not a member` }
      if (req.id === this.options.id) {
        // hand leadership over first, then the new leader removes this hub
        const next = conf.voters.find(v => v !== this.options.id)
        if (next === undefined) return { ok: false, error: 'cannot remove the last voter' }
        await this.node.transferLeadership(next)
        return { ok: false, error: `leadership moved to ${next}: send the request again`, retry: true }
      }
      await this.node.removeNode(req.id)
      await this.node.propose(deleteMember(req.id))
      this.seen.delete(req.id)
      // after the answer has gone out (the request may have come from the removed hub itself)
      setTimeout(() => { this.transport().disconnect(req.id, 'removed from the group') }, 1000).unref?.()
      return this.list()
    }
    if (!URL_RE.test(req.url)) return { ok: false, error: `a member's URL is ws://host:port, got ${JSON.stringify(req.url)}` }
    const dir = readDirectory(this.sm)
    if (isMember) {
      if (req.op === 'join' && dir.members.get(req.id)?.url === req.url) return this.list()
      return { ok: false, error: `${req.id} is a member already: remove it first` }
    }
    this.seen.delete(req.id)
    const rec: MemberRecord = { url: req.url }
    await this.node.propose(putMember(req.id, rec)) // every member learns the address before it dials
    try {
      await this.node.addNode(req.id)
    } catch (err) {
      if (err instanceof ConfChangeError) return { ok: false, error: err.message, retry: true }
      throw err
    }
    return this.list()
  }
}
