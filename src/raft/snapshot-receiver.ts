/**
 * The follower's side of streamed snapshots. Chunks are handled one at a
 * time, in arrival order: each is checked (term, snapshot identity, its own
 * CRC-32C, offset) and written to a {@link SnapshotSink} (a temporary file
 * for a file storage). Stale chunks (an older term) are refused; chunks of
 * another snapshot, duplicates and chunks past a gap are never written, only
 * answered with the offset held (a gap or a corrupt chunk with `retry`, so
 * the leader goes back). Once the last byte is written, the whole data is
 * checked against the announced checksum and made durable; only then does
 * the core get the snapshot (as a `snapshot` message carrying metadata
 * only), and the driver installs the finished sink when the core hands the
 * snapshot out in its `Ready`.
 *
 * A transfer is resumable: a new leader (or a restarted one) streaming the
 * same snapshot (index, term, size, checksum) continues from the offset the
 * follower holds. A crash of the follower loses the temporary file; the
 * leader then starts over.
 *
 * @module
 */
import type { Logger } from '../components.js'
import { crc32c } from './crc32c.js'
import type { SnapshotMessage } from './messages.js'
import { ChunkStatus, type SnapshotChunkAck, type SnapshotChunkMessage } from './snapshot-messages.js'
import type { SnapshotInfo, SnapshotSink, SnapshotStore } from './snapshot-store.js'
import type { NodeId, SnapshotMeta } from './types.js'

/** What the receiver did; for tests and metrics. */
export interface SnapshotReceiverStats {
  /** Chunks written to a sink. */
  chunksWritten: number
  /** Chunks refused: an older term. */
  stale: number
  /** Chunks not written: duplicates, past a gap, or of another snapshot. */
  skipped: number
  /** Chunks refused for a bad chunk checksum. */
  corrupt: number
  /** Whole snapshots refused for a bad checksum (the transfer restarts from 0). */
  badSnapshots: number
  /** Snapshots handed to the core. */
  delivered: number
}

/** What the receiver needs from the driver. */
export interface SnapshotReceiverHooks {
  /** The core's current term. */
  term (): number
  /** The core's commit index. */
  committed (): number
  /** Steps the core with a metadata-only snapshot message; returns whether the core took it (will hand it out in a `Ready`). */
  deliver (m: SnapshotMessage): boolean
  /** Whether the node stopped. */
  stopped (): boolean
}

interface Incoming { info: SnapshotInfo, sink: SnapshotSink, received: number, crc: number, retriedAt: number }

const sameSnapshot = (a: SnapshotInfo, m: SnapshotChunkMessage): boolean =>
  a.index === m.meta.index && a.term === m.meta.term && a.size === m.total && a.checksum === m.checksum

/** See the module documentation. */
export class SnapshotReceiver {
  readonly stats: SnapshotReceiverStats = { chunksWritten: 0, stale: 0, skipped: 0, corrupt: 0, badSnapshots: 0, delivered: 0 }
  private incoming: Incoming | undefined
  /** Received, verified and durable; waiting for the driver to install it. */
  private finished: SnapshotSink | undefined
  private queue: Promise<void> = Promise.resolve()

  constructor (
    private readonly id: NodeId,
    private readonly store: SnapshotStore,
    private readonly send: (a: SnapshotChunkAck) => void,
    private readonly hooks: SnapshotReceiverHooks,
    private readonly logger: Logger
  ) {}

  /** The transfer in progress, if any: its snapshot index and the bytes held of its total. */
  get receiving (): { index: number, received: number, total: number } | undefined {
    const inc = this.incoming
    return inc === undefined ? undefined : { index: inc.info.index, received: inc.received, total: inc.info.size }
  }

  /** Queues a chunk; chunks are handled in arrival order. */
  onChunk (m: SnapshotChunkMessage): void {
    this.queue = this.queue.then(async () => await this.handle(m)).catch((err: unknown) => {
      this.logger.warn('raft: a snapshot chunk could not be stored; the transfer starts over', { node: this.id, error: String(err) })
      const inc = this.incoming
      this.incoming = undefined
      void inc?.sink.abort().catch(() => {})
    })
  }

