/**
 * Large messages travel as chunks under the transport's frame limit (a big
 * offline edit must still sync over a WebSocket or a data channel with a
 * message cap), and are put back together on the other side within a
 * memory bound.
 *
 * @module
 */
import { DecodeError, InvalidArgumentError } from '../errors.js'
import { type ChunkMessage, decodeMessage, encodeMessage, MessageType, type RoomMessage, type SyncMessage } from './messages.js'

/** Bytes a chunk frame needs besides its payload (version, type, 3 varuints, length). */
const CHUNK_OVERHEAD = 2 + 3 * 8 + 5

/** The smallest frame limit chunking can work with. */
export const MIN_FRAME_BYTES = 256

/** Default largest message accepted after reassembly: 64 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024

/**
 * Splits `frame` into chunk frames of at most `maxFrameBytes` each, or
 * returns `[frame]` when it fits. `id` tells concurrent chunked messages of
 * one sender apart.
 */
export const splitFrame = (frame: Uint8Array, maxFrameBytes: number, id: number): Uint8Array[] => {
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < MIN_FRAME_BYTES) {
    throw new InvalidArgumentError(`maxFrameBytes must be an integer ≥ ${MIN_FRAME_BYTES}, got ${maxFrameBytes}`)
  }
  if (frame.length <= maxFrameBytes) return [frame]
  const payload = maxFrameBytes - CHUNK_OVERHEAD
  const count = Math.ceil(frame.length / payload)
  const out: Uint8Array[] = new Array(count)
  for (let index = 0; index < count; index++) {
    const bytes = frame.subarray(index * payload, Math.min(frame.length, (index + 1) * payload))
    out[index] = encodeMessage({ type: MessageType.Chunk, id, index, count, bytes })
  }
  return out
}

/** Options of {@link Reassembler}. */
export interface ReassemblerOptions {
  /**
   * Largest message accepted after reassembly, in bytes.
   * @default DEFAULT_MAX_MESSAGE_BYTES (64 MiB)
   */
  maxMessageBytes?: number
  /**
   * How many partly received messages are kept; past that the oldest is
   * dropped (on a lossy link its missing chunks may never come).
   * @default 4
   */
  maxPending?: number
  /**
   * Milliseconds, to note when each partial message began (see
   * {@link Reassembler.startedBefore}).
   * @default () => 0
   */
  now?: () => number
}

/**
 * Bytes a held chunk costs besides its payload (the view and its slot), so
 * that a flood of tiny chunks is accounted for too.
 */
export const CHUNK_HELD_OVERHEAD = 64

interface Partial {
  count: number
  got: number
  /** Payload bytes received. */
  bytes: number
  /** `now()` when its first chunk came. */
  started: number
  /** Sparse: grows with the chunks that came, never by the declared count. */
  parts: Array<Uint8Array | undefined>
}

/** Puts chunked messages of one sender back together. */
export class Reassembler {
  private readonly maxMessageBytes: number
  private readonly maxPending: number
  private readonly now: () => number
  private readonly pending = new Map<number, Partial>()
  /** Ids completed lately: a late duplicate of their chunks is ignored. */
  private readonly recent: number[] = []
  /** Payload bytes held, and the same plus the per-chunk overhead. */
  private payload = 0
  private held = 0

  constructor (options: ReassemblerOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    this.maxPending = options.maxPending ?? 4
    this.now = options.now ?? (() => 0)
  }

  /** Payload bytes of partly received messages. */
  get bufferedBytes (): number { return this.payload }

  /**
   * What partly received messages cost: their payloads plus
   * {@link CHUNK_HELD_OVERHEAD} per chunk. Budgets count this.
   */
  get heldBytes (): number { return this.held }

  /** Partly received messages. */
  get pendingCount (): number { return this.pending.size }

  /** Whether a partial message began before `time` (it is overdue). */
  startedBefore (time: number): boolean {
    for (const p of this.pending.values()) if (p.started < time) return true
    return false
  }

  /**
   * Bytes `c` would add to {@link heldBytes} if pushed: 0 for a
   * duplicate or for the chunk that completes its message (which frees
   * the rest). Lets a caller enforce budgets before holding anything.
   */
  cost (c: ChunkMessage): number {
    const p = this.pending.get(c.id)
    if (p === undefined) return this.recent.includes(c.id) ? 0 : c.bytes.length + CHUNK_HELD_OVERHEAD
    if (p.parts[c.index] !== undefined) return 0
    if (p.count === c.count && p.got + 1 === p.count) return 0
    return c.bytes.length + CHUNK_HELD_OVERHEAD
  }

