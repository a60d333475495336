/**
 * A hub's seat in the hubs' Raft group: a {@link RaftNode} on the file
 * write-ahead log (`<dataDir>/raft`), the {@link KvStateMachine}, and the
 * {@link HubPeerTransport} to the other hubs. It serves the clients' KV
 * requests: on the leader it proposes (writes, tagged with the client's
 * session for exactly-once) or reads (ReadIndex); a follower forwards the
 * request to the leader over the peer transport and relays the answer.
 *
 * The peer sockets carry three channels, by the first byte of a message:
 * Raft messages, forwarded requests (KV requests with the access `auth`
 * gave the client, or membership requests), and their answers. Every peer
 * socket is authenticated with the cluster secret first ({@link cluster-auth}).
 *
 * @module
 */
import { join } from 'node:path'
import { DecodeError, InvalidArgumentError, NotLeaderError, silentLogger, type Logger } from 'aegis-replication'
import type { PeerId } from 'aegis-replication/transport'
import { DEFAULT_SNAPSHOT_STREAM_CHUNK_BYTES, decodeKvCommand, encodeKvCommand, KvStateMachine, RaftNode, type RaftConfig, type SessionTag } from 'aegis-replication/raft'
import { Access, KvStatus, kvAnswerForError, type KvAnswer, type KvRequest } from 'aegis-replication/sync'
import { FileRaftStorage } from 'aegis-replication/fs'
import { HubPeerTransport } from './peer-transport.js'
import { checkSecret, randomSecret } from './cluster-auth.js'
import { isClusterKey, loadIdentity, readDirectory } from './cluster-identity.js'
import { HubMembership, type AdminAnswer, type AdminRequest } from './membership.js'
import { adminRequest } from './admin-client.js'
import { Channel, decodeAnswer, decodeForward, encodeAnswer, encodeForward, hideClusterKeys, Kind, RaftChannel } from './peer-channels.js'


/** Default of {@link HubRaftOptions.maxEntryBytes}. */
export const DEFAULT_MAX_ENTRY_BYTES = 1024 * 1024

/** Options of {@link HubRaftMember.start}. */
export interface HubRaftOptions {
  /** This hub's id in the group. */
  id: string
  /** The other hubs: id → base URL (`ws://host:port`). Empty: a group of one. */
  peers: Record<string, string>
  /** The hub's data directory; the Raft log goes in `<dataDir>/raft`. */
  dataDir: string
  /** @default true */
  fsync?: boolean
  /**
   * The cluster secret the hubs authenticate each other with (challenge–response,
   * never sent). Required with `peers` or `join`; a group of one without it
   * refuses every peer and `members` request.
   */
  clusterSecret?: string
  /** @deprecated the old name of `clusterSecret` (any length accepted); kept for one version. */
  clusterToken?: string
  /** Join the cluster through this member (`ws://host:port`) instead of bootstrapping one from `peers`. */
  join?: string
  /** The URL the other hubs reach this one at (recorded in the member directory). Required with `join`. */
  selfUrl?: string
  /** Largest KV command a client may propose; bigger ones get `KvStatus.TooLarge`. @default 1 MiB */
  maxEntryBytes?: number
  /** Largest message a peer hub may send (the `/raft` limit; bigger ones arrive as fragments of `fragmentBytes`). @default 64 MiB */
  maxPeerMessageBytes?: number
  /** Largest WebSocket frame sent to a peer hub. @default 64 KiB */
  fragmentBytes?: number
  /** Raft timing and snapshots (milliseconds and entries). */
  raft?: Pick<RaftConfig, 'electionTimeout' | 'heartbeatInterval' | 'snapshotThreshold' | 'requestTimeout' | 'maxEntryBytes' | 'maxUncommittedBytes' | 'sessionLimits'>
  /** How long a follower waits for the leader's answer to a forwarded request. @default 5000 */
  forwardTimeoutMs?: number
  /**
   * While there is no leader (an election after a crash), the hub keeps
   * retrying a request itself for this long before it answers `Retry`.
   * @default 3000
   */
  retryWindowMs?: number
  /** @default silentLogger */
  logger?: Logger
}

interface Forwarded { to: string, resolve: (a: KvAnswer) => void, timer: ReturnType<typeof setTimeout> }

/** The keys a KV command touches (a range touches none: it only reads). */
const keyOf = (command: ReturnType<typeof decodeKvCommand>): string | undefined => command.type === 'range' ? undefined : command.key

