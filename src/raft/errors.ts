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
  constructor (message = 'the raft node is stopped: start a node (or use another member) and retry') {
    super(message)
    this.name = 'RaftStoppedError'
  }
}

/**
 * A proposal was appended but will never be applied: another leader
 * overwrote its log slot, or its session sequence number was already
 * superseded. Retrying is safe with the same `clientId`/`seq`.
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
