/**
 * The hub's Prometheus metrics (`/metrics`, text format): one prom-client
 * `Registry` per hub, never the global one, so several hubs share a process.
 * Gauges and counters read the hub's state when scraped: nothing is counted
 * per message.
 *
 * @module
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'

/** The raw figures the hub hands the exporter at each scrape. */
export interface PromSource {
  connections: () => number
  rooms: () => number
  /** Totals of closed and live connections. */
  traffic: () => { bytesIn: number, bytesOut: number, framesIn: number, framesOut: number }
  /** Bytes of partly received chunked messages on the hub, when the sync server reports them. */
  reassemblyBytes: () => number | undefined
  /** Rooms whose storage failed (they refuse writes until reloaded). */
  failedRooms: () => number
  raft: () => { role: string, term: number, commit: number, applied: number } | undefined
}

/** The hub's exporter. */
export interface PromMetrics {
  readonly registry: Registry
  /** A client connection closed with `code`. */
  closed: (code: number) => void
  /** An upgrade was refused with HTTP `status` for `reason`. */
  refused: (status: number, reason: string) => void
  /** Storage damage found while loading a room (records dropped, segments missing). */
  damaged: (kind: string) => void
  /** The text served on `/metrics`. */
  text: () => Promise<string>
}

const ROLES = ['follower', 'pre-candidate', 'candidate', 'leader', 'learner']

/** Metric names start with `aegis_hub_`; Node's process metrics (`process_*`, `nodejs_*`) come with them. */
export const createPromMetrics = (src: PromSource): PromMetrics => {
  const registry = new Registry()
  const registers = [registry]
  const gauge = (name: string, help: string, read: () => number | undefined): void => {
    // eslint-disable-next-line no-new
    new Gauge({ name, help, registers, collect () { const v = read(); if (v !== undefined) this.set(v) } })
  }
  const total = (name: string, help: string, read: () => number): void => {
    // eslint-disable-next-line no-new
    new Counter({ name, help, registers, collect () { this.reset(); this.inc(read()) } })
  }
  gauge('aegis_hub_connections', 'Open client WebSocket connections.', src.connections)
  gauge('aegis_hub_rooms', 'Rooms open (loaded) on the hub.', src.rooms)
  total('aegis_hub_bytes_in_total', 'Bytes received from clients.', () => src.traffic().bytesIn)
  total('aegis_hub_bytes_out_total', 'Bytes sent to clients.', () => src.traffic().bytesOut)
  total('aegis_hub_frames_in_total', 'Frames received from clients.', () => src.traffic().framesIn)
  total('aegis_hub_frames_out_total', 'Frames sent to clients.', () => src.traffic().framesOut)
  gauge('aegis_hub_reassembly_bytes', 'Bytes of partly received chunked messages held.', src.reassemblyBytes)
  gauge('aegis_hub_storage_failed_rooms', 'Open rooms whose storage failed.', src.failedRooms)
  const closes = new Counter({ name: 'aegis_hub_connections_closed_total', help: 'Client connections closed, by WebSocket close code.', labelNames: ['code'], registers })
  const refusals = new Counter({ name: 'aegis_hub_upgrades_refused_total', help: 'WebSocket upgrades refused before upgrading, by HTTP status and reason.', labelNames: ['status', 'reason'], registers })
  const damage = new Counter({ name: 'aegis_hub_storage_damage_total', help: 'Storage damage found while loading rooms, by kind.', labelNames: ['kind'], registers })
  if (src.raft() !== undefined) {
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'aegis_hub_raft_role', help: 'This hub\'s Raft role (1 on the current one).', labelNames: ['role'], registers,
      collect () { const r = src.raft()?.role; for (const role of ROLES) this.set({ role }, role === r ? 1 : 0) }
    })
    gauge('aegis_hub_raft_term', 'Current Raft term.', () => src.raft()?.term)
    gauge('aegis_hub_raft_commit_index', 'Raft commit index.', () => src.raft()?.commit)
    gauge('aegis_hub_raft_applied_index', 'Raft index applied to the KV.', () => src.raft()?.applied)
  }
  let processMetrics = false
  return {
    registry,
    closed: (code) => closes.inc({ code: String(code) }),
    refused: (status, reason) => refusals.inc({ status: String(status), reason }),
    damaged: (kind) => damage.inc({ kind }),
    text: async () => {
      // on first scrape only: a hub nobody scrapes registers no process observers
      if (!processMetrics) { processMetrics = true; collectDefaultMetrics({ register: registry }) }
      return await registry.metrics()
    }
  }
}
