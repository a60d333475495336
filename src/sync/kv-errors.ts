/**
 * The errors a KV request of the sync client (`SyncClient.kv`,
 * `provider.kv`) fails with, besides `TimeoutError` and `AbortError`.
 *
 * @module
 */
import { KvStatus } from './messages.js'

/** The hub refused a KV request for good (denied, malformed, no Raft group); `message` says why. */
export class KvRequestError extends Error {
  static override name = 'KvRequestError'
  /**
   * The hub's answer: `KvStatus.Failed` (denied, malformed, no Raft group),
   * `KvStatus.TooLarge` (over the group's `maxEntryBytes`) or
   * `KvStatus.SessionExpired` (a {@link KvOutcomeUnknownError}: the client
   * moves to a new session by itself); undefined when the client itself
   * gave up (an expired string token).
   */
  readonly status: KvStatus | undefined
  constructor (message: string, status?: KvStatus) {
    super(message)
    this.name = 'KvRequestError'
    this.status = status
  }
}

/**
 * A write's session expired on the group after the write may have been
 * applied (an earlier attempt of it went unanswered): whether it was
 * applied is unknown, and it is not sent again (under a new session it
 * could apply twice). Read the key to find out. `status` is
 * `KvStatus.SessionExpired`; later requests use a new session.
 */
export class KvOutcomeUnknownError extends KvRequestError {
  static override name = 'KvOutcomeUnknownError'
  constructor (message: string) {
    super(message, KvStatus.SessionExpired)
    this.name = 'KvOutcomeUnknownError'
  }
}
