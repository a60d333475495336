/**
 * Errors specific to Raft. The shared ones (`NotLeaderError`,
 * `TimeoutError`, `DecodeError`, `StorageError`) live in `src/errors.ts`.
 * Each sets `name`, so callers can match on `err.name`.
 *
 * @module
 */

/** The node was stopped (or its transport closed) before the operation finished. */
export class RaftStoppedError extends Error {
  static override name = 'RaftStoppedError'
  constructor (message = 'the raft node is stopped: start a node (or use another member) and retry', options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'RaftStoppedError'
  }
}

/**
 * A proposal was not applied and never will be: another leader overwrote
 * its log slot, the leader's uncommitted log is full (`maxUncommittedBytes`,
 * back-pressure), or the session table refused a new session (it is full).
 * Retryable: retry it (with the same `clientId`/`seq` for exactly-once),
 * after a pause when the group is busy.
 */
export class ProposalDroppedError extends Error {
  static override name = 'ProposalDroppedError'
  constructor (message = 'the proposal was dropped by a leadership change: retry it (with the same clientId/seq for exactly-once)') {
    super(message)
    this.name = 'ProposalDroppedError'
  }
}

/** A membership change was refused: another one is pending, or it does not apply to the current configuration. */
export class ConfChangeError extends Error {
  static override name = 'ConfChangeError'
  constructor (message: string) {
    super(message)
    this.name = 'ConfChangeError'
  }
}

/**
 * A proposal is larger than the group's `maxEntryBytes`. It was not
 * appended; retrying the same command cannot succeed (split it or store the
 * payload elsewhere). The hub answers it with `KvStatus.TooLarge`.
 */
export class EntryTooLargeError extends Error {
  static override name = 'EntryTooLargeError'
  constructor (readonly size: number, readonly limit: number, message = `the command is ${size} bytes; the limit is ${limit} bytes (maxEntryBytes): split it or store the payload elsewhere`) {
    super(message)
    this.name = 'EntryTooLargeError'
  }
}

/**
 * The client session of a proposal is unknown to the group: it expired
 * (idle longer than the replicated session timeout), or the request was
 * already acknowledged by the client. The request was not applied, and a
 * retry with the same session never will be: start a new session. The hub
 * answers it with `KvStatus.SessionExpired`.
 */
export class SessionExpiredError extends Error {
  static override name = 'SessionExpiredError'
  constructor (message = 'the client session expired on the raft group: the request was not applied; start a new session') {
    super(message)
    this.name = 'SessionExpiredError'
  }
}

/** Thrown by {@link SnapshotSink.finish} when the received bytes do not match the announced size or checksum. */
export class SnapshotChecksumError extends Error {
  static override name = 'SnapshotChecksumError'
  constructor (message: string) {
    super(message)
    this.name = 'SnapshotChecksumError'
  }
}
