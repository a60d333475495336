/**
 * The attack suite's harness: an `aegis-hub` process started through the
 * CLI (bin/aegis-hub.mjs, which runs dist/), its health (pid alive,
 * `/healthz` 200, RSS from /proc/<pid>/status under a bound), raw `ws`
 * clients speaking the binary protocol, and a bystander that writes to its
 * own room throughout and must keep getting acknowledgements.
 *
 * Every client binds its own loopback source address (127.x.y.z: Linux
 * routes the whole 127/8 to `lo`), so the hub's per-IP limits see each
 * attack, and the bystander, as a different IP.
 *
 * `AEGIS_ATTACK_NEW_FLAGS=0` starts the hub with only the flags the CLI had
 * before the hardening (to show the attacks reproduce the findings);
 * `AEGIS_ATTACK_RSS_MB` overrides the RSS bound.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WebSocket } from 'ws'
import { Doc } from 'aegis-replication'
import { decodeMessage, encodeMessage, MessageType, SyncClient, type ClientRoom, type SyncMessage } from 'aegis-replication/sync'
import { until } from '../support/net.js'

/** Whether the hub gets the flags the hardening adds (`AEGIS_ATTACK_NEW_FLAGS=0`: only the old ones). */
export const NEW_FLAGS = process.env.AEGIS_ATTACK_NEW_FLAGS !== '0'

/** The hub's resident set size must stay under this many MiB for the whole suite. */
export const RSS_BOUND_MB = Number(process.env.AEGIS_ATTACK_RSS_MB ?? 300)

const root = fileURLToPath(new URL('../../', import.meta.url))
const bin = join(root, 'bin/aegis-hub.mjs')
const dist = join(root, 'dist/hub.js')

/** A structured line of the hub's JSON log; `seq` numbers the lines kept (see {@link HubProcess.logMark}). */
export interface LogLine { seq: number, level?: string, msg?: string, code?: number, connection?: string, [field: string]: unknown }

/** A running `aegis-hub` process. */
export interface HubProcess {
  readonly child: ChildProcess
  readonly pid: number
  readonly port: number
  readonly url: string
  readonly dataDir: string
  /** Log lines with a `code` field or level warn/error (the last 20,000). */
  readonly log: LogLine[]
  /** The `seq` the next kept log line gets: lines from now on have `seq >= logMark()`. */
  logMark (): number
  /** Largest RSS seen so far (sampled every 100 ms), in KiB. */
  maxRssKb: number
  /** The last 64 KiB of its output, for failure messages. */
  tail (): string
  alive (): boolean
  rssKb (): number
  /** GET /healthz: the status code (0 when it does not answer within `ms`). */
  healthz (ms?: number): Promise<number>
  stop (): Promise<void>
}

/**
 * Starts `aegis-hub --port 0 --data <tmp> …` and resolves once its log says
 * 'hub listening'. `newFlags` are passed only when {@link NEW_FLAGS}.
 */
export const spawnHub = async (flags: string[], newFlags: string[]): Promise<HubProcess> => {
  if (!existsSync(dist)) throw new Error('dist/hub.js is missing: run `npx rollup -c --silent` (npm test builds it)')
  const dataDir = await mkdtemp(join(tmpdir(), 'aegis-attack-'))
  const args = [bin, '--port', '0', '--data', dataDir, ...flags, ...(NEW_FLAGS ? newFlags : [])]
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const log: LogLine[] = []
  let logSeq = 0
  let partial = ''
  const onData = (d: Buffer): void => {
    const s = d.toString()
    out = (out + s).slice(-65_536)
    const lines = (partial + s).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      if (line.length === 0 || line[0] !== '{') continue
      try {
        const l = JSON.parse(line) as LogLine
        if (l.code !== undefined || l.level === 'warn' || l.level === 'error') {
          l.seq = logSeq++
          log.push(l)
          if (log.length > 20_000) log.splice(0, 10_000)
        }
      } catch { /* not JSON */ }
    }
  }
  child.stdout!.on('data', onData)
  child.stderr!.on('data', onData)
  const url = await new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const m = /"msg":"hub listening"[^\n]*"url":"(ws:\/\/[^"]+)"/.exec(out)
      if (m !== null) { child.stdout!.off('data', check); resolve(m[1]) }
    }
    child.stdout!.on('data', check)
    child.once('exit', (code) => reject(new Error(`aegis-hub exited (${code}) before listening:\n${out}`)))
  })
  const port = Number(new URL(url).port)
  const pid = child.pid!
  const rssKb = (): number => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
      return m === null ? 0 : Number(m[1])
    } catch { return 0 }
  }
  const hub: HubProcess = {
    child, pid, port, url, dataDir, log, maxRssKb: rssKb(),
    logMark: () => logSeq,
    tail: () => out,
    alive: () => child.exitCode === null && child.signalCode === null,
    rssKb,
    healthz: async (ms = 10_000) => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(ms) })).status
      } catch { return 0 }
    },
    stop: async () => {
      clearInterval(sampler)
      if (hub.alive()) {
        child.kill('SIGKILL')
        await new Promise(r => child.once('exit', r))
      }
      await rm(dataDir, { recursive: true, force: true })
    }
  }
  const sampler = setInterval(() => { hub.maxRssKb = Math.max(hub.maxRssKb, rssKb()) }, 100)
  sampler.unref()
  return hub
}

/** `cond` polled until it holds (generous deadline: the machine may be loaded). */
export const waitFor = async (cond: () => boolean | Promise<boolean>, what: string | (() => string), ms = 30_000): Promise<void> => {
  if (typeof what === 'string') { await until(cond, what, ms, 10); return }
  try {
    await until(cond, '', ms, 10)
  } catch (err) {
    if (err instanceof Error && err.message === 'timed out waiting for ') throw new Error(`timed out waiting for ${what()}`)
    throw err
  }
}

/** Whether the hub logged a line with `code` since `mark` ({@link HubProcess.logMark}). */
export const loggedClose = (hub: HubProcess, code: number, mark: number): boolean =>
  hub.log.some(l => l.seq >= mark && l.code === code)

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

/**
 * Runs one attack; when it fails and the hub process is gone, says so first
 * (the attack's own error is then only a symptom).
 */
export const attack = async (hub: HubProcess, label: string, run: () => Promise<unknown>): Promise<void> => {
  try {
    await run()
  } catch (err) {
    if (!hub.alive()) {
      throw new Error(`${label}: the hub process exited (${hub.child.exitCode ?? hub.child.signalCode}) during the attack (${err instanceof Error ? err.message : String(err)}); last output:\n${hub.tail().slice(-3000)}`, { cause: err })
    }
    throw err
  }
}

/**
 * After each attack: the hub process is alive, /healthz answers 200, its
 * RSS stayed under the bound, and the bystander's next write is acknowledged.
 */
export const checkpoint = async (hub: HubProcess, bystander: Bystander, label: string): Promise<void> => {
  if (!hub.alive()) throw new Error(`after ${label}: the hub process exited (${hub.child.exitCode ?? hub.child.signalCode}); last output:\n${hub.tail().slice(-4000)}`)
  const status = await hub.healthz()
  if (status !== 200) throw new Error(`after ${label}: /healthz answered ${status}`)
  await bystander.ackAfter(label)
  hub.maxRssKb = Math.max(hub.maxRssKb, hub.rssKb())
  const mb = hub.maxRssKb / 1024
  if (mb > RSS_BOUND_MB) throw new Error(`after ${label}: the hub's RSS reached ${mb.toFixed(0)} MB, over the bound of ${RSS_BOUND_MB} MB`)
}
