/**
 * The Raft driver: runs a {@link RaftCore} on a clock, a transport, a
 * storage and a state machine. It ticks the core, persists each batch
 * before sending the messages that depend on it, applies committed
 * commands (exactly once per client session), serves ReadIndex reads,
 * takes snapshots every `snapshotThreshold` entries (and no more often
 * than the store's size in log bytes allows), and settles every
 * pending call with a result or a typed error.
 *
 * @module
 */
import { silentLogger, systemClock, systemRandom, type Components, type TimerHandle } from '../components.js'
import { DecodeError, InvalidArgumentError, NotLeaderError, StorageError, TimeoutError } from '../errors.js'
import { peerId, type PeerId, type Transport } from '../transport/transport.js'
import { decodeConfChange, decodeRaftMessage, encodeConfChange, encodeRaftMessage } from './codec.js'
import { ProposalDroppedError, RaftStoppedError, SessionExpiredError } from './errors.js'
import { decodeCommand, encodeCommand, type SessionLimits } from './envelope.js'
import { ProposalWaiters, type ApplyOutcome } from './proposal-waiters.js'
import type { ProposeOptions, RaftConfig, StateMachine } from './raft-config.js'
import { RaftCore, type Ready, type RaftStatus } from './raft.js'
import { DEFAULT_SESSION_LIMITS, SessionTable, checkSessionLimits, decodeNodeSnapshot, encodeNodeSnapshot } from './session.js'
import type { RaftStorage } from './storage.js'
import { isSnapshotStreamFrame } from './snapshot-messages.js'
import { isSnapshotStore } from './snapshot-store.js'
import { NO_DATA, SnapshotStreaming } from './snapshot-stream.js'
import { ConfChangeOp, EntryType, Role, type ConfState, type Entry, type HardState, type NodeId, type Snapshot } from './types.js'

export type { ProposeOptions, RaftConfig, StateMachine } from './raft-config.js'

/** {@link RaftStatus} plus the driver's applied index. */
export interface RaftNodeStatus extends RaftStatus {
  /** Highest index applied to the state machine. */
  applied: number
}

interface Waiter<T> { resolve: (v: T) => void, reject: (e: Error) => void, timer: TimerHandle }
interface PendingRead extends Waiter<Uint8Array> { query: Uint8Array, index: number | undefined }
interface ConfWaiter extends Waiter<void> { done: (conf: ConfState) => boolean }

const isPromise = <T>(v: T | Promise<T>): v is Promise<T> => typeof (v as { then?: unknown } | null)?.then === 'function'

const checkMs = (v: number, what: string): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new InvalidArgumentError(`${what} must be a positive number of milliseconds, got ${v}`)
  return v
}

/**
 * A Raft group member. See the module documentation.
 *
 * ```ts
 * const node = new RaftNode({ nodeId: 'n1', peers: ['n2', 'n3'] }, new MemoryRaftStorage(), transport, kv)
 * await node.start()
 * const result = await node.propose(cmd)   // on the leader
 * const answer = await node.read(query)    // linearizable
 * ```
 */
export class RaftNode {
  private readonly config: RaftConfig
  private readonly components: Components
  private core: RaftCore | undefined
  private readonly sessions: SessionTable
  private readonly tickMs: number
  private readonly ticks: { heartbeat: number, election: { min: number, max: number } }
  private readonly requestTimeout: number
  private readonly membershipTimeout: number
  private readonly snapshotThreshold: number
  /**
   * Bytes of entries applied since the last snapshot, and that snapshot's
   * size: a snapshot also waits until the log since the last one holds as
   * many bytes, so writing snapshots of a large store costs O(1) copies per
   * byte written, not O(store) every `snapshotThreshold` entries.
   */
  private appliedBytes = 0
  private snapshotBytes = 0
  /** The session limits this node asks the group for, if any. */
  private readonly wantLimits: SessionLimits | undefined
  /** The term in which this node (as leader) last checked the group's session limits. */
  private limitsTerm = -1
  private tickTimer: TimerHandle | undefined
  private started = false
  private stopped = false
  private processing = false
  private applied = 0
  private snapshotIndex = 0
  /** The hard state last handed to the storage. */
  private savedHard: HardState = { term: 0, vote: null, commit: 0 }
  /** The latest snapshot saved; the core's log is compacted only up to the one before it. */
  private retained: Snapshot | undefined
  private readCtx = 0
  private soft: { role: Role, leaderId: NodeId | undefined } = { role: Role.Follower, leaderId: undefined }
  private readonly proposals: ProposalWaiters
  private readonly reads = new Map<number, PendingRead>()
  private readonly confWaiters = new Set<ConfWaiter>()
  private readonly leaderWaiters = new Set<Waiter<void> & { to: NodeId }>()
  /** Streamed snapshots, when the storage is a `SnapshotStore` (see snapshot-stream.ts). */
  private readonly streaming: SnapshotStreaming | undefined
  /** Streaming: where the snapshot `persist` just installed is read back from, for `restore`. */
  private restoreFrom: (() => Promise<Uint8Array>) | undefined
  private readonly onMessage = (from: PeerId, frame: Uint8Array): void => this.receive(from, frame)
  private readonly onClose = (err?: Error): void => { if (err !== undefined) this.halt(new RaftStoppedError(`the transport closed (${err.message}): restart the node`)) }

