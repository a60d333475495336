/**
 * A bare KV client for hub tests: raw kv-request frames over a WebSocket,
 * so a test picks each request's session, seq and ackedSeq and the order
 * they go in (a pipelined request overtaking an earlier one, a retry after
 * later ones were acknowledged, a session left idle).
 */
import { WebSocket } from 'ws'
import { decodeKvResult, encodeKvCommand, type KvCommand, type KvResult } from 'aegis-replication/raft'
import { decodeMessage, encodeMessage, KvStatus, MessageType, type KvResponseMessage } from 'aegis-replication/sync'

/** One request: its session tag and command. */
export interface RawKvRequest { session: string, seq: number, ackedSeq?: number, cmd: KvCommand }

/** The hub's answer, the KV result decoded when `Ok`. */
export interface RawKvAnswer { status: KvStatus, result?: KvResult, reason: string }

/** A socket to a hub that sends kv-requests and pairs the answers by id. */
export class KvSocket {
  private nextId = 1
  private readonly waiting = new Map<number, (m: KvResponseMessage) => void>()
  private constructor (private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const m = decodeMessage(new Uint8Array(data))
      if (m.type !== MessageType.KvResponse) return
      this.waiting.get(m.id)?.(m)
      this.waiting.delete(m.id)
    })
  }

  /** Opens a socket to `url` (a hub's `ws://127.0.0.1:port`). */
  static async open (url: string): Promise<KvSocket> {
    const ws = new WebSocket(url)
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
    return new KvSocket(ws)
  }

  /** Sends `r` now; the promise is its answer. Requests go out in call order. */
  send (r: RawKvRequest): Promise<RawKvAnswer> {
    const id = this.nextId++
    const answer = new Promise<RawKvAnswer>((resolve) => {
      this.waiting.set(id, (m) => {
        resolve({ status: m.status, reason: m.reason, ...(m.status === KvStatus.Ok ? { result: decodeKvResult(m.result) } : {}) })
      })
    })
    this.ws.send(encodeMessage({
      type: MessageType.KvRequest, room: '', id, token: '', session: r.session, seq: r.seq, command: encodeKvCommand(r.cmd), ...(r.ackedSeq === undefined ? {} : { ackedSeq: r.ackedSeq })
    }))
    return answer
  }

  close (): void { this.ws.terminate() }
}
