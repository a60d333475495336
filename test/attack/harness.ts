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
import type { Bystander } from './clients.js'

export { Bystander, RawClient } from './clients.js'
export { waitFor } from './wait.js'

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

/** Whether the hub logged a line with `code` since `mark` ({@link HubProcess.logMark}). */
export const loggedClose = (hub: HubProcess, code: number, mark: number): boolean =>
  hub.log.some(l => l.seq >= mark && l.code === code)

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