const text = new TextEncoder()
const untext = new TextDecoder()

/** See the module documentation. */
export class HubRaftMember {
  private readonly forwarded = new Map<number, Forwarded>()
  private nextForward = 1
  private closed = false
  private reconciler: ReturnType<typeof setInterval> | undefined
  private joining: Promise<void> | undefined
  /** Membership: admission of peers, the member directory, `members` requests. */
  readonly membership: HubMembership

  private constructor (
    readonly node: RaftNode,
    private readonly sm: KvStateMachine,
    private readonly storage: FileRaftStorage,
    private readonly options: HubRaftOptions,
    private readonly logger: Logger,
    private readonly secret: string,
    identity: Awaited<ReturnType<typeof loadIdentity>>,
    private readonly transportRef: { t?: HubPeerTransport }
  ) {
    this.membership = new HubMembership(node, sm, () => this.transport, identity, {
      id: options.id, dataDir: options.dataDir, peers: options.peers, selfUrl: options.selfUrl, logger
    })
    const transport = this.transport
    transport.on('message', (from, frame) => { this.onPeerFrame(from, frame) })
    // a leader that went away will not answer: retry at once instead of waiting out the timeout
    transport.on('peer-left', (peer) => {
      for (const [id, f] of this.forwarded) {
        if (f.to !== peer) continue
        this.forwarded.delete(id)
        clearTimeout(f.timer)
        f.resolve({ status: KvStatus.Retry, reason: `lost the connection to the leader (${peer})` })
      }
    })
  }

  /** The authenticated sockets to the other hubs. */
  get transport (): HubPeerTransport { return this.transportRef.t! }

  /**
   * Opens the log, starts the node and dials the peers.
   *
   * @throws {InvalidArgumentError} without an id, or with peers or `join` but no cluster secret.
   */
  static async start (options: HubRaftOptions): Promise<HubRaftMember> {
    if (typeof options.id !== 'string' || options.id === '') throw new InvalidArgumentError('the hub needs an id (--id) to join a Raft group')
    const logger = options.logger ?? silentLogger
    const others = Object.keys(options.peers).filter(p => p !== options.id)
    const grouped = others.length > 0 || options.join !== undefined
    const token = options.clusterSecret === undefined && options.clusterToken !== undefined && options.clusterToken !== '' ? options.clusterToken : undefined
    const secret = token ?? (grouped || options.clusterSecret !== undefined ? checkSecret(options.clusterSecret) : randomSecret())
    if (options.join !== undefined && options.selfUrl === undefined) throw new InvalidArgumentError('a hub that joins a cluster needs the URL the others reach it at (a fixed --port, or selfUrl)')
    const storage = await FileRaftStorage.open(join(options.dataDir, 'raft'), { fsync: options.fsync ?? true })
    let member: HubRaftMember | undefined
    try {
      const identity = await loadIdentity(options.dataDir)
      const sm = new KvStateMachine()
      const ref: { t?: HubPeerTransport } = {}
      ref.t = new HubPeerTransport({
        id: options.id,
        peers: {},
        secret,
        identity: () => ({ nodeId: options.id, memberId: identity.memberId, clusterId: identity.clusterId }),
        admit: (peer) => member === undefined ? 'the hub is starting' : member.membership.admit(peer),
        onMember: (peer) => { member?.membership.sawMember(peer) },
        onAdmin: (req, reply) => { void member?.onAdmin(req, reply) },
        fragmentBytes: options.fragmentBytes,
        maxMessageBytes: options.maxPeerMessageBytes,
        logger
      })
      const node = new RaftNode(
        // a streamed snapshot chunk (plus its header) fits one peer-link fragment
        { nodeId: options.id, peers: others, join: options.join !== undefined, snapshotChunkBytes: Math.max(1024, Math.min(DEFAULT_SNAPSHOT_STREAM_CHUNK_BYTES, (options.fragmentBytes ?? 64 * 1024) - 4096)), ...options.raft },
        storage, new RaftChannel(ref.t), sm, { logger }
      )
      member = new HubRaftMember(node, sm, storage, options, logger, secret, identity, ref)
      await node.start()
      const conf = node.status().conf
      const wanted = [...new Set([options.id, ...others])].sort()
      const inLog = [...conf.voters, ...conf.learners].sort()
      if (options.join === undefined && inLog.length > 0 && inLog.join(',') !== wanted.join(',')) {
        logger.warn('--peers differs from the configuration in the Raft log; the log wins (change membership with aegis-hub members add|remove)', { peers: wanted.join(','), log: inLog.join(',') })
      }
      await member.membership.reconcile()
      ref.t.start()
      member.reconciler = setInterval(() => { void member?.membership.reconcile().catch(err => logger.warn('membership reconcile failed', { error: String(err) })) }, 100)
      member.reconciler.unref?.()
      if (options.join !== undefined && inLog.length === 0) member.joining = member.askToJoin(options.join)
      logger.info('raft member started', { id: options.id, peers: others.join(',') || '(none)', join: options.join, memberId: identity.memberId, clusterId: identity.clusterId || '(not yet known)' })
      return member
    } catch (err) {
      if (member !== undefined) await member.close(); else await storage.close()
      throw err
    }
  }

