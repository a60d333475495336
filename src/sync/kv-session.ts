/**
 * A client's KV session as the client tracks it (see `kv-client.ts`): its
 * id, its request numbers, and its acknowledged point — the highest seq
 * such that every request up to it is settled (answered, or given up on).
 *
 * @module
 */

/** KV protocol version 1, the tags of `get` and `range` (`src/raft/kv.ts`): the reads. */
const KV_V1 = 1
const READ_TAGS = new Set([0, 1])

/**
 * Whether an encoded KV command is a read (`get`, `range`). Anything else
 * counts as a write (the safe side: a write is never taken for a read).
 */
export const isKvRead = (command: Uint8Array): boolean =>
  command.length >= 2 && command[0] === KV_V1 && READ_TAGS.has(command[1])

/** Session ids are at most this many UTF-8 bytes (`MAX_KV_SESSION_BYTES`). */
const MAX_ID_BYTES = 64

/**
 * The id of the `generation`th session of a client whose first session is
 * `base` (`base` itself for generation 0): `base.<generation>`, `base` cut
 * short when the whole would be over 64 UTF-8 bytes.
 */
export const sessionIdFor = (base: string, generation: number): string => {
  if (generation === 0) return base
  const suffix = `.${generation}`
  let head = base
  while (new TextEncoder().encode(head + suffix).length > MAX_ID_BYTES) head = head.slice(0, -1)
  return head + suffix
}

/** One session of a client; see the module documentation. */
export class KvSession {
  private lastSeq = 0
  private acked = 0
  /** Settled seqs above `acked`. */
  private readonly settled = new Set<number>()
  /** A write of this session was applied (answered `Ok`): the group knows the session. */
  private wrote = false

  constructor (readonly id: string) {}

  /** A new request's number. */
  next (): number { return ++this.lastSeq }

  /**
   * Request `seq` is settled: answered (`applied`: a write answered `Ok`),
   * or given up on (timed out, aborted). A request given up on counts too:
   * the group then refuses its entry if it comes later (at or below the
   * acknowledged point), so the point keeps moving.
   */
  settle (seq: number, applied = false): void {
    if (applied) this.wrote = true
    if (seq <= this.acked) return
    this.settled.add(seq)
    while (this.settled.delete(this.acked + 1)) this.acked++
  }

  /**
   * What requests send as `ackedSeq`: the acknowledged point, but 0 until a
   * write of this session was applied (an unknown session with
   * `ackedSeq > 0` is taken for an expired one; reads alone never create
   * the session on the group).
   */
  get ackedSeq (): number { return this.wrote ? this.acked : 0 }
}
