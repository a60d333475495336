/**
 * Snapshots in the Raft core: cutting one at an applied index, sending it
 * to a follower in chunks (resumed from the offset the follower reports),
 * and receiving one.
 *
 * @module
 */
import type { SnapshotMessage } from './messages.js'
import type { Progress } from './progress.js'
import { CoreState } from './core-state.js'
import type { NodeId, Snapshot } from './types.js'

/** See the module documentation. */
export abstract class SnapshotTransfer extends CoreState {
  /**
   * Records that the state machine covers the log up to `index` with
   * `data`, and drops those entries from memory. Returns the snapshot to
   * save (with the configuration in force at `index`), or `undefined` when
   * the log already starts at or after `index`: a snapshot received from
   * the leader replaced it while the state machine was being serialized
   * (the driver must then not save the older snapshot over it).
   */
  compact (index: number, data: Uint8Array): Snapshot | undefined {
    const snapshot = this.snapshotAt(index, data)
    if (snapshot !== undefined) this.log.compact(snapshot)
    return snapshot
  }

  /**
   * Like {@link compact}, without dropping anything: the snapshot of the
   * log up to `index` with state `data`, or `undefined` when the log
   * already starts at or after `index`.
   */
  snapshotAt (index: number, data: Uint8Array): Snapshot | undefined {
    if (index <= this.log.snapshot.index) return undefined
    const term = this.log.termAt(index)
    if (term === undefined) throw new RangeError(`cannot snapshot at ${index}: not in the log`)
    return { index, term, conf: this.log.confAt(index), data }
  }

  protected handleSnapshot (m: SnapshotMessage): void {
    const l = this.log
    const meta = m.meta
    const ack = (index: number): void => this.send({ type: 'append-resp', from: this.id, to: m.from, term: this.term, index, reject: false, rejectHint: 0, logTerm: 0 })
    if (meta.index <= l.committed) { this.incoming = undefined; return ack(l.committed) }
    let inc = this.incoming
    if (m.offset === 0 && (inc === undefined || inc.index !== meta.index || inc.term !== meta.term || inc.total !== m.total || inc.received > 0)) {
      inc = this.incoming = { index: meta.index, term: meta.term, total: m.total, chunks: [], received: 0 }
    }
    if (inc === undefined || inc.index !== meta.index || inc.term !== meta.term || inc.total !== m.total || m.offset !== inc.received) {
      const offset = inc !== undefined && inc.index === meta.index && inc.term === meta.term ? inc.received : 0
      this.send({ type: 'snapshot-resp', from: this.id, to: m.from, term: this.term, index: meta.index, offset })
      return
    }
    inc.chunks.push(m.data)
    inc.received += m.data.length
    if (inc.received < inc.total) {
      this.send({ type: 'snapshot-resp', from: this.id, to: m.from, term: this.term, index: meta.index, offset: inc.received })
      return
    }
    this.incoming = undefined
    const data = new Uint8Array(inc.total)
    let o = 0
    for (const c of inc.chunks) { data.set(c, o); o += c.length }
    if (l.matchTerm(meta.index, meta.term)) {
      // we already hold the entries it covers: just commit them
      l.commitTo(meta.index)
    } else {
      l.restore({ index: meta.index, term: meta.term, conf: meta.conf, data })
      this.confChanged()
    }
    ack(meta.index)
  }

  protected sendSnapshotChunk (to: NodeId, pr: Progress): void {
    const snap = this.log.snapshot
    if (pr.snapshotIndex !== snap.index) { pr.becomeSnapshot(snap.index) }
    pr.snapshotIdle = 0
    const offset = Math.min(pr.snapshotOffset, snap.data.length)
    const data = snap.data.subarray(offset, Math.min(snap.data.length, offset + this.opts.snapshotChunkBytes))
    this.send({ type: 'snapshot', from: this.id, to, term: this.term, meta: { index: snap.index, term: snap.term, conf: snap.conf }, offset, total: snap.data.length, data })
  }
}