  /** Serves one client KV request (the sync server's `kv` handler). */
  readonly handle = async (req: KvRequest): Promise<KvAnswer> => {
    let read: boolean
    let range: { limit: number } | undefined
    let command = req.command
    try {
      const cmd = decodeKvCommand(req.command)
      read = cmd.type === 'get' || cmd.type === 'range'
      const key = keyOf(cmd)
      if (key !== undefined && isClusterKey(key)) return { status: KvStatus.Failed, reason: 'keys that start with "\\u0000aegis/" belong to the hubs' }
      if (cmd.type === 'range') {
        // the hubs' own keys are hidden from clients: ask for as many more as there may be, drop them below
        range = { limit: cmd.limit }
        if (cmd.limit > 0) command = encodeKvCommand({ ...cmd, limit: cmd.limit + readDirectory(this.sm).members.size + 16 })
      }
    } catch (err) {
      return { status: KvStatus.Failed, reason: `malformed KV command: ${err instanceof Error ? err.message : String(err)}` }
    }
    if (!read && req.access !== Access.Write) return { status: KvStatus.Failed, reason: 'this token may only read the KV' }
    const max = this.options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES
    if (!read && req.command.length > max) return { status: KvStatus.TooLarge, reason: `the command is ${req.command.length} bytes, over the group's limit of ${max} (maxEntryBytes)` }
    // through an election the answer would be Retry: keep trying here, where a new leader shows first
    const deadline = Date.now() + (this.options.retryWindowMs ?? 3000)
    for (;;) {
      const a = await this.run(read, req.access, command, { clientId: req.session, seq: req.seq, ackedSeq: req.ackedSeq }, true)
      if (a.status !== KvStatus.Retry || this.closed || Date.now() >= deadline) return range === undefined ? a : hideClusterKeys(a, range.limit)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }

  /** Stops the node and the peer sockets; pending forwards answer `Retry`. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.reconciler)
    for (const f of this.forwarded.values()) { clearTimeout(f.timer); f.resolve({ status: KvStatus.Retry, reason: 'the hub is shutting down' }) }
    this.forwarded.clear()
    await this.node.stop()
    await this.transport.close()
    await this.joining
    await this.storage.close()
  }

  /** Runs a membership request here (list) or on the leader (changes), forwarding as needed. */
  async admin (req: AdminRequest, mayForward = true): Promise<AdminAnswer> {
    try {
      if (req === null || typeof req !== 'object' || !['list', 'add', 'join', 'remove'].includes(req.op)) return { ok: false, error: 'unknown membership request' }
      if (req.op === 'list') return this.membership.list()
      if (this.node.isLeader()) return await this.membership.change(req)
      const leader = this.node.leaderId
      if (!mayForward || leader === undefined || leader === this.options.id) return { ok: false, error: 'no Raft leader known yet: retry', retry: true }
      const a = await this.forward(leader, Kind.Admin, text.encode(JSON.stringify(req)), { clientId: '', seq: 0 }, 60_000)
      if (a.status !== KvStatus.Ok) return { ok: false, error: a.reason ?? 'the leader did not answer', retry: true }
      return JSON.parse(untext.decode(a.result)) as AdminAnswer
    } catch (err) {
      const retry = err instanceof NotLeaderError || (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'ConfChangeError' || err.name === 'ProposalDroppedError'))
      return { ok: false, error: err instanceof Error ? err.message : String(err), retry }
    }
  }

  private async onAdmin (request: Uint8Array, reply: (answer: Uint8Array) => void): Promise<void> {
    let a: AdminAnswer
    try {
      a = await this.admin(JSON.parse(untext.decode(request)) as AdminRequest)
    } catch (err) {
      a = { ok: false, error: `bad membership request: ${String(err)}` }
    }
    reply(text.encode(JSON.stringify(a)))
  }

