/**
 * The event trace of an {@link InMemoryNetwork}: what was sent, delivered,
 * dropped (and why) and duplicated, and when peers, partitions and blocks
 * changed. Two runs with the same seed and the same script produce equal
 * traces, so a trace is both a debugging aid and a determinism check.
 *
 * ```ts
 * const net = new InMemoryNetwork({ seed: 3, traceLimit: 500 })
 * // …run a scenario; on failure:
 * console.log(net.formatTrace(50)) // the last 50 events, one per line
 * ```
 *
 * @module
 */
import type { PeerId } from './transport.js'

/** Why a frame did not arrive. */
export type DropReason =
  /** Random loss on the link. */
  | 'loss'
  /** A partition or a one-way block cut the link (at send or at delivery). */
  | 'partition'
  /** No transport with the destination id was attached when it was sent. */
  | 'no-peer'
  /** The receiver closed, crashed or was restarted before the frame arrived. */
  | 'receiver-gone'
  /** The sender crashed while the frame was in flight. */
  | 'sender-crashed'

/** Fields every trace event has. */
interface TraceBase {
  /** Virtual time of the event, in milliseconds. */
  time: number
}

/** What happened to one frame (`frame` numbers frames in the order they were sent). */
export type FrameTraceEvent = TraceBase & { from: PeerId, to: PeerId, frame: number } & (
  /** Accepted by `send`/`broadcast`; `digest` is a 32-bit FNV-1a hash of the bytes. */
  | { type: 'send', size: number, digest: number }
  /** Scheduled to arrive at `at`; `reordered` if it was held back to be overtaken. */
  | { type: 'schedule', at: number, reordered: boolean }
  /** A second copy scheduled to arrive at `at`. */
  | { type: 'duplicate', at: number }
  /** Handed to the receiver's listeners. */
  | { type: 'deliver', size: number, digest: number }
  /** Lost. */
  | { type: 'drop', reason: DropReason }
)

/** A change of the network itself. */
export type NetworkTraceEvent = TraceBase & (
  /** A transport was created (`incarnation` tells restarts apart). */
  | { type: 'attach', peer: PeerId, incarnation: number }
  | { type: 'close', peer: PeerId }
  | { type: 'crash', peer: PeerId }
  /** The partition now in force; no groups: partition removed (blocks stay). */
  | { type: 'partition', groups: PeerId[][] }
  | { type: 'block', from: PeerId, to: PeerId }
  | { type: 'unblock', from: PeerId, to: PeerId }
  | { type: 'heal' }
)

/** One entry of the trace; discriminated on `type`. */
export type TraceEvent = FrameTraceEvent | NetworkTraceEvent

/** The 32-bit FNV-1a hash of `bytes`, as recorded in `send` and `deliver` events. */
export const fnv1a32 = (bytes: Uint8Array): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193)
  return h >>> 0
}

const hex = (n: number): string => n.toString(16).padStart(8, '0')

/** One line per event, e.g. `t=12.5 #3 deliver a->b 4B 1c2d3e4f`. */
export const formatTraceEvent = (e: TraceEvent): string => {
  const t = `t=${Math.round(e.time * 1000) / 1000}`
  switch (e.type) {
    case 'send':
    case 'deliver':
      return `${t} #${e.frame} ${e.type} ${e.from}->${e.to} ${e.size}B ${hex(e.digest)}`
    case 'schedule':
      return `${t} #${e.frame} schedule ${e.from}->${e.to} at=${Math.round(e.at * 1000) / 1000}${e.reordered ? ' reordered' : ''}`
    case 'duplicate':
      return `${t} #${e.frame} duplicate ${e.from}->${e.to} at=${Math.round(e.at * 1000) / 1000}`
    case 'drop':
      return `${t} #${e.frame} drop ${e.from}->${e.to} (${e.reason})`
    case 'attach':
      return `${t} attach ${e.peer} (incarnation ${e.incarnation})`
    case 'close':
    case 'crash':
      return `${t} ${e.type} ${e.peer}`
    case 'partition':
      return `${t} partition ${e.groups.length === 0 ? '(none)' : e.groups.map((g) => `[${g.join(',')}]`).join(' ')}`
    case 'block':
    case 'unblock':
      return `${t} ${e.type} ${e.from}->${e.to}`
    case 'heal':
      return `${t} heal`
  }
}

/** Keeps the last `limit` events (all of them if `limit` is `Infinity`). */
export class TraceBuffer {
  private readonly events: TraceEvent[] = []
  private start = 0
  /** Events recorded in total, including those no longer kept. */
  total = 0

  constructor (readonly limit: number) {}

  push (event: TraceEvent): void {
    this.total++
    if (this.limit <= 0) return
    if (this.events.length < this.limit) {
      this.events.push(event)
    } else {
      this.events[this.start] = event
      this.start = (this.start + 1) % this.events.length
    }
  }

  /** The kept events, oldest first. */
  toArray (): TraceEvent[] {
    return [...this.events.slice(this.start), ...this.events.slice(0, this.start)]
  }
}
