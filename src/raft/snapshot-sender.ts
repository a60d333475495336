/**
 * The leader's side of streamed snapshots. When the core wants a follower
 * to get a snapshot (it emits a `snapshot` message, which the driver does
 * not send), the sender reads the stored snapshot from a
 * {@link SnapshotStore} one chunk at a time and sends `snapshot-chunk`s,
 * at most `window` unacknowledged per follower (flow control). The
 * follower's acks move the window; a `retry` ack (a gap or a corrupt chunk)
 * goes back to the offset it names (go-back-N). Lost chunks and acks are
 * recovered when the core asks again (it repeats its request every election
 * timeout while the follower is in snapshot state): if nothing was
 * acknowledged since the previous request, the sender resends from the last
 * acknowledged offset.
 *
 * The sender holds at most one chunk's bytes at a time (read, encoded,
 * handed to the transport); {@link SnapshotSenderStats} counts them.
 *
 * @module
 */
import type { Logger } from '../components.js'
import { crc32c } from './crc32c.js'
import type { SnapshotMessage } from './messages.js'
import { ChunkStatus, type SnapshotChunkAck, type SnapshotChunkMessage } from './snapshot-messages.js'
import type { SnapshotInfo, SnapshotStore } from './snapshot-store.js'
import type { NodeId } from './types.js'

/** What the sender did; for tests and metrics. */
export interface SnapshotSenderStats {
  /** Chunks sent (resends included). */
  chunksSent: number
  /** Bytes of chunk data sent. */
  bytesSent: number
  /** Transfers completed (the follower answered `done`). */
  completed: number
  /** Times a transfer went back to an earlier offset (retry ack or a stalled window). */
  resends: number
  /** Chunks read from storage and not yet handed to the transport, now. */
  chunksHeld: number
  /** The most chunks ever held at once. */
  peakChunksHeld: number
  /** The most unacknowledged chunks ever in flight to one follower. */
  peakInflight: number
}

interface Transfer {
  to: NodeId
  term: number
  info: SnapshotInfo
  /** Next offset to send. */
  next: number
  /** Bytes the follower acknowledged (in order). */
  acked: number
  /** `acked` when the core last asked: no progress since means chunks were lost. */
  ackedAtRequest: number
  /** Bumped on every go-back, so a read in flight for an older position is dropped. */
  gen: number
  reading: boolean
  /** The offset of the last go-back on a retry ack: later retries for it come from chunks sent before it. */
  retriedTo: number
  /** Whether the last chunk (or the empty one of an empty snapshot) was sent since the last go-back. */
  sentLast: boolean
  done: boolean
}

/** Options of {@link SnapshotSender}. */
export interface SnapshotSenderOptions {
  /** This node. */
  id: NodeId
  /** Bytes of data per chunk. */
  chunkBytes: number
  /** Unacknowledged chunks per follower. */
  window: number
  /** Where transfers are logged. */
  logger: Logger
}

/** See the module documentation. */
export class SnapshotSender {
  readonly stats: SnapshotSenderStats = { chunksSent: 0, bytesSent: 0, completed: 0, resends: 0, chunksHeld: 0, peakChunksHeld: 0, peakInflight: 0 }
  private readonly transfers = new Map<NodeId, Transfer>()
  private stopped = false

  constructor (
    private readonly store: SnapshotStore,
    private readonly send: (m: SnapshotChunkMessage) => void,
    private readonly opts: SnapshotSenderOptions
  ) {}

  /** Chunks in flight to `to` (sent, not acknowledged). */
  inflight (to: NodeId): number {
    const t = this.transfers.get(to)
    return t === undefined ? 0 : Math.ceil((t.next - t.acked) / this.opts.chunkBytes)
  }

  /** The core asks for `request.to` to get a snapshot of at least `request.meta.index`, in `request.term`. */
  request (request: SnapshotMessage): void {
    if (this.stopped) return
    const info = this.store.snapshotInfo()
    if (info === undefined || info.index < request.meta.index) {
      this.opts.logger.warn('raft: the stored snapshot is older than the one the core wants to send', { node: this.opts.id, to: request.to, want: request.meta.index, stored: info?.index })
      return
    }
    const t = this.transfers.get(request.to)
    if (t !== undefined && t.term === request.term && t.info.index === info.index && t.info.checksum === info.checksum) {
      if (t.done || t.acked === t.ackedAtRequest) this.goBack(t, t.done ? 0 : t.acked) // stalled (or lost the follower's install): resend
      t.ackedAtRequest = t.acked
      this.pump(t)
      return
    }
    const fresh: Transfer = { to: request.to, term: request.term, info, next: 0, acked: 0, ackedAtRequest: 0, gen: 0, reading: false, retriedTo: -1, sentLast: false, done: false }
    this.transfers.set(request.to, fresh)
    this.opts.logger.info('raft: streaming a snapshot', { node: this.opts.id, to: request.to, index: info.index, bytes: info.size })
    this.pump(fresh)
  }

