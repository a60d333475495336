/**
 * Every public error of aegis-replication. Each sets `name`, so callers can
 * match on `err.name` across worker boundaries and duplicate copies of the
 * library.
 *
 * @module
 */

/** Bytes from a peer or from storage could not be decoded. Nothing was applied. */
export class DecodeError extends Error {
  static override name = 'DecodeError'
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'DecodeError'
  }
}

/** A peer speaks another protocol version (a {@link DecodeError}: nothing was applied). */
export class VersionError extends DecodeError {
  static override name = 'VersionError'
  constructor (readonly version: number, message = `protocol version ${version} is not supported`) {
    super(message)
    this.name = 'VersionError'
  }
}

/** A Raft operation reached a node that is not the leader. */
export class NotLeaderError extends Error {
  static override name = 'NotLeaderError'
  constructor (readonly leaderHint?: string, message = 'not the leader: retry on the leader' + (leaderHint !== undefined ? ` (${leaderHint})` : '')) {
    super(message)
    this.name = 'NotLeaderError'
  }
}

/** An operation did not complete in time. */
export class TimeoutError extends Error {
  static override name = 'TimeoutError'
  constructor (message = 'the operation timed out') {
    super(message)
    this.name = 'TimeoutError'
  }
}

/** An operation was aborted by its caller or because its owner was stopped. */
export class AbortError extends Error {
  static override name = 'AbortError'
  constructor (message = 'the operation was aborted') {
    super(message)
    this.name = 'AbortError'
  }
}

/** A distributed transaction was aborted; nothing it wrote is visible. */
export class TransactionAbortedError extends Error {
  static override name = 'TransactionAbortedError'
  constructor (message = 'the transaction was aborted', options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'TransactionAbortedError'
  }
}

/** No replica of a shard could be reached. */
export class ShardUnavailableError extends Error {
  static override name = 'ShardUnavailableError'
  constructor (message = 'no replica of the shard is reachable', options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ShardUnavailableError'
  }
}

/** A message was sent on, or expected from, a closed transport. */
export class TransportClosedError extends Error {
  static override name = 'TransportClosedError'
  constructor (message = 'the transport is closed') {
    super(message)
    this.name = 'TransportClosedError'
  }
}

/** Persisting or loading failed; the original error is the `cause`. */
export class StorageError extends Error {
  static override name = 'StorageError'
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StorageError'
  }
}

/** An argument passed to a public API was not valid. */
export class InvalidArgumentError extends TypeError {
  static override name = 'InvalidArgumentError'
  constructor (message: string) {
    super(message)
    this.name = 'InvalidArgumentError'
  }
}