  private drop (id: number): void {
    const p = this.pending.get(id)
    if (p === undefined) return
    this.pending.delete(id)
    this.payload -= p.bytes
    this.held -= p.bytes + p.got * CHUNK_HELD_OVERHEAD
  }

  /**
   * Takes one chunk; returns the whole frame once its last chunk is in.
   * Duplicate chunks are ignored.
   *
   * @throws {DecodeError} when the chunks contradict each other or the
   *   message grows past `maxMessageBytes` (the partial message is dropped).
   */
  push (c: ChunkMessage): Uint8Array | undefined {
    let p = this.pending.get(c.id)
    if (p === undefined && this.recent.includes(c.id)) return undefined
    if (c.bytes.length === 0) throw new DecodeError(`chunk ${c.index} of message ${c.id} is empty`)
    if (p === undefined) {
      if (c.count > this.maxMessageBytes) {
        throw new DecodeError(`a chunked message of ${c.count} chunks cannot fit ${this.maxMessageBytes} bytes`)
      }
      p = { count: c.count, got: 0, bytes: 0, started: this.now(), parts: [] }
      this.pending.set(c.id, p)
      if (this.pending.size > this.maxPending) this.drop(this.pending.keys().next().value as number)
    } else if (p.count !== c.count) {
      this.drop(c.id)
      throw new DecodeError(`chunk ${c.index} of message ${c.id} says ${c.count} chunks, earlier ones said ${p.count}`)
    }
    if (p.parts[c.index] !== undefined) return undefined
    if (p.bytes + c.bytes.length > this.maxMessageBytes) {
      this.drop(c.id)
      throw new DecodeError(`chunked message ${c.id} is larger than ${this.maxMessageBytes} bytes`)
    }
    // a small view of a large buffer would keep all of it alive: hold a copy
    p.parts[c.index] = c.bytes.length * 2 < c.bytes.buffer.byteLength ? c.bytes.slice() : c.bytes
    p.got++
    p.bytes += c.bytes.length
    this.payload += c.bytes.length
    this.held += c.bytes.length + CHUNK_HELD_OVERHEAD
    if (p.got < p.count) return undefined
    this.drop(c.id)
    this.recent.push(c.id)
    if (this.recent.length > 16) this.recent.shift()
    const out = new Uint8Array(p.bytes)
    let at = 0
    for (const part of p.parts as Uint8Array[]) { out.set(part, at); at += part.length }
    return out
  }

  /** Drops every partial message (e.g. when the connection closes). */
  clear (): void {
    this.pending.clear()
    this.recent.length = 0
    this.payload = 0
    this.held = 0
  }
}

/**
 * One end of a link that carries sync messages as frames: messages over
 * `maxFrameBytes` go out as chunks (ids unique per sender), chunks coming
 * in are put back together. The client and the peer sessions each hold one.
 */
export class MessageFraming {
  private chunkId = 0
  private readonly reassembler: Reassembler

  constructor (private readonly maxFrameBytes: number, maxMessageBytes: number, private readonly sendFrame: (frame: Uint8Array) => void) {
    this.reassembler = new Reassembler({ maxMessageBytes })
  }

  /** Encodes `m` and sends it, chunked when it is over the frame limit. */
  send (m: SyncMessage): void {
    const frame = encodeMessage(m)
    if (frame.length <= this.maxFrameBytes) { this.sendFrame(frame); return }
    this.chunkId = (this.chunkId + 1) % 0x40000000
    for (const c of splitFrame(frame, this.maxFrameBytes, this.chunkId)) this.sendFrame(c)
  }

  /**
   * Decodes one frame: the message, or `undefined` for a chunk that does
   * not complete one yet.
   *
   * @throws {DecodeError} for a frame (or reassembled message) that cannot be decoded.
   */
  receive (frame: Uint8Array): RoomMessage | undefined {
    const m = decodeMessage(frame)
    if (m.type !== MessageType.Chunk) return m
    const whole = this.reassembler.push(m)
    if (whole === undefined) return undefined
    const inner = decodeMessage(whole)
    if (inner.type === MessageType.Chunk) throw new DecodeError('a chunked message holds another chunk')
    return inner
  }

  /** Drops partly received messages (the link went down). */
  clear (): void { this.reassembler.clear() }
}
