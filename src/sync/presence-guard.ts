/**
 * Who may speak for which awareness client id in a hub room, and how much
 * presence a room holds. Rules:
 *
 * - A client id belongs to the member connection that first announced it in
 *   the room, for as long as that connection is a member. Entries (states
 *   and removals) for an id another connection owns are refused: not
 *   applied, not relayed. Leaving releases (and removes) only own ids.
 * - A connection owns at most `maxPerConnection` ids, a room at most
 *   `maxPerRoom`; an entry that would pass either is refused.
 * - A state whose JSON, as the hub would re-encode it, is over
 *   `maxStateBytes` is refused (a wire state may grow when re-serialised:
 *   `9e20` becomes 21 digits).
 * - A removal of an id nobody owns changes nothing and is dropped.
 *
 * Pure bookkeeping: the room applies what is admitted.
 *
 * @module
 */
import { MAX_AWARENESS_ENTRIES, MAX_AWARENESS_STATE_BYTES, type AwarenessEntry } from './awareness-codec.js'

/** Presence limits of a hub room. */
export interface PresenceLimits {
  /** Client ids one connection may announce in one room. @default 16 */
  maxPerConnection: number
  /** Client ids (states) one room holds. @default 1000 */
  maxPerRoom: number
  /** Largest state, in UTF-8 bytes of its re-encoded JSON. @default 16 KiB */
  maxStateBytes: number
}

/** The defaults of {@link PresenceLimits}. */
export const DEFAULT_PRESENCE_LIMITS: Readonly<PresenceLimits> = { maxPerConnection: 16, maxPerRoom: 1000, maxStateBytes: 16 * 1024 }

/** Why an entry was refused. */
export type PresenceRefusal = 'owned' | 'connection-limit' | 'room-limit' | 'too-large' | 'reserved'

/** UTF-8 length of `s`, counted without encoding it. */
const utf8Length = (s: string): number => {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) { n += 4; i++ } else n += 3
  }
  return n
}

/** Whether `state` re-encodes to more than `max` bytes of JSON. */
export const stateOver = (state: unknown, max: number): boolean => {
  const json = JSON.stringify(state)
  if (json.length * 3 <= max) return false
  if (json.length > max) return true
  return utf8Length(json) > max
}

/** Ownership and limits of one room's presence; `P` is the member type. */
export class PresenceGuard<P> {
  private readonly owners = new Map<number, P>()
  private readonly idsOf = new Map<P, number[]>()
  private limits: PresenceLimits

  /** `reservedId` is the hub's own client id, which no member may use. */
  constructor (private readonly reservedId: number, limits: Partial<PresenceLimits> = {}) {
    this.limits = PresenceGuard.clamp(limits)
  }

  /** Replaces the limits (ids already owned stay owned). */
  setLimits (limits: Partial<PresenceLimits>): void { this.limits = PresenceGuard.clamp(limits) }

  /** Client ids owned in the room. */
  get size (): number { return this.owners.size }

  /** The member that owns `clientID`, if any. */
  ownerOf (clientID: number): P | undefined { return this.owners.get(clientID) }

  /**
   * The entries `peer` may apply, claiming the new ids it announces:
   * `entries` itself when all pass (no allocation), else a new array. Calls
   * `refused` for each entry left out (not for removals of unowned ids).
   */
  admit (peer: P, entries: AwarenessEntry[], refused: (e: AwarenessEntry, why: PresenceRefusal) => void): AwarenessEntry[] {
    let out: AwarenessEntry[] | undefined
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]
      const why = this.check(peer, e)
      if (why === undefined) { out?.push(e); continue }
      if (out === undefined) out = entries.slice(0, i)
      if (why !== 'unowned') refused(e, why)
    }
    return out ?? entries
  }

  /** Releases every id `peer` owns (it left) and returns them. */
  release (peer: P): readonly number[] {
    const ids = this.idsOf.get(peer)
    if (ids === undefined) return []
    this.idsOf.delete(peer)
    for (const id of ids) if (this.owners.get(id) === peer) this.owners.delete(id)
    return ids
  }

  private check (peer: P, e: AwarenessEntry): PresenceRefusal | 'unowned' | undefined {
    if (e.clientID === this.reservedId) return 'reserved'
    const owner = this.owners.get(e.clientID)
    if (owner !== undefined && owner !== peer) return 'owned'
    if (e.state !== null && stateOver(e.state, this.limits.maxStateBytes)) return 'too-large'
    if (owner !== undefined) return undefined
    if (e.state === null) return 'unowned'
    let mine = this.idsOf.get(peer)
    if ((mine?.length ?? 0) >= this.limits.maxPerConnection) return 'connection-limit'
    if (this.owners.size >= this.limits.maxPerRoom) return 'room-limit'
    if (mine === undefined) this.idsOf.set(peer, mine = [])
    mine.push(e.clientID)
    this.owners.set(e.clientID, peer)
    return undefined
  }

  /** Limits the encoder can always serve: a join's presence snapshot must encode. */
  private static clamp (l: Partial<PresenceLimits>): PresenceLimits {
    const d = DEFAULT_PRESENCE_LIMITS
    return {
      maxPerConnection: Math.max(0, l.maxPerConnection ?? d.maxPerConnection),
      maxPerRoom: Math.min(MAX_AWARENESS_ENTRIES, Math.max(0, l.maxPerRoom ?? d.maxPerRoom)),
      maxStateBytes: Math.min(MAX_AWARENESS_STATE_BYTES, Math.max(2, l.maxStateBytes ?? d.maxStateBytes))
    }
  }
}
