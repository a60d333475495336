/**
 * The leader's view of one follower's log: what is known to match, what to
 * send next, and the flow control of appends in flight.
 *
 * - `probe`: the leader does not know where the logs match; one append per
 *   heartbeat interval until one is accepted.
 * - `replicate`: appends are pipelined (the next index moves optimistically
 *   on send), bounded by a count and a byte size of messages in flight.
 * - `snapshot`: the follower is receiving a snapshot, chunk by chunk.
 *
 * @module
 */

/** Replication states of a follower. */
export const ProgressState = { Probe: 'probe', Replicate: 'replicate', Snapshot: 'snapshot' } as const
/** One of {@link ProgressState}'s values. */
export type ProgressState = typeof ProgressState[keyof typeof ProgressState]

/** Per-follower replication state, kept by the leader. */
export class Progress {
  /** Highest index known to match the leader's log. */
  match = 0
  /** Next index to send. */
  next: number
  /** See the module documentation. */
  state: ProgressState = ProgressState.Probe
  /** Probe: an append is out and unanswered; wait for a response or the next heartbeat. */
  paused = false
  /** Heard from since the last check-quorum round. */
  recentActive = true
  /** Snapshot state: the index of the snapshot being sent. */
  snapshotIndex = 0
  /** Snapshot state: bytes the follower acknowledged. */
  snapshotOffset = 0
  /** Snapshot state: ticks since a chunk was last sent. */
  snapshotIdle = 0
  /** Highest read sequence the follower echoed. */
  readSeq = 0
  /** Commit index last sent in an append. */
  sentCommit = 0
  private readonly inflight: Array<{ index: number, bytes: number }> = []
  private inflightBytes = 0

  constructor (next: number, readonly maxInflight: number, readonly maxInflightBytes: number) {
    this.next = next
  }

  /** Whether no more appends may be sent now. */
  get isPaused (): boolean {
    switch (this.state) {
      case ProgressState.Probe: return this.paused
      case ProgressState.Replicate: return this.inflight.length >= this.maxInflight || this.inflightBytes >= this.maxInflightBytes
      default: return true
    }
  }

  /** Switches to probing from just after `match`. */
  becomeProbe (): void {
    if (this.state === ProgressState.Snapshot) this.next = Math.max(this.match + 1, this.snapshotIndex + 1)
    else this.next = this.match + 1
    this.reset(ProgressState.Probe)
  }

  /** Switches to pipelined replication. */
  becomeReplicate (): void {
    this.next = this.match + 1
    this.reset(ProgressState.Replicate)
  }

  /** Switches to sending the snapshot at `index`. */
  becomeSnapshot (index: number): void {
    this.reset(ProgressState.Snapshot)
    this.snapshotIndex = index
    this.snapshotOffset = 0
    this.snapshotIdle = 0
  }

  private reset (state: ProgressState): void {
    this.state = state
    this.paused = false
    this.snapshotIndex = 0
    this.inflight.length = 0
    this.inflightBytes = 0
  }

  /** Records an append of entries up to `last` (and `bytes` of them) as sent. */
  sent (last: number, bytes: number, entries: number): void {
    if (this.state === ProgressState.Replicate) {
      if (entries > 0) {
        this.next = last + 1
        this.inflight.push({ index: last, bytes })
        this.inflightBytes += bytes
      }
    } else if (this.state === ProgressState.Probe) {
      this.paused = true
    }
  }

  /** Frees the oldest append in flight when the window is full (it was probably lost). */
  freeFirstIfFull (): void {
    if (this.state === ProgressState.Replicate && this.isPaused && this.inflight.length > 0) {
      this.inflightBytes -= this.inflight.shift()!.bytes
    }
  }

  /** A success response for `index`: returns whether `match` moved. */
  maybeUpdate (index: number): boolean {
    let updated = false
    if (index > this.match) {
      this.match = index
      updated = true
      this.paused = false
    }
    this.next = Math.max(this.next, index + 1)
    while (this.inflight.length > 0 && this.inflight[0].index <= index) {
      this.inflightBytes -= this.inflight.shift()!.bytes
    }
    return updated
  }

  /**
   * A reject of the append after `rejected`, with the follower's hint that
   * its log might match up to `matchHint`. Returns false for a stale reject.
   */
  maybeDecrTo (rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false
      this.next = this.match + 1
      return true
    }
    if (this.next - 1 !== rejected) return false
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1)
    this.paused = false
    return true
  }
}