  /** The finished sink for `meta` (handing it over), if any. */
  take (meta: SnapshotMeta): SnapshotSink | undefined {
    const f = this.finished
    if (f === undefined || f.info.index !== meta.index || f.info.term !== meta.term) return undefined
    this.finished = undefined
    return f
  }

  /** Drops everything (the node stopped). */
  stop (): void {
    const drop = [this.incoming?.sink, this.finished]
    this.incoming = this.finished = undefined
    for (const s of drop) void s?.abort().catch(() => {})
  }

  private ack (m: SnapshotChunkMessage, offset: number, status: ChunkStatus): void {
    this.send({ type: 'snapshot-chunk-ack', from: this.id, to: m.from, term: Math.max(m.term, this.hooks.term()), index: m.meta.index, checksum: m.checksum, offset, status })
  }

  private async handle (m: SnapshotChunkMessage): Promise<void> {
    if (this.hooks.stopped()) return
    if (m.term < this.hooks.term()) {
      this.stats.stale++
      this.logger.warn('raft: refused a snapshot chunk of an older term', { node: this.id, from: m.from, term: m.term, current: this.hooks.term(), index: m.meta.index })
      return this.ack(m, 0, ChunkStatus.Refused)
    }
    if (m.meta.index <= this.hooks.committed()) {
      // nothing to receive: the core acknowledges its commit index to the leader
      this.deliver(m)
      return this.ack(m, m.total, ChunkStatus.Done)
    }
    let inc = this.incoming
    if (inc === undefined || !sameSnapshot(inc.info, m)) {
      if (m.offset !== 0) {
        this.stats.skipped++
        this.logger.debug('raft: skipped a chunk of a snapshot transfer this node is not receiving', { node: this.id, from: m.from, index: m.meta.index, offset: m.offset })
        return this.ack(m, 0, ChunkStatus.Retry)
      }
      if (inc !== undefined) {
        this.logger.info('raft: a newer snapshot transfer replaces the one being received', { node: this.id, was: inc.info.index, now: m.meta.index })
        this.incoming = undefined
        await inc.sink.abort()
      }
      const info: SnapshotInfo = { ...m.meta, size: m.total, checksum: m.checksum }
      inc = this.incoming = { info, sink: await this.store.receiveSnapshot(info), received: 0, crc: 0, retriedAt: -1 }
    }
    if (crc32c(m.data) !== m.chunkChecksum) {
      this.stats.corrupt++
      this.logger.warn('raft: refused a corrupt snapshot chunk (checksum mismatch)', { node: this.id, from: m.from, index: m.meta.index, offset: m.offset })
      inc.retriedAt = inc.received
      return this.ack(m, inc.received, ChunkStatus.Retry)
    }
    if (m.offset !== inc.received) {
      this.stats.skipped++
      const gap = m.offset > inc.received && inc.retriedAt !== inc.received
      if (gap) inc.retriedAt = inc.received
      return this.ack(m, inc.received, gap ? ChunkStatus.Retry : ChunkStatus.Ok)
    }
    if (m.data.length > 0) {
      await inc.sink.write(m.data)
      if (this.incoming !== inc) return
      this.stats.chunksWritten++
      inc.received += m.data.length
      inc.crc = crc32c(m.data, inc.crc)
    }
    if (inc.received < inc.info.size) return this.ack(m, inc.received, ChunkStatus.Ok)
    this.incoming = undefined
    if (inc.crc !== inc.info.checksum) {
      this.stats.badSnapshots++
      this.logger.warn('raft: refused a received snapshot (checksum mismatch); it is sent again', { node: this.id, from: m.from, index: m.meta.index })
      await inc.sink.abort()
      return this.ack(m, 0, ChunkStatus.Retry)
    }
    await inc.sink.finish()
    if (this.hooks.stopped()) { await inc.sink.abort(); return }
    const old = this.finished
    this.finished = inc.sink
    if (old !== undefined) await old.abort()
    if (!this.deliver(m)) {
      this.finished = undefined
      await inc.sink.abort()
    }
    this.ack(m, inc.info.size, ChunkStatus.Done)
  }

  private deliver (m: SnapshotChunkMessage): boolean {
    this.stats.delivered++
    return this.hooks.deliver({ type: 'snapshot', from: m.from, to: this.id, term: m.term, meta: m.meta, offset: 0, total: 0, data: new Uint8Array(0) })
  }
}