  /** A joining hub asks the group (through `url`) to add it, until it is a member. */
  private async askToJoin (url: string): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const a = await adminRequest(url, this.secret, { op: 'join', id: this.options.id, url: this.options.selfUrl! }, { timeoutMs: 60_000 })
        if (a.ok) { this.logger.info('joined the cluster', { through: url }); return }
        this.logger.warn('join refused', { through: url, error: a.error })
      } catch (err) {
        this.logger.warn('join failed', { through: url, error: err instanceof Error ? err.message : String(err) })
      }
      await new Promise(resolve => setTimeout(resolve, Math.min(5000, 250 * 2 ** attempt)))
    }
  }

  private async run (read: boolean, access: Access, command: Uint8Array, session: SessionTag, mayForward: boolean): Promise<KvAnswer> {
    if (this.closed) return { status: KvStatus.Retry, reason: 'the hub is shutting down' }
    // checked on the leader too: a forwarded request carries what auth decided for the client
    if (!read && access !== Access.Write) return { status: KvStatus.Failed, reason: 'this token may only read the KV' }
    try {
      const result = read
        ? await this.node.read(command)
        : await this.node.propose(command, { session: session.ackedSeq === undefined ? { clientId: session.clientId, seq: session.seq } : session })
      return { status: KvStatus.Ok, result }
    } catch (err) {
      if (err instanceof NotLeaderError) {
        const leader = err.leaderHint ?? this.node.leaderId
        if (mayForward && leader !== undefined && leader !== this.options.id) {
          return await this.forward(leader, read ? Kind.Read : Kind.Write, command, session, this.options.forwardTimeoutMs ?? 5000, access)
        }
        return { status: KvStatus.Retry, reason: 'no Raft leader yet: retry' }
      }
      // the core's size limit → TooLarge, an expired session → SessionExpired (only this request fails);
      // timeouts, dropped proposals, a stopping node → Retry with the same session and seq
      return kvAnswerForError(err)
    }
  }

  private async forward (leader: string, kind: number, command: Uint8Array, session: SessionTag, timeoutMs: number, access: Access = Access.Read): Promise<KvAnswer> {
    if (!this.transport.peers().includes(leader as PeerId)) return { status: KvStatus.Retry, reason: `the leader (${leader}) is not reachable from this hub` }
    const id = this.nextForward++
    return await new Promise<KvAnswer>((resolve) => {
      const timer = setTimeout(() => {
        this.forwarded.delete(id)
        resolve({ status: KvStatus.Retry, reason: `the leader (${leader}) did not answer in time` })
      }, timeoutMs)
      this.forwarded.set(id, { to: leader, resolve, timer })
      this.transport.sendTagged(leader as PeerId, Channel.Forward, encodeForward({ id, kind, access, session: session.clientId, seq: session.seq, command, ...(session.ackedSeq === undefined ? {} : { ackedSeq: session.ackedSeq }) }))
    })
  }

  private onPeerFrame (from: PeerId, frame: Uint8Array): void {
    if (frame[0] === Channel.Raft) return // the node's own channel
    try {
      if (frame[0] === Channel.Forward) {
        const f = decodeForward(frame)
        if (f.kind === Kind.Admin) {
          void this.admin(JSON.parse(untext.decode(f.command)) as AdminRequest, false).then((a) => {
            this.answer(from, f.id, { status: KvStatus.Ok, result: text.encode(JSON.stringify(a)) })
          })
        } else {
          void this.run(f.kind === Kind.Read, f.access, f.command, { clientId: f.session, seq: f.seq, ackedSeq: f.ackedSeq }, false).then((a) => { this.answer(from, f.id, a) })
        }
      } else if (frame[0] === Channel.Answer) {
        const { id, answer } = decodeAnswer(frame)
        const f = this.forwarded.get(id)
        if (f === undefined) return
        this.forwarded.delete(id)
        clearTimeout(f.timer)
        f.resolve(answer)
      } else {
        throw new DecodeError(`unknown peer channel ${frame[0]}`)
      }
    } catch (err) {
      this.logger.warn('dropped a bad frame from a peer hub', { peer: from, error: String(err) })
    }
  }

  private answer (to: PeerId, id: number, a: KvAnswer): void {
    if (this.closed) return
    this.transport.sendTagged(to, Channel.Answer, encodeAnswer(id, a))
  }
}
