/**
 * A hub's seat in the hubs' Raft group: a {@link RaftNode} on the file
 * write-ahead log (`<dataDir>/raft`), the {@link KvStateMachine}, and the
 * {@link HubPeerTransport} to the other hubs. It serves the clients' KV
 * requests: on the leader it proposes (writes, tagged with the client's
 * session for exactly-once) or reads (ReadIndex); a follower forwards the
 * request to the leader over the peer transport and relays the answer.
 *
 * The peer sockets carry three channels, by the first byte of a frame:
 * Raft messages, forwarded requests, and their answers.
 *
 * @module
 */
import { join } from 'node:path'
import * as encoding from 'lib0/encoding'
import { DecodeError, InvalidArgumentError, NotLeaderError, silentLogger, type Logger } from 'aegis-replication'
import type { PeerId, Transport, TransportEvents } from 'aegis-replication/transport'
import { decodeKvCommand, KvStateMachine, RaftNode, type RaftConfig } from 'aegis-replication/raft'
import { KvStatus, type KvAnswer, type KvRequest } from 'aegis-replication/sync'
import { FileRaftStorage } from 'aegis-replication/fs'
import * as decoding from 'lib0/decoding'
import { HubPeerTransport } from './peer-transport.js'

const Channel = { Raft: 0, Forward: 1, Answer: 2 } as const

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
  /** A secret the hubs present to each other. */
  clusterToken?: string
  /** Raft timing and snapshots (milliseconds and entries). */
  raft?: Pick<RaftConfig, 'electionTimeout' | 'heartbeatInterval' | 'snapshotThreshold' | 'requestTimeout'>
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

/** A view of the peer transport that carries one channel (the Raft messages). */
class RaftChannel implements Transport {
  private readonly listeners = new Map<unknown, unknown>()
  constructor (private readonly inner: HubPeerTransport) {}
  get id (): PeerId { return this.inner.id }
  peers (): PeerId[] { return this.inner.peers() }
  send (to: PeerId, frame: Uint8Array): void { this.inner.sendOwned(to, tag(Channel.Raft, frame)) }
  broadcast (frame: Uint8Array): void { this.inner.broadcast(tag(Channel.Raft, frame)) }
  async close (): Promise<void> { await this.inner.close() }
  on<E extends keyof TransportEvents> (event: E, listener: TransportEvents[E]): void {
    if (event !== 'message') { this.inner.on(event, listener); return }
    const wrapped = (from: PeerId, frame: Uint8Array): void => {
      if (frame[0] === Channel.Raft) (listener as TransportEvents['message'])(from, frame.subarray(1))
    }
    this.listeners.set(listener, wrapped)
    this.inner.on('message', wrapped)
  }

  off<E extends keyof TransportEvents> (event: E, listener: TransportEvents[E]): void {
    if (event !== 'message') { this.inner.off(event, listener); return }
    const wrapped = this.listeners.get(listener) as TransportEvents['message'] | undefined
    if (wrapped !== undefined) this.inner.off('message', wrapped)
    this.listeners.delete(listener)
  }
}

const tag = (channel: number, frame: Uint8Array): Uint8Array => {
  const out = new Uint8Array(frame.length + 1)
  out[0] = channel
  out.set(frame, 1)
  return out
}

interface Forwarded { to: string, resolve: (a: KvAnswer) => void, timer: ReturnType<typeof setTimeout> }

/** Whether a KV command only reads (get, range); throws DecodeError for bad bytes. */
const isRead = (command: Uint8Array): boolean => {
  const type = decodeKvCommand(command).type
  return type === 'get' || type === 'range'
}

/** See the module documentation. */
export class HubRaftMember {
  private readonly forwarded = new Map<number, Forwarded>()
  private nextForward = 1
  private closed = false

