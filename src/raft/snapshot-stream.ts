/**
 * Streamed snapshots, as the driver ({@link RaftNode}) uses them when its
 * storage is a {@link SnapshotStore}: a {@link SnapshotSender} for the
 * followers this node leads and a {@link SnapshotReceiver} for the leader it
 * follows, behind a few hooks.
 *
 * The core keeps treating a snapshot as metadata plus data, but the driver
 * hands it snapshots with empty data: the bytes live in the storage. A
 * `snapshot` message the core emits is a request to stream the stored
 * snapshot to that follower; the receiver steps the follower's core with a
 * metadata-only `snapshot` message once every chunk is stored and verified.
 *
 * @module
 */
import type { Logger } from '../components.js'
import { DecodeError } from '../errors.js'
import type { RaftMessage } from './messages.js'
import type { RaftCore } from './raft.js'
import { decodeSnapshotStreamMessage, encodeSnapshotStreamMessage, type SnapshotStreamMessage } from './snapshot-messages.js'
import { SnapshotReceiver } from './snapshot-receiver.js'
import { SnapshotSender } from './snapshot-sender.js'
import type { SnapshotStore } from './snapshot-store.js'
import type { RaftStorage } from './storage.js'
import type { NodeId, Snapshot } from './types.js'

/** Default bytes of data per chunk: a chunk message fits one 64 KiB peer-link fragment. */
export const DEFAULT_SNAPSHOT_STREAM_CHUNK_BYTES = 60 * 1024

/** Default unacknowledged chunks per follower. */
export const DEFAULT_SNAPSHOT_WINDOW = 4

/** An empty byte array (the data of the snapshots the core holds when streaming). */
export const NO_DATA = new Uint8Array(0)

/** Options of {@link SnapshotStreaming}. */
export interface SnapshotStreamingOptions {
  /** This node. */
  id: NodeId
  /**
   * Bytes of data per chunk.
   * @default DEFAULT_SNAPSHOT_STREAM_CHUNK_BYTES
   */
  chunkBytes?: number
  /**
   * Unacknowledged chunks per follower.
   * @default DEFAULT_SNAPSHOT_WINDOW
   */
  window?: number
  /** Where transfers are logged. */
  logger: Logger
  /** Sends a frame to a peer. */
  sendFrame: (to: NodeId, frame: Uint8Array) => void
  /** The core (once started). */
  core: () => RaftCore | undefined
  /** Runs the ready loop after the core was stepped. */
  kick: () => void
  /** Whether the node stopped. */
  stopped: () => boolean
}

/** See the module documentation. */
export class SnapshotStreaming {
  readonly sender: SnapshotSender
  readonly receiver: SnapshotReceiver

  constructor (readonly store: SnapshotStore & Pick<RaftStorage, 'saveSnapshot'>, opts: SnapshotStreamingOptions) {
    const send = (m: SnapshotStreamMessage): void => {
      try { opts.sendFrame(m.to, encodeSnapshotStreamMessage(m)) } catch { /* closed: the node stops */ }
    }
    const chunkBytes = opts.chunkBytes ?? DEFAULT_SNAPSHOT_STREAM_CHUNK_BYTES
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`snapshot chunk bytes must be a positive integer, got ${chunkBytes}`)
    const window = opts.window ?? DEFAULT_SNAPSHOT_WINDOW
    if (!Number.isSafeInteger(window) || window < 1) throw new RangeError(`snapshot window must be a positive integer, got ${window}`)
    this.sender = new SnapshotSender(store, send, { id: opts.id, chunkBytes, window, logger: opts.logger })
    this.receiver = new SnapshotReceiver(opts.id, store, send, {
      term: () => opts.core()?.term ?? 0,
      committed: () => opts.core()?.log.committed ?? 0,
      stopped: opts.stopped,
      deliver: (m) => {
        const core = opts.core()
        if (core === undefined || opts.stopped()) return false
        let took = false
        try {
          core.step(m)
          took = core.log.pendingSnapshot?.index === m.meta.index
        } catch (err) {
          opts.logger.error('raft: the core refused a received snapshot', { node: opts.id, error: String(err) })
        }
        opts.kick()
        return took
      }
    }, opts.logger)
  }

  /** Takes a message the core wants sent; returns `true` when it was a snapshot request (handled here, not to be sent). */
  intercept (m: RaftMessage): boolean {
    if (m.type !== 'snapshot') return false
    this.sender.request(m)
    return true
  }

  /** Handles a streamed-snapshot frame from `from`. */
  onFrame (from: NodeId, frame: Uint8Array, logger: Logger): void {
    let m: SnapshotStreamMessage
    try {
      m = decodeSnapshotStreamMessage(frame)
    } catch (err) {
      if (err instanceof DecodeError) { logger.warn('raft: dropped an undecodable snapshot stream message', { from, error: err.message }); return }
      throw err
    }
    if (m.from !== from) return
    if (m.type === 'snapshot-chunk') this.receiver.onChunk(m)
    else this.sender.onAck(m)
  }

  /**
   * Saves a snapshot the core handed out (before it is restored): the
   * received one this receiver holds for it, installed from its sink; or,
   * from a leader that sent it whole in `snapshot` messages (an older
   * version), `snapshot` itself. Returns the bytes to restore from.
   */
  async install (snapshot: Snapshot): Promise<() => Promise<Uint8Array>> {
    const sink = this.receiver.take(snapshot)
    if (sink === undefined) {
      await this.store.saveSnapshot(snapshot)
      return async () => snapshot.data
    }
    await this.store.installReceivedSnapshot(sink, snapshot)
    return async () => await this.data(snapshot.index)
  }

  /** The stored snapshot's data, to restore the state machine from. */
  async data (index: number): Promise<Uint8Array> {
    const info = this.store.snapshotInfo()
    const data = await this.store.readSnapshotData()
    if (info === undefined || info.index !== index || data === undefined) throw new Error(`the stored snapshot is not the one at ${index}`)
    return data
  }

  /** Leadership changed: transfers of an earlier term end. */
  roleChanged (leader: boolean): void {
    if (!leader) this.sender.clear()
  }

  /** Stops for good. */
  stop (): void {
    this.sender.stop()
    this.receiver.stop()
  }
}
