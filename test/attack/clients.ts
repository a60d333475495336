/**
 * The suite's protocol clients: {@link RawClient}, a raw `ws` socket from a
 * given loopback source address speaking the binary protocol, and the
 * {@link Bystander}, which writes to its own room throughout and counts the
 * seqs the hub acknowledged.
 */
import { WebSocket } from 'ws'
import { Doc } from 'aegis-replication'
import { decodeMessage, encodeMessage, MessageType, SyncClient, type ClientRoom, type SyncMessage } from 'aegis-replication/sync'
import { waitFor } from './wait.js'

/** A raw protocol client on its own socket from source address `ip`. */
export class RawClient {
  readonly ws: WebSocket
  /** Decoded messages from the hub (the first 5,000), and how many frames came. */
  readonly received: SyncMessage[] = []
  frames = 0
  close: { code: number, reason: string } | undefined
  readonly opened: Promise<void>

  constructor (url: string, readonly ip: string) {
    this.ws = new WebSocket(url, { localAddress: ip })
    this.ws.binaryType = 'arraybuffer'
    this.ws.on('message', (data) => {
      this.frames++
      if (this.received.length >= 5_000) return
      try { this.received.push(decodeMessage(new Uint8Array(data as ArrayBuffer))) } catch { /* a chunk of a larger message, or junk */ }
    })
    this.ws.on('error', () => { /* the close event follows */ })
    this.ws.on('close', (code, reason) => { this.close = { code, reason: reason.toString() } })
    this.opened = new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => resolve())
      this.ws.once('close', (code) => reject(new Error(`socket from ${ip} closed (${code}) before it opened`)))
    })
  }

  static async open (url: string, ip: string): Promise<RawClient> {
    const c = new RawClient(url, ip)
    await c.opened
    return c
  }

  get isOpen (): boolean { return this.ws.readyState === WebSocket.OPEN }

  send (m: SyncMessage): void { this.sendRaw(encodeMessage(m)) }

  sendRaw (frame: Uint8Array): void { if (this.isOpen) this.ws.send(frame) }

  /** The messages received that match. */
  got<T extends SyncMessage['type']> (type: T, room?: string): Array<Extract<SyncMessage, { type: T }>> {
    return this.received.filter(m => m.type === type && (room === undefined || (m as { room?: string }).room === room)) as Array<Extract<SyncMessage, { type: T }>>
  }

  /** Resolves with the close the hub made (or fails after `ms`). */
  async closed (what: string, ms = 30_000): Promise<{ code: number, reason: string }> {
    await waitFor(() => this.close !== undefined, what, ms)
    return this.close!
  }

  /**
   * A round trip: sends a `leave` for a room this client never joined, which
   * the hub answers with an error naming that room. Resolves once the answer
   * came, so everything sent before was processed (or rejects: closed).
   */
  async roundTrip (what: string, ms = 30_000): Promise<void> {
    const room = `rt-${Math.random().toString(36).slice(2)}`
    this.send({ type: MessageType.Leave, room })
    await waitFor(() => {
      if (this.close !== undefined) throw new Error(`${what}: the socket closed (${this.close.code} ${this.close.reason})`)
      return this.got(MessageType.Error, room).length > 0
    }, what, ms)
  }

  terminate (): void { this.ws.terminate() }
}

/**
 * A client writing to its own room every `everyMs` through a SyncClient;
 * counts the seqs the hub acknowledged (from the ack frames).
 */
export class Bystander {
  readonly doc = new Doc({ replicaId: 'bystander' })
  readonly acked = new Set<number>()
  private sentSeq = 0
  private writes = 0
  private timer: ReturnType<typeof setInterval> | undefined
  private room!: ClientRoom
  close: { code: number, reason: string } | undefined

  private constructor (private readonly ws: WebSocket, private readonly client: SyncClient) {}

  static async start (url: string, ip: string, room = 'bystander', everyMs = 100): Promise<Bystander> {
    const ws = new WebSocket(url, { localAddress: ip })
    ws.binaryType = 'arraybuffer'
    let self: Bystander | undefined
    const client = new SyncClient({
      send: (f) => {
        if (self !== undefined) {
          try { const m = decodeMessage(f); if (m.type === MessageType.Update) self.sentSeq = Math.max(self.sentSeq, m.seq) } catch { /* chunk */ }
        }
        if (ws.readyState === WebSocket.OPEN) ws.send(f)
      }
    })
    self = new Bystander(ws, client)
    const b = self
    ws.on('message', (data) => {
      const frame = new Uint8Array(data as ArrayBuffer)
      try {
        const m = decodeMessage(frame)
        if (m.type === MessageType.Ack) for (let s = m.from; s <= m.to; s++) b.acked.add(s)
      } catch { /* chunk */ }
      client.receive(frame)
    })
    ws.on('error', () => {})
    ws.on('close', (code, reason) => { b.close = { code, reason: reason.toString() }; client.disconnected() })
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('close', (c) => reject(new Error(`bystander closed (${c})`))) })
    client.connected()
    b.room = client.addRoom(room, b.doc)
    await waitFor(() => b.room.synced, 'the bystander to sync')
    b.timer = setInterval(() => { b.write() }, everyMs)
    return b
  }

  /** One write; returns the seq it went out with. */
  write (): number {
    this.writes++
    this.doc.map('m').set(`w${this.writes}`, this.writes)
    return this.sentSeq
  }

  /** Writes once more and waits for the hub to acknowledge that write. */
  async ackAfter (label: string, ms = 30_000): Promise<void> {
    const seq = this.write()
    await waitFor(() => {
      if (this.close !== undefined) throw new Error(`after ${label}: the bystander's socket closed (${this.close.code} ${this.close.reason})`)
      return this.acked.has(seq)
    }, `the bystander's write ${seq} to be acknowledged after ${label}`, ms)
  }

  get ackCount (): number { return this.acked.size }

  stop (): void {
    clearInterval(this.timer)
    this.client.destroy()
    this.ws.terminate()
  }
}
