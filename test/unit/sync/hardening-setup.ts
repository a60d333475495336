/** A hub driven directly with raw, hand-made frames: what a hostile client can send. */
import { Doc } from '../../../src/doc/index.js'
import {
  Access, decodeMessage, encodeMessage, HubRoom, MessageType, SyncServer,
  type RoomStore, type SyncMessage, type SyncServerOptions
} from '../../../src/sync/index.js'
import type { Logger } from '../../../src/components.js'

export const settle = async (): Promise<void> => { for (let i = 0; i < 30; i++) await Promise.resolve() }

export class MemoryStore implements RoomStore {
  readonly updates: Uint8Array[] = []
  async append (u: Uint8Array): Promise<void> { this.updates.push(u) }
}

export interface LogLine { level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown> }

export const EMPTY_SV = new Doc().encodeStateVector()

export interface RawOptions { ip?: string, bufferedAmount?: () => number }

/** A raw client: sends messages or frames, records what the hub sends and how it closed. */
export interface Raw {
  readonly id: string
  readonly received: SyncMessage[]
  readonly closed: Array<{ code: number, reason: string }>
  frame: (f: Uint8Array) => void
  send: (m: SyncMessage) => void
  join: (room: string, opts?: { token?: string, access?: Access }) => void
  /** The socket went away. */
  drop: () => void
  errors: () => Array<{ room: string, code: number }>
}

export const setupHub = (options: Partial<SyncServerOptions> & { roomFor?: (name: string, logger: Logger) => HubRoom } = {}) => {
  let now = 0
  const logs: LogLine[] = []
  const logger: Logger = {
    debug: (msg, fields) => logs.push({ level: 'debug', msg, fields }),
    info: (msg, fields) => logs.push({ level: 'info', msg, fields }),
    warn: (msg, fields) => logs.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => logs.push({ level: 'error', msg, fields })
  }
  const rooms = new Map<string, HubRoom>()
  const opened: string[] = []
  const server = new SyncServer({
    now: () => now,
    logger,
    openRoom: async (name) => {
      opened.push(name)
      const room = options.roomFor?.(name, logger) ?? new HubRoom(name, new Doc({ replicaId: 'hub' }), new MemoryStore(), { logger })
      rooms.set(name, room)
      return room
    },
    ...options
  })
  let n = 0
  const connect = (o: RawOptions = {}): Raw => {
    const id = `raw-${n++}`
    const received: SyncMessage[] = []
    const closed: Array<{ code: number, reason: string }> = []
    const io = {
      send: (f: Uint8Array) => { if (closed.length === 0) received.push(decodeMessage(f)) },
      close: (code: number, reason: string) => { closed.push({ code, reason }) },
      get bufferedAmount () { return o.bufferedAmount?.() }
    }
    const conn = server.connect(id, o.bufferedAmount === undefined ? { send: io.send, close: io.close } : io, { ip: o.ip })
    const raw: Raw = {
      id,
      received,
      closed,
      frame: (f) => conn.receive(f),
      send: (m) => conn.receive(encodeMessage(m)),
      join: (room, opts = {}) => raw.send({ type: MessageType.Join, room, token: opts.token ?? '', access: opts.access ?? Access.Write, stateVector: EMPTY_SV }),
      drop: () => conn.disconnected(),
      errors: () => received.flatMap(m => m.type === MessageType.Error ? [{ room: m.room, code: m.code }] : [])
    }
    return raw
  }
  return { server, connect, rooms, opened, logs, tick: (ms: number) => { now += ms } }
}