  private constructor (
    readonly node: RaftNode,
    readonly transport: HubPeerTransport,
    private readonly storage: FileRaftStorage,
    private readonly options: HubRaftOptions,
    private readonly logger: Logger
  ) {
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

  /** Opens the log, starts the node and dials the peers. */
  static async start (options: HubRaftOptions): Promise<HubRaftMember> {
    if (typeof options.id !== 'string' || options.id === '') throw new InvalidArgumentError('the hub needs an id (--id) to join a Raft group')
    const logger = options.logger ?? silentLogger
    const storage = await FileRaftStorage.open(join(options.dataDir, 'raft'), { fsync: options.fsync ?? true })
    const transport = new HubPeerTransport({ id: options.id, peers: options.peers, clusterToken: options.clusterToken, logger })
    const node = new RaftNode(
      { nodeId: options.id, peers: Object.keys(options.peers).filter(p => p !== options.id), ...options.raft },
      storage, new RaftChannel(transport), new KvStateMachine(), { logger }
    )
    const member = new HubRaftMember(node, transport, storage, options, logger)
    await node.start()
    transport.start()
    logger.info('raft member started', { id: options.id, peers: Object.keys(options.peers).join(',') || '(none)' })
    return member
  }

  /** Serves one client KV request (the sync server's `kv` handler). */
  readonly handle = async (req: KvRequest): Promise<KvAnswer> => {
    let read: boolean
    try {
      read = isRead(req.command)
    } catch (err) {
      return { status: KvStatus.Failed, reason: `malformed KV command: ${err instanceof Error ? err.message : String(err)}` }
    }
    if (!read && req.access !== 'write') return { status: KvStatus.Failed, reason: 'this token may only read the KV' }
    // through an election the answer would be Retry: keep trying here, where a new leader shows first
    const deadline = Date.now() + (this.options.retryWindowMs ?? 3000)
    for (;;) {
      const a = await this.run(read, req.command, req.session, req.seq, true)
      if (a.status !== KvStatus.Retry || this.closed || Date.now() >= deadline) return a
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }

  /** Stops the node and the peer sockets; pending forwards answer `Retry`. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const f of this.forwarded.values()) { clearTimeout(f.timer); f.resolve({ status: KvStatus.Retry, reason: 'the hub is shutting down' }) }
    this.forwarded.clear()
    await this.node.stop()
    await this.transport.close()
    await this.storage.close()
  }

  private async run (read: boolean, command: Uint8Array, session: string, seq: number, mayForward: boolean): Promise<KvAnswer> {
    if (this.closed) return { status: KvStatus.Retry, reason: 'the hub is shutting down' }
    try {
      const result = read
        ? await this.node.read(command)
        : await this.node.propose(command, { session: { clientId: session, seq } })
      return { status: KvStatus.Ok, result }
    } catch (err) {
      if (err instanceof NotLeaderError) {
        const leader = err.leaderHint ?? this.node.leaderId
        if (mayForward && leader !== undefined && leader !== this.options.id) return await this.forward(leader, read, command, session, seq)
        return { status: KvStatus.Retry, reason: 'no Raft leader yet: retry' }
      }
      // timeouts, dropped proposals, a stopping node: the client retries with the same session and seq
      return { status: KvStatus.Retry, reason: err instanceof Error ? err.message : String(err) }
    }
  }

  private async forward (leader: string, read: boolean, command: Uint8Array, session: string, seq: number): Promise<KvAnswer> {
    if (!this.transport.peers().includes(leader as PeerId)) return { status: KvStatus.Retry, reason: `the leader (${leader}) is not reachable from this hub` }
    const id = this.nextForward++
    const e = encoding.createEncoder()
    encoding.writeUint8(e, Channel.Forward)
    encoding.writeVarUint(e, id)
    encoding.writeUint8(e, read ? 1 : 0)
    encoding.writeVarString(e, session)
    encoding.writeVarUint(e, seq)
    encoding.writeVarUint8Array(e, command)
    return await new Promise<KvAnswer>((resolve) => {
      const timer = setTimeout(() => {
        this.forwarded.delete(id)
        resolve({ status: KvStatus.Retry, reason: `the leader (${leader}) did not answer in time` })
      }, this.options.forwardTimeoutMs ?? 5000)
      this.forwarded.set(id, { to: leader, resolve, timer })
      this.transport.sendOwned(leader as PeerId, encoding.toUint8Array(e))
    })
  }

  private onPeerFrame (from: PeerId, frame: Uint8Array): void {
    if (frame[0] === Channel.Raft) return // the node's own channel
    try {
      // lib0 throws on a truncated frame: caught below, like any bad frame
      const d = decoding.createDecoder(frame)
      const channel = decoding.readUint8(d)
      const id = decoding.readVarUint(d)
      if (channel === Channel.Forward) {
        const read = decoding.readUint8(d) === 1
        const session = decoding.readVarString(d)
        const seq = decoding.readVarUint(d)
        const command = decoding.readVarUint8Array(d).slice()
        void this.run(read, command, session, seq, false).then((a) => { this.answer(from, id, a) })
      } else if (channel === Channel.Answer) {
        const status = decoding.readUint8(d)
        if (status > 2) throw new DecodeError(`unknown status ${status}`)
        const result = decoding.readVarUint8Array(d).slice()
        const reason = decoding.readVarString(d)
        const f = this.forwarded.get(id)
        if (f === undefined) return
        this.forwarded.delete(id)
        clearTimeout(f.timer)
        f.resolve({ status: status as KvStatus, result, reason })
      } else {
        throw new DecodeError(`unknown peer channel ${channel}`)
      }
    } catch (err) {
      this.logger.warn('dropped a bad frame from a peer hub', { peer: from, error: String(err) })
    }
  }

  private answer (to: PeerId, id: number, a: KvAnswer): void {
    if (this.closed) return
    const e = encoding.createEncoder()
    encoding.writeUint8(e, Channel.Answer)
    encoding.writeVarUint(e, id)
    encoding.writeUint8(e, a.status)
    encoding.writeVarUint8Array(e, a.result ?? new Uint8Array(0))
    encoding.writeVarString(e, a.reason ?? '')
    this.transport.sendOwned(to, encoding.toUint8Array(e))
  }
}