  constructor (
    config: RaftConfig,
    private readonly storage: RaftStorage,
    private readonly transport: Transport,
    private readonly stateMachine: StateMachine,
    components: Partial<Components> = {}
  ) {
    if (typeof config.nodeId !== 'string' || config.nodeId === '') throw new InvalidArgumentError('RaftConfig.nodeId must be a non-empty string')
    if (!Array.isArray(config.peers)) throw new InvalidArgumentError('RaftConfig.peers must be an array of node ids ([] when joining)')
    this.config = config
    this.components = { clock: components.clock ?? systemClock(), random: components.random ?? systemRandom(), logger: components.logger ?? silentLogger }
    const et = config.electionTimeout ?? { min: 150, max: 300 }
    checkMs(et.min, 'electionTimeout.min')
    if (!(et.max >= et.min)) throw new InvalidArgumentError(`electionTimeout.max must be >= min, got ${JSON.stringify(et)}`)
    const hb = checkMs(config.heartbeatInterval ?? 50, 'heartbeatInterval')
    if (hb * 2 > et.min) throw new InvalidArgumentError(`heartbeatInterval (${hb}) must be at most half of electionTimeout.min (${et.min})`)
    this.tickMs = checkMs(config.tickInterval ?? Math.max(1, hb / 5), 'tickInterval')
    const heartbeat = Math.max(1, Math.round(hb / this.tickMs))
    const min = Math.max(heartbeat + 1, Math.round(et.min / this.tickMs))
    this.ticks = { heartbeat, election: { min, max: Math.max(min, Math.round(et.max / this.tickMs)) } }
    this.requestTimeout = checkMs(config.requestTimeout ?? 10 * et.max, 'requestTimeout')
    this.membershipTimeout = checkMs(config.membershipTimeout ?? 100 * et.max, 'membershipTimeout')
    this.snapshotThreshold = config.snapshotThreshold ?? 10_000
    for (const k of ['maxEntryBytes', 'maxUncommittedBytes'] as const) {
      const v = config[k]
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw new InvalidArgumentError(`RaftConfig.${k} must be a positive integer number of bytes, got ${String(v)}`)
    }
    this.sessions = new SessionTable()
    this.proposals = new ProposalWaiters(this.components.clock)
    const limits = config.maxSessions !== undefined ? { maxSessions: config.maxSessions, ...config.sessionLimits } : config.sessionLimits
    this.wantLimits = limits === undefined ? undefined : checkSessionLimits({ ...DEFAULT_SESSION_LIMITS, ...limits })
    this.streaming = !isSnapshotStore(storage) || config.snapshotStreaming === false
      ? undefined
      : new SnapshotStreaming(storage, {
        id: config.nodeId,
        chunkBytes: config.snapshotChunkBytes,
        window: config.snapshotWindow,
        logger: this.components.logger,
        sendFrame: (to, frame) => this.transport.send(peerId(to), frame),
        core: () => this.core,
        kick: () => this.kick(),
        stopped: () => this.stopped
      })
  }

  /** @internal The streamed-snapshot sender and receiver (their `stats`), for tests. */
  get snapshotStreaming (): SnapshotStreaming | undefined {
    return this.streaming
  }

