/**
 * Operator basics (issue 9): Prometheus text on /metrics from a registry of
 * the hub's own (several hubs in one process), the JSON view on
 * /metrics.json, the metrics token for requests not from this machine, and
 * /healthz reporting failed storage with 503.
 */
import { rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { Doc } from 'aegis-replication'
import { RoomStorage } from 'aegis-replication/hub'
import { closed, openSocket, startHub, syncedRoom, tempDir, upgradeStatus } from './hub-harness.js'
import { until } from '../../support/net.js'

/** A request that looks as if it came through a proxy from another machine. */
const remote = { 'x-forwarded-for': '203.0.113.9' }

const get = async (port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number, body: string }> => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers })
  return { status: res.status, body: await res.text() }
}

/** The value of one sample line (`name{labels} value`) in Prometheus text. */
const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find(l => l.startsWith(series + ' '))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('hub metrics', () => {
  it('serves Prometheus text on /metrics and JSON on /metrics.json, one registry per hub', async () => {
    const hub = await startHub()
    const other = await startHub() // a second hub in the same process registers the same names
    const ws = await openSocket(hub.url)
    const r = await syncedRoom(ws, 'board', new Doc({ replicaId: 'a' }))
    r.doc.map('m').set('k', 'v')
    await until(() => r.pending === 0, 'the write to be acknowledged', 20_000)
    expect(await upgradeStatus(hub.url, { origin: 'https://evil.example' })).toBe('HTTP 403')

    const { status, body } = await get(hub.port, '/metrics')
    expect(status).toBe(200)
    expect(sample(body, 'aegis_hub_connections')).toBe(1)
    expect(sample(body, 'aegis_hub_rooms')).toBe(1)
    expect(sample(body, 'aegis_hub_bytes_in_total')).toBeGreaterThan(0)
    expect(sample(body, 'aegis_hub_frames_out_total')).toBeGreaterThan(0)
    expect(sample(body, 'aegis_hub_storage_failed_rooms')).toBe(0)
    expect(sample(body, 'aegis_hub_upgrades_refused_total{status="403",reason="origin"}')).toBe(1)
    expect(body).toContain('process_resident_memory_bytes')
    expect(body).not.toContain('aegis_hub_raft_term') // no Raft member here

    ws.close(1000)
    await closed(ws)
    await until(() => hub.metrics().connections === 0, 'the hub to see the close', 20_000)
    expect(sample((await get(hub.port, '/metrics')).body, 'aegis_hub_connections_closed_total{code="1000"}')).toBe(1)
    const json = JSON.parse((await get(hub.port, '/metrics.json')).body) as Record<string, number>
    expect(json).toMatchObject({ rooms: 1, connections: 0 })
    expect(json.bytesIn).toBeGreaterThan(0)
    expect(sample((await get(other.port, '/metrics')).body, 'aegis_hub_connections')).toBe(0)
  })

  it('reports the Raft member\'s role, term and commit index', async () => {
    const hub = await startHub({ id: 'n1' })
    await until(() => hub.metrics().raft?.role === 'leader', 'the lone member to lead', 20_000)
    const { body } = await get(hub.port, '/metrics')
    expect(sample(body, 'aegis_hub_raft_role{role="leader"}')).toBe(1)
    expect(sample(body, 'aegis_hub_raft_role{role="follower"}')).toBe(0)
    expect(sample(body, 'aegis_hub_raft_term')).toBeGreaterThanOrEqual(1)
    expect(sample(body, 'aegis_hub_raft_commit_index')).toBeGreaterThanOrEqual(1)
  })

  it('needs the metrics token for requests not from this machine; /healthz then answers only its status', async () => {
    const hub = await startHub({ metricsToken: 's3cret' })
    for (const path of ['/metrics', '/metrics.json']) {
      expect((await get(hub.port, path, remote)).status, path).toBe(401)
      expect((await get(hub.port, path, { ...remote, authorization: 'Bearer wrong' })).status, path).toBe(401)
      expect((await get(hub.port, path, { ...remote, authorization: 'Bearer s3cret-and-more' })).status, path).toBe(401)
      expect((await get(hub.port, path, { ...remote, authorization: 'Bearer s3cret' })).status, path).toBe(200)
      expect((await get(hub.port, path)).status, path).toBe(200) // from loopback, no proxy header
    }
    const open = await startHub() // no token: only this machine
    expect((await get(open.port, '/metrics', remote)).status).toBe(401)
    expect((await get(open.port, '/metrics', { ...remote, authorization: 'Bearer ' })).status).toBe(401)
    expect(JSON.parse((await get(open.port, '/healthz', remote)).body)).toEqual({ status: 'ok' })
  })

  it('/healthz answers 503 degraded, naming the rooms whose storage failed', async () => {
    const hub = await startHub({ metricsToken: 't' })
    const ws = await openSocket(hub.url)
    const ok = await syncedRoom(ws, 'fine', new Doc({ replicaId: 'a' }))
    ok.doc.map('m').set('k', 1)
    await until(() => ok.pending === 0, 'the first write to be acknowledged', 20_000)
    const append = vi.spyOn(RoomStorage.prototype, 'append').mockRejectedValue(new Error('EIO: disk on fire'))
    try {
      const bad = await syncedRoom(ws, 'doomed', new Doc({ replicaId: 'b' }))
      bad.doc.map('m').set('k', 1)
      await until(async () => (await get(hub.port, '/healthz')).status === 503, '/healthz to report the failure', 20_000)
    } finally {
      append.mockRestore()
    }
    expect(JSON.parse((await get(hub.port, '/healthz')).body)).toEqual({ status: 'degraded', rooms: ['doomed'], dataDirWritable: true })
    expect(JSON.parse((await get(hub.port, '/healthz', remote)).body)).toEqual({ status: 'degraded' })
    expect(sample((await get(hub.port, '/metrics')).body, 'aegis_hub_storage_failed_rooms')).toBe(1)
  })

  it('/healthz answers 503 when the data dir stops being writable', async () => {
    // a hub cannot start on a data dir it cannot lock; one that breaks under it (a volume gone) is reported
    const parent = join(await tempDir(), 'volume')
    const hub = await startHub({ dataDir: join(parent, 'data') })
    expect((await get(hub.port, '/healthz')).status).toBe(200)
    await rename(parent, `${parent}-gone`)
    await writeFile(parent, 'x') // the data dir's parent is now a file
    try {
      const res = await get(hub.port, '/healthz')
      expect(res.status).toBe(503)
      expect(JSON.parse(res.body)).toEqual({ status: 'degraded', rooms: [], dataDirWritable: false })
    } finally {
      await rm(parent)
      await rename(`${parent}-gone`, parent)
    }
  })
})
