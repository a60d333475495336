/**
 * KV sessions as the Raft simulations' clients use them: a client that
 * numbers its writes in a session, sends its acknowledged point
 * (`ackedSeq`, tracked by the library's own `KvSession`), moves to a fresh
 * session when the group says the old one expired, and gives up on a write
 * (outcome unknown) instead of sending it under a new session when an
 * earlier attempt may have been applied — the rules of `src/sync/kv-client.ts`.
 * And the check that no request is ever applied twice.
 */
import type { RaftNode, SessionTag } from 'aegis-replication/raft'
import { decodeCommand } from 'aegis-replication/raft'
import { KvSession, sessionIdFor } from '../../src/sync/kv-session.js'
import type { Fail } from './raft-sim-checks.js'

/** One write of a {@link SimKvClient}, across its attempts. */
export interface SimWrite {
  session: KvSession
  seq: number
  /** When it was issued (or moved to a new session). */
  start: number
  /** An attempt ended without a definite "not applied": a later refusal as expired leaves the outcome unknown. */
  uncertain: boolean
  /**
   * Retried after a stall past the session timeout (a client that was
   * away, a delayed duplicate): it is sent even past `giveUpMs`, as long as
   * it carries `ackedSeq > 0` — the group must refuse it as expired, never
   * apply it a second time.
   */
  late?: boolean
}

/** Thrown to the workload: stop retrying, the write's outcome is unknown (it stays pending in the history). */
export class OutcomeUnknown extends Error {
  override name = 'OutcomeUnknown'
  readonly outcome = 'unknown'
}

/** Errors after which the request was certainly not applied by that attempt. */
const DEFINITE = new Set(['NotLeaderError', 'SessionExpiredError'])

/** A simulated client's sessions; see the module documentation. */
export class SimKvClient {
  private session: KvSession
  private generation = 0
  /** Sessions this client moved off because the group expired them. */
  expiredSessions = 0
  /** Writes given up with an unknown outcome. */
  unknown = 0

  /**
   * @param giveUpMs - a write retried this long gives up (outcome unknown);
   *   keep it below the group's session timeout, as a real client's request
   *   timeout is, so a retry cannot find the session expired after an
   *   earlier attempt of it was applied.
   */
  constructor (readonly name: string, private readonly giveUpMs: number) {
    this.session = new KvSession(name)
  }

  /** Starts a write: its seq in the current session. */
  begin (now: number): SimWrite {
    return { session: this.session, seq: this.session.next(), start: now, uncertain: false }
  }

  /** The tag an attempt sends (the acknowledged point as of now). */
  tag (w: SimWrite): SessionTag {
    return { clientId: w.session.id, seq: w.seq, ackedSeq: w.session.ackedSeq }
  }

  /**
   * @throws {OutcomeUnknown} when the write, after an attempt of unknown
   *   outcome, has been retried for too long (unless it is a late retry
   *   the group can tell is of an expired session).
   */
  beforeAttempt (w: SimWrite, now: number): void {
    if (!w.uncertain || now - w.start < this.giveUpMs) return
    if (w.late === true && w.session.ackedSeq > 0) return
    this.giveUp(w, `gave up after ${now - w.start} ms`)
  }

  /** The write was answered. */
  done (w: SimWrite): void { w.session.settle(w.seq, true) }

  /**
   * An attempt failed with `errors` (several for a duplicated attempt).
   * Refused as expired: a write whose every attempt was certainly not
   * applied moves to a fresh session (as a new request, so it applies
   * once); otherwise its outcome is unknown.
   * @throws {OutcomeUnknown}
   */
  failed (w: SimWrite, errors: Error[], now: number): void {
    if (errors.some((e) => !DEFINITE.has(e.name))) w.uncertain = true
    if (!errors.some((e) => e.name === 'SessionExpiredError')) return
    w.session.settle(w.seq)
    if (this.session === w.session) {
      this.session = new KvSession(sessionIdFor(this.name, ++this.generation))
      this.expiredSessions++
    }
    if (w.uncertain) this.giveUp(w, 'its session expired after an attempt whose outcome is unknown')
    w.session = this.session
    w.seq = this.session.next()
    w.start = now
  }

  private giveUp (w: SimWrite, why: string): never {
    w.session.settle(w.seq)
    this.unknown++
    throw new OutcomeUnknown(`${w.session.id}#${w.seq}: ${why}`)
  }
}

/**
 * No request is applied twice: every state-machine application of a
 * session-tagged command is recorded with its log index; the same
 * `(session, seq)` at two indices is a double application.
 */
export class ExactlyOnce {
  private readonly at = new Map<string, number>()
  applies = 0
  constructor (private readonly fail: Fail) {}

  /** Call from the state machine's `apply`, before it runs: finds the entry being applied in `node`'s log. */
  applying (node: RaftNode | undefined, who: string): void {
    const core = node?.raft
    if (node === undefined || core === undefined) return
    const index = node.status().applied + 1
    const l = core.log
    const e = l.entries[index - l.snapshot.index - 1]
    if (e === undefined || e.index !== index) return
    const tag = decodeCommand(e.data).session
    if (tag === undefined) return
    this.applies++
    const key = `${tag.clientId}#${tag.seq}`
    const first = this.at.get(key)
    if (first === undefined) this.at.set(key, index)
    else if (first !== index) this.fail(`exactly-once: request ${key} applied at index ${first} and again at ${index} (on ${who})`)
  }
}