  /** The leader this node knows of, if any. */
  get leaderId (): string | undefined {
    return this.soft.leaderId
  }

  /** This node's id. */
  get id (): string {
    return this.config.nodeId
  }

  /** Whether this node is the leader (as far as it knows). */
  isLeader (): boolean {
    return this.soft.role === Role.Leader
  }

  /** Role, term, log positions, configuration and applied index. */
  status (): RaftNodeStatus {
    if (this.core === undefined) throw new RaftStoppedError('the raft node has not started: call start() first')
    return { ...this.core.status(), applied: this.applied }
  }

  /** @internal The core, for tests that check invariants. */
  get raft (): RaftCore | undefined {
    return this.core
  }

  /**
   * Loads the storage (bootstrapping a new cluster from `peers` when it is
   * empty and `join` is not set), restores the latest snapshot, and starts
   * ticking and listening.
   *
   * @throws {StorageError} when the storage cannot be read or written.
   */
  async start (): Promise<void> {
    if (this.started) throw new InvalidArgumentError('RaftNode.start() was already called: create a new node to restart')
    this.started = true
    let state
    try {
      state = await this.storage.load()
      if (state.hardState.term === 0 && state.snapshot === undefined && state.entries.length === 0 && this.config.join !== true) {
        const voters = [...new Set([this.config.nodeId, ...this.config.peers])].sort()
        const entry: Entry = { term: 1, index: 1, type: EntryType.ConfChange, data: encodeConfChange({ op: ConfChangeOp.Promote, node: voters[0], conf: { voters, learners: [] } }) }
        const hardState = { term: 1, vote: null, commit: 1 }
        await this.storage.append([entry])
        await this.storage.saveHardState(hardState)
        state = { hardState, snapshot: undefined, entries: [entry] }
      }
    } catch (err) {
      throw new StorageError(`raft storage could not be loaded for ${this.config.nodeId}: check the storage, then restart`, { cause: err })
    }
    if (this.stopped) throw new RaftStoppedError()
    this.savedHard = state.hardState
    if (state.snapshot !== undefined) {
      await this.stateMachine.restore(decodeNodeSnapshot(state.snapshot.data, this.sessions))
      this.applied = this.snapshotIndex = state.snapshot.index
      // streaming: the bytes stay in the storage; the core keeps the metadata
      if (this.streaming !== undefined) state = { ...state, snapshot: { ...state.snapshot, data: NO_DATA } }
    }
    this.core = new RaftCore({
      id: this.config.nodeId,
      electionTicks: this.ticks.election,
      heartbeatTicks: this.ticks.heartbeat,
      random: this.components.random,
      preVote: this.config.preVote,
      checkQuorum: this.config.checkQuorum,
      maxInflightMessages: this.config.maxInflightMessages,
      maxInflightBytes: this.config.maxInflightBytes,
      maxMessageBytes: this.config.maxMessageBytes,
      snapshotChunkBytes: this.config.snapshotChunkBytes,
      maxEntryBytes: this.config.maxEntryBytes,
      maxUncommittedBytes: this.config.maxUncommittedBytes
    }, { hardState: state.hardState, snapshot: state.snapshot, entries: state.entries })
    this.transport.on('message', this.onMessage)
    this.transport.on('close', this.onClose)
    this.scheduleTick()
    this.kick()
  }

  /** Stops ticking and listening; every pending call rejects with {@link RaftStoppedError}. The transport stays open. */
  async stop (): Promise<void> {
    this.halt(new RaftStoppedError())
  }

