/**
 * `aegis-hub` processes for the end-to-end tests (test/e2e/raft-*.test.ts):
 * spawning them on 127.0.0.1, reading their Raft metrics, and cleaning up
 * (processes, providers, the data directory) after the file's tests.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll } from 'vitest'
import { WebSocket } from 'ws'
import { Doc } from 'aegis-replication'
import { WebSocketProvider } from 'aegis-replication/websocket'

const root = fileURLToPath(new URL('../../', import.meta.url))
/** The hub's command-line entry point. */
export const hubBin = join(root, 'bin/aegis-hub.mjs')
const dist = join(root, 'dist/hub.js')

/** Throws unless dist/ is built (the processes run it). */
export const requireDist = (): void => {
  if (!existsSync(dist)) throw new Error('dist/hub.js is missing: run `npm run build` (npm test builds it)')
}

/** The Raft part of a hub's /metrics.json. */
export interface RaftMetrics { id: string, role: string, leader: string | null, term: number, commit: number, applied: number, snapshotIndex: number, voters: string[] }

/** The hub's Raft metrics, or undefined while it is down. */
export const raftOf = async (port: number): Promise<RaftMetrics | undefined> => {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/metrics.json`)
    return ((await r.json()) as { raft?: RaftMetrics }).raft
  } catch {
    return undefined // down
  }
}

/** The one hub among `ids` that reports itself leader, if exactly one does. */
export const leaderAmong = async (ports: Record<string, number>, ids: string[]): Promise<string | undefined> => {
  const ms = await Promise.all(ids.map(async id => await raftOf(ports[id])))
  const ls = ms.filter(m => m?.role === 'leader')
  return ls.length === 1 ? ls[0]!.id : undefined
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
export const dec = (b: Uint8Array | null): string | null => b === null ? null : new TextDecoder().decode(b)

/** A spawned process and all it wrote (stdout and stderr). */
export interface Proc { child: ChildProcess, out: () => string }

/** Its exit code, once it exited. */
export const exited = async (p: Proc): Promise<number> => p.child.exitCode ?? await new Promise<number>(resolve => p.child.once('exit', (code) => resolve(code ?? -1)))

/** Polls `cond` until it holds, or fails naming `what`. */
export type Until = (cond: () => Promise<boolean> | boolean, what: string) => Promise<void>

/** What `useHubProcesses` gives a test file. */
export interface HubProcesses {
  /** Runs `aegis-hub args` (no cluster secret in its environment unless `env` sets one). */
  run: (args: string[], env?: Record<string, string | undefined>) => Proc
  /** Runs a hub on `port` and waits until it serves its metrics; throws with its output if it exits first. */
  start: (id: string, port: number, args: string[], env?: Record<string, string | undefined>) => Promise<Proc>
  /** A provider on `url`, destroyed after the tests. */
  provider: (url: string, room: string) => WebSocketProvider
  /** A fresh data directory, removed after the tests. */
  dataDir: (prefix: string) => Promise<string>
}

/** Registers the cleanup (after all the file's tests) of what it spawns. */
export const useHubProcesses = (until: Until): HubProcesses => {
  const children = new Set<ChildProcess>()
  const providers: WebSocketProvider[] = []
  const dirs: string[] = []
  afterAll(async () => {
    for (const p of providers) p.destroy()
    for (const c of children) c.kill('SIGKILL')
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })
  const run = (args: string[], env: Record<string, string | undefined> = {}): Proc => {
    const child = spawn(process.execPath, [hubBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AEGIS_HUB_CLUSTER_SECRET: undefined, ...env } })
    children.add(child)
    let out = ''
    child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr!.on('data', (d: Buffer) => { out += d.toString() })
    child.once('exit', () => { children.delete(child) })
    return { child, out: () => out }
  }
  return {
    run,
    start: async (id, port, args, env) => {
      const p = run(['--port', String(port), ...args], env)
      await until(async () => (await raftOf(port)) !== undefined || p.child.exitCode !== null, `hub ${id} listening`)
      if (p.child.exitCode !== null) throw new Error(`hub ${id} exited:\n${p.out()}`)
      return p
    },
    provider: (url, room) => {
      const p = new WebSocketProvider(url, room, new Doc(), { WebSocket: WebSocket as never })
      providers.push(p)
      return p
    },
    dataDir: async (prefix) => {
      const d = await mkdtemp(join(tmpdir(), prefix))
      dirs.push(d)
      return d
    }
  }
}

/**
 * Runs `aegis-hub args` (environment `env`, default this process's) and
 * resolves once it logs the URL it listens on; rejects with its output if it
 * exits first. The child goes into `children` at once, for the caller's cleanup.
 */
export const spawnListeningHub = async (args: string[], children: ChildProcess[], env?: NodeJS.ProcessEnv): Promise<{ child: ChildProcess, url: string }> => {
  const child = spawn(process.execPath, [hubBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
  children.push(child)
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /"url":"(ws:\/\/[^"]+)"/.exec(out)
      if (m !== null) resolve(m[1])
    })
    child.stderr!.on('data', (d: Buffer) => { out += d.toString() })
    child.once('exit', (code) => reject(new Error(`aegis-hub exited (${code}) before listening:\n${out}`)))
  })
  return { child, url }
}