  /** Handles a follower's acknowledgement. */
  onAck (a: SnapshotChunkAck): void {
    const t = this.transfers.get(a.from)
    if (t === undefined || a.index !== t.info.index || a.checksum !== t.info.checksum || a.term > t.term) {
      this.opts.logger.debug('raft: ignored a snapshot ack of no current transfer', { node: this.opts.id, from: a.from, index: a.index })
      return
    }
    switch (a.status) {
      case ChunkStatus.Refused:
        this.transfers.delete(a.from)
        return
      case ChunkStatus.Done:
        if (!t.done) this.stats.completed++
        t.done = true
        t.acked = t.next = t.info.size
        return
      case ChunkStatus.Retry:
        if (a.offset > t.next) return
        // several chunks in flight past a gap each draw a retry: go back once
        if (a.offset === t.retriedTo && t.next - a.offset <= this.opts.window * this.opts.chunkBytes) return
        this.goBack(t, a.offset)
        t.retriedTo = a.offset
        break
      case ChunkStatus.Ok:
        if (a.offset > t.next && a.offset < t.info.size) {
          // the follower holds more of this snapshot (from an earlier leader or transfer): resume there
          t.gen++
          t.acked = t.next = a.offset
          t.sentLast = false
        } else if (a.offset > t.acked) t.acked = a.offset
        break
    }
    this.pump(t)
  }

  /** Forgets the transfer to `to` (it left the group, or caught up). */
  forget (to: NodeId): void {
    this.transfers.delete(to)
  }

  /** Drops every transfer (leadership lost, node stopped). */
  clear (): void {
    this.transfers.clear()
  }

  /** Stops for good. */
  stop (): void {
    this.stopped = true
    this.transfers.clear()
  }

  private goBack (t: Transfer, offset: number): void {
    this.stats.resends++
    t.gen++
    t.acked = t.next = Math.min(offset, t.info.size)
    t.sentLast = false
    t.done = false
    t.retriedTo = -1
  }

  /** Sends chunks until the window is full (one storage read at a time). */
  private pump (t: Transfer): void {
    if (t.reading || t.done || this.stopped || this.transfers.get(t.to) !== t) return
    if (t.sentLast || this.inflight(t.to) >= this.opts.window) return
    const { gen } = t
    const offset = t.next
    const length = Math.min(this.opts.chunkBytes, t.info.size - offset)
    t.reading = true
    this.store.readSnapshotChunk(t.info.index, offset, length).then((data) => {
      t.reading = false
      if (data === undefined) {
        // a newer snapshot replaced it: start over with that one at the core's next request
        this.transfers.delete(t.to)
        return
      }
      if (this.stopped || this.transfers.get(t.to) !== t || t.gen !== gen) return this.pump(t)
      this.stats.chunksHeld++
      this.stats.peakChunksHeld = Math.max(this.stats.peakChunksHeld, this.stats.chunksHeld)
      try {
        const end = offset + data.length
        this.send({
          type: 'snapshot-chunk',
          from: this.opts.id,
          to: t.to,
          term: t.term,
          meta: { index: t.info.index, term: t.info.term, conf: t.info.conf },
          total: t.info.size,
          checksum: t.info.checksum,
          offset,
          done: end === t.info.size,
          chunkChecksum: crc32c(data),
          data
        })
        this.stats.chunksSent++
        this.stats.bytesSent += data.length
        t.next = end
        if (end === t.info.size) t.sentLast = true
        this.stats.peakInflight = Math.max(this.stats.peakInflight, this.inflight(t.to))
      } finally {
        this.stats.chunksHeld--
      }
      this.pump(t)
    }, (err: unknown) => {
      t.reading = false
      this.transfers.delete(t.to)
      this.opts.logger.warn('raft: could not read a snapshot chunk; the transfer restarts at the next request', { node: this.opts.id, to: t.to, error: String(err) })
    })
  }
}