  /**
   * Replicates `cmd` and resolves with the state machine's result once it
   * is committed and applied here.
   *
   * @throws {NotLeaderError} (with the known leader) when this node is not the leader.
   * @throws {TimeoutError} when not applied within `requestTimeout`; it may
   *   still be applied: retry with the same `session` for exactly-once.
   * @throws {ProposalDroppedError} when a new leader overwrote it, the
   *   uncommitted log is full (`maxUncommittedBytes`) or the session table
   *   is full: not applied; retry (with the same session).
   * @throws {EntryTooLargeError} when the command is over `maxEntryBytes`: not appended; do not retry.
   * @throws {SessionExpiredError} when its session expired (or the request
   *   was acknowledged already): not applied; start a new session.
   * @throws {RaftStoppedError} when the node is or gets stopped (also after an internal error).
   */
  propose (cmd: Uint8Array, options: ProposeOptions = {}): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const core = this.live(reject)
      if (core === undefined) return
      let at: { index: number, term: number }
      try {
        at = core.propose(encodeCommand(cmd, options.session, { timestamp: this.components.clock.now() }))
      } catch (err) { return reject(err) }
      const ms = options.timeout ?? this.requestTimeout
      this.proposals.add({ ...at, resolve, reject }, ms, () =>
        new TimeoutError(`proposal at index ${at.index} was not applied within ${ms} ms: it may still be applied; retry with the same session for exactly-once`))
      this.kick()
    })
  }

  /**
   * A linearizable read: confirms leadership with a heartbeat round
   * (ReadIndex, no log write), waits until this node has applied that
   * index, then runs `stateMachine.query(query)`. Works on followers too
   * (the leader supplies the index).
   *
   * @throws {NotLeaderError} when no leader is known, or the leader changed meanwhile.
   * @throws {TimeoutError} after `requestTimeout`.
   * @throws {RaftStoppedError} when the node is or gets stopped.
   */
  read (query: Uint8Array, options: { timeout?: number } = {}): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const core = this.live(reject)
      if (core === undefined) return
      const ctx = ++this.readCtx
      try {
        core.readIndex(ctx)
      } catch (err) { return reject(err) }
      const timer = this.components.clock.setTimeout(() => {
        if (!this.reads.delete(ctx)) return
        reject(new TimeoutError(`read was not confirmed within ${options.timeout ?? this.requestTimeout} ms: retry (on the leader if one is known)`))
      }, options.timeout ?? this.requestTimeout)
      this.reads.set(ctx, { query, index: undefined, resolve, reject, timer })
      this.kick()
    })
  }

  /**
   * Adds `id` as a learner; the leader promotes it to voter once it has
   * caught up. Resolves when this node has applied the promotion.
   *
   * @throws {NotLeaderError} when not the leader.
   * @throws {ConfChangeError} when another change is pending or `id` is a member.
   */
  addNode (id: string): Promise<void> {
    return this.changeConf(ConfChangeOp.AddLearner, id, (conf) => conf.voters.includes(id))
  }

  /**
   * Removes `id` (voter or learner). Resolves when this node has applied
   * the change. A leader that removes itself steps down once it commits.
   *
   * @throws {NotLeaderError} when not the leader.
   * @throws {ConfChangeError} when another change is pending or `id` is not a member.
   */
  removeNode (id: string): Promise<void> {
    return this.changeConf(ConfChangeOp.Remove, id, (conf) => !conf.voters.includes(id) && !conf.learners.includes(id))
  }

  /**
   * Hands leadership to `to`. Resolves when this node sees `to` lead.
   *
   * @throws {NotLeaderError} when not the leader.
   * @throws {TimeoutError} when `to` did not take over in time (retry or pick another node).
   */
  transferLeadership (to: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const core = this.live(reject)
      if (core === undefined) return
      if (this.soft.leaderId === to) return resolve()
      try { core.transferLeadership(to) } catch (err) { return reject(err) }
      const w = {
        to,
        resolve,
        reject,
        timer: this.components.clock.setTimeout(() => {
          if (!this.leaderWaiters.delete(w)) return
          reject(new TimeoutError(`leadership did not move to ${to} within ${this.membershipTimeout} ms: check that it is up and caught up, then retry`))
        }, this.membershipTimeout)
      }
      this.leaderWaiters.add(w)
      this.kick()
    })
  }

  // ---------------------------------------------------------------- internals

  private changeConf (op: ConfChangeOp, id: string, done: (conf: ConfState) => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const core = this.live(reject)
      if (core === undefined) return
      try {
        peerId(id)
        core.proposeConfChange(op, id)
      } catch (err) { return reject(err) }
      const w: ConfWaiter = {
        done,
        resolve,
        reject,
        timer: this.components.clock.setTimeout(() => {
          if (!this.confWaiters.delete(w)) return
          reject(new TimeoutError(`membership change (${op} ${id}) not applied within ${this.membershipTimeout} ms: check the cluster's status and retry`))
        }, this.membershipTimeout)
      }
      this.confWaiters.add(w)
      this.kick()
    })
  }

  private live (reject: (e: Error) => void): RaftCore | undefined {
    if (this.stopped) { reject(new RaftStoppedError()); return undefined }
    if (this.core === undefined) { reject(new RaftStoppedError('the raft node has not started: await start() first')); return undefined }
    return this.core
  }

  private scheduleTick (): void {
    this.tickTimer = this.components.clock.setTimeout(() => {
      if (this.stopped || this.core === undefined) return
      const core = this.core
      if (!this.guard(() => core.tick())) return
      this.kick()
      this.scheduleTick()
    }, this.tickMs)
  }

  /** Runs `f` on the core; an error it throws (a broken invariant) halts the node instead of escaping to the caller. */
  private guard (f: () => void): boolean {
    try {
      f()
      return true
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err))
      this.components.logger.error('raft: internal error, stopping the node', { node: this.config.nodeId, error: e.message })
      this.halt(new RaftStoppedError(`raft node ${this.config.nodeId} stopped after an internal error (${e.message}): restart it`, { cause: e }))
      return false
    }
  }

  private receive (from: PeerId, frame: Uint8Array): void {
    if (this.stopped || this.core === undefined) return
    if (this.streaming !== undefined && isSnapshotStreamFrame(frame)) return this.streaming.onFrame(from, frame, this.components.logger)
    let m
    try {
      m = decodeRaftMessage(frame)
    } catch (err) {
      if (err instanceof DecodeError) { this.components.logger.warn('raft: dropped an undecodable message', { from, error: err.message }); return }
      throw err
    }
    if (m.from !== from) return
    const core = this.core
    if (this.guard(() => core.step(m))) this.kick()
  }

  /** Runs the ready loop unless it is running (it picks up new work itself). */
  private kick (): void {
    if (this.processing || this.stopped) return
    this.processing = true
    this.loop().then(() => { this.processing = false }, (err: unknown) => {
      this.processing = false
      const e = err instanceof Error ? err : new Error(String(err))
      this.components.logger.error('raft: stopping after a failure', { node: this.config.nodeId, error: e.message })
      this.halt(e instanceof StorageError ? e : new RaftStoppedError(`raft node ${this.config.nodeId} stopped after an internal error (${e.message}): restart it`, { cause: e }))
    })
  }

  private async loop (): Promise<void> {
    const core = this.core!
    while (!this.stopped && core.hasReady()) {
      const rd = core.ready()
      const commitOnly = await this.persist(rd)
      if (this.stopped) return
      for (const m of rd.messages) {
        if (this.streaming?.intercept(m) === true) continue
        try { this.transport.send(peerId(m.to), encodeRaftMessage(m)) } catch { /* closed: the close handler stops us */ }
      }
      // a hard state that only moved `commit` is saved while the batch is applied (see persist)
      const commitSaved = commitOnly === undefined ? undefined : this.saveCommit(commitOnly)
      this.noteSoftState(rd)
      if (rd.snapshot !== undefined) {
        const bytes = this.restoreFrom !== undefined ? await this.restoreFrom() : rd.snapshot.data
        this.restoreFrom = undefined
        await this.stateMachine.restore(decodeNodeSnapshot(bytes, this.sessions))
        this.applied = this.snapshotIndex = rd.snapshot.index
        // their entries were skipped: whether they are in the snapshot is unknown here
        this.proposals.settleThrough(rd.snapshot.index, (w) => new TimeoutError(`the outcome of the proposal at index ${w.index} is unknown (a snapshot from the leader replaced this node's log): it may have been applied; retry with the same session for exactly-once`))
      }
      for (const rs of rd.readStates) {
        const r = this.reads.get(rs.ctx)
        if (r !== undefined) r.index = rs.index
      }
      for (const e of rd.committed) {
        this.appliedBytes += e.data.length
        const pending = this.applyEntry(e)
        if (pending !== undefined) await pending
        if (this.stopped) return
      }
      await this.serveReads()
      if (commitSaved !== undefined) {
        const err = await commitSaved
        if (err !== undefined) throw err
      }
      core.advance(rd)
      this.maybeProposeLimits(core)
      if (this.applied - this.snapshotIndex >= this.snapshotThreshold && this.appliedBytes >= this.snapshotBytes) await this.takeSnapshot(core)
    }
  }

  /**
   * Writes what `rd`'s messages depend on: the snapshot, the truncation,
   * the entries, and a hard state whose term or vote changed. A hard state
   * that only moved `commit` is returned instead, for the loop to save
   * after sending and while applying: no message depends on it (the commit
   * index is a fact of the group, held durably by the quorum that stored
   * the entries; a node restarted with an older one learns it again from
   * the leader), so one fsync instead of two stands between a batch and
   * its acknowledgements, and between a commit and its apply.
   */
  private async persist (rd: Ready): Promise<Ready['hardState']> {
    try {
      if (rd.snapshot !== undefined) {
        if (this.streaming !== undefined) this.restoreFrom = await this.streaming.install(rd.snapshot)
        else await this.storage.saveSnapshot(rd.snapshot)
      }
      if (rd.truncateFrom !== undefined) await this.storage.truncateSuffix(rd.truncateFrom)
      if (rd.entries.length > 0) await this.storage.append(rd.entries)
      const hs = rd.hardState
      if (hs === undefined) return undefined
      if (hs.term === this.savedHard.term && hs.vote === this.savedHard.vote) return hs
      await this.storage.saveHardState(hs)
      this.savedHard = hs
      return undefined
    } catch (err) {
      throw this.writeFailed(err)
    }
  }

  /** Saves a commit-only hard state; resolves to the error instead of rejecting (the loop may stop before it awaits it). */
  private saveCommit (hs: NonNullable<Ready['hardState']>): Promise<StorageError | undefined> {
    this.savedHard = hs
    return this.storage.saveHardState(hs).then(() => undefined, (err: unknown) => this.writeFailed(err))
  }

  private writeFailed (err: unknown): StorageError {
    return new StorageError(`raft storage write failed on ${this.config.nodeId}: the node stopped; fix the storage and restart it`, { cause: err })
  }

  private async takeSnapshot (core: RaftCore): Promise<void> {
    const index = this.applied
    const data = encodeNodeSnapshot(this.sessions, await this.stateMachine.snapshot())
    if (this.stopped) return
    this.snapshotBytes = data.length
    this.appliedBytes = 0
    // the core may have installed a newer snapshot from the leader meanwhile
    // (while we applied or serialized): then there is nothing to compact
    const snapshot = core.snapshotAt(index, data)
    if (snapshot === undefined) return
    this.snapshotIndex = index
    try {
      await this.storage.saveSnapshot(snapshot)
    } catch (err) {
      throw new StorageError(`raft snapshot could not be saved on ${this.config.nodeId}`, { cause: err })
    }
    // In memory the log keeps the entries since the previous snapshot (like
    // etcd's SnapshotCatchUpEntries): a follower a little behind then catches
    // up from the log. Compacting at once to `index` sent every follower that
    // lagged under load a whole snapshot, and commits stalled meanwhile.
    const previous = this.retained
    // streaming: the storage holds the bytes; the core only the metadata
    this.retained = this.streaming !== undefined ? { ...snapshot, data: NO_DATA } : snapshot
    if (previous !== undefined && !this.stopped) core.compact(previous.index, previous.data)
  }

  /**
   * Applies one committed entry; returns a promise only when the state
   * machine answered with one (a synchronous state machine costs no
   * microtask per entry).
   */
  private applyEntry (e: Entry): Promise<void> | undefined {
    if (e.type === EntryType.Normal) {
      const o = this.applyCommand(e)
      if (isPromise(o)) return o.then((outcome) => this.applied_(e, outcome))
      this.applied_(e, o)
      return undefined
    }
    if (e.type === EntryType.ConfChange) {
      const conf = decodeConfChange(e.data).conf
      for (const w of [...this.confWaiters]) {
        if (w.done(conf)) { this.confWaiters.delete(w); this.components.clock.clearTimeout(w.timer); w.resolve() }
      }
    }
    this.applied_(e, undefined)
    return undefined
  }

  private applied_ (e: Entry, outcome: ApplyOutcome | undefined): void {
    this.applied = e.index
    this.proposals.settle(e.index, e.term, () => outcome ?? { error: new ProposalDroppedError('the entry carried no command') })
  }

  /** Applies a normal entry through the session table: each session's request applies once. */
  private applyCommand (e: Entry): ApplyOutcome | Promise<ApplyOutcome> {
    const { cmd, session, timestamp, limits } = decodeCommand(e.data)
    if (timestamp !== undefined) this.sessions.advance(timestamp)
    if (limits !== undefined) {
      try { this.sessions.setLimits(limits) } catch { /* invalid limits are ignored, the same on every replica */ }
      return { result: new Uint8Array(0) }
    }
    if (session !== undefined) {
      const check = this.sessions.check(session)
      switch (check.kind) {
        case 'duplicate': return { result: check.result }
        case 'expired': return { error: new SessionExpiredError(check.reason) }
        case 'full': return { error: new ProposalDroppedError(`the session table is full (${this.sessions.limits.maxSessions} sessions): the request was not applied; retry later`) }
      }
    }
    const done = (result: Uint8Array): ApplyOutcome => {
      if (session !== undefined) this.sessions.record(session, result)
      return { result }
    }
    const r = this.stateMachine.apply(cmd)
    return isPromise(r) ? r.then(done) : done(r)
  }

  /** A leader whose wanted session limits differ from the group's proposes them, once per term, after its first entry of the term is applied. */
  private maybeProposeLimits (core: RaftCore): void {
    const want = this.wantLimits
    if (want === undefined || this.soft.role !== Role.Leader || this.limitsTerm === core.term || core.log.termAt(this.applied) !== core.term) return
    this.limitsTerm = core.term
    const have = this.sessions.limits
    if (have.maxSessions === want.maxSessions && have.timeoutMs === want.timeoutMs && have.maxResponses === want.maxResponses) return
    try {
      core.propose(encodeCommand(new Uint8Array(0), undefined, { timestamp: this.components.clock.now(), limits: want }))
    } catch (err) {
      this.components.logger.warn('raft: could not propose the session limits', { node: this.config.nodeId, error: String(err) })
    }
  }

  /** @internal The session table, for tests. */
  get sessionTable (): SessionTable {
    return this.sessions
  }

  private async serveReads (): Promise<void> {
    for (const [ctx, r] of this.reads) {
      if (r.index === undefined || r.index > this.applied) continue
      this.reads.delete(ctx)
      this.components.clock.clearTimeout(r.timer)
      try {
        const answer = this.stateMachine.query(r.query)
        r.resolve(isPromise(answer) ? await answer : answer)
      } catch (err) { r.reject(err as Error) }
    }
  }

  private noteSoftState (rd: Ready): void {
    const prev = this.soft
    this.soft = rd.softState
    if (prev.role !== rd.softState.role) this.streaming?.roleChanged(rd.softState.role === Role.Leader)
    if (prev.leaderId === rd.softState.leaderId) return
    for (const [ctx, r] of this.reads) {
      if (r.index !== undefined) continue
      this.reads.delete(ctx)
      this.components.clock.clearTimeout(r.timer)
      r.reject(new NotLeaderError(rd.softState.leaderId, 'the leader changed before the read was confirmed: retry' + (rd.softState.leaderId !== undefined ? ` (leader: ${rd.softState.leaderId})` : '')))
    }
    for (const w of [...this.leaderWaiters]) {
      if (w.to === rd.softState.leaderId) { this.leaderWaiters.delete(w); this.components.clock.clearTimeout(w.timer); w.resolve() }
    }
  }

  private halt (err: Error): void {
    if (this.stopped) return
    this.stopped = true
    if (this.tickTimer !== undefined) this.components.clock.clearTimeout(this.tickTimer)
    this.transport.off('message', this.onMessage)
    this.transport.off('close', this.onClose)
    this.streaming?.stop()
    this.proposals.rejectAll(err)
    const all: Array<Waiter<never>> = [...this.reads.values(), ...this.confWaiters, ...this.leaderWaiters] as Array<Waiter<never>>
    this.reads.clear()
    this.confWaiters.clear()
    this.leaderWaiters.clear()
    for (const w of all) {
      this.components.clock.clearTimeout(w.timer)
      w.reject(err)
    }
  }
}
