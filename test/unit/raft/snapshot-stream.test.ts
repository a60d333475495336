/**
 * Streamed snapshots (issue 10): a follower behind a compacted log catches
 * up from a multi-chunk snapshot read from the leader's storage in chunks,
 * with a bounded window, and verified before its core sees it.
 */
import { describe, expect, it } from 'vitest'
import { InMemoryNetwork, peerId, type Transport } from 'aegis-replication/transport'
import { Prng } from 'aegis-replication/testing'
import {
  KvStateMachine, MemoryRaftStorage, RaftKv, RaftNode, decodeSnapshotStreamMessage, encodeSnapshotStreamMessage,
  isSnapshotStreamFrame, type RaftConfig, type SnapshotChunkAck, type SnapshotChunkMessage
} from 'aegis-replication/raft'

const CHUNK = 64 * 1024
const VALUE = 64 * 1024

/** A transport whose outgoing frames pass through `filter` (which may change or drop them). */
const filtered = (t: Transport, filter: (to: string, frame: Uint8Array) => Uint8Array | undefined): Transport => ({
  send: (to, frame) => { const f = filter(to, frame); if (f !== undefined) t.send(to, f) },
  id: t.id,
  peers: () => t.peers(),
  broadcast: (frame) => t.broadcast(frame),
  close: async () => await t.close(),
  on: (e, f) => t.on(e, f),
  off: (e, f) => t.off(e, f)
})

interface Member { id: string, node: RaftNode, sm: KvStateMachine, storage: MemoryRaftStorage }

const cluster = async (opts: { maxFrameSize?: number, config?: Partial<RaftConfig>, filter?: (from: string, to: string, frame: Uint8Array) => Uint8Array | undefined } = {}) => {
  const net = new InMemoryNetwork({ seed: 7, maxFrameSize: opts.maxFrameSize ?? 1 << 30 })
  const ids = ['n1', 'n2', 'n3']
  const members = new Map<string, Member>()
  const start = async (id: string, storage = new MemoryRaftStorage()): Promise<Member> => {
    const sm = new KvStateMachine()
    const raw = net.getTransport(id) === undefined ? net.createTransport(id) : net.restart(id)
    const t = opts.filter === undefined ? raw : filtered(raw, (to, f) => opts.filter!(id, to, f))
    const node = new RaftNode({
      nodeId: id, peers: ids.filter((p) => p !== id), electionTimeout: { min: 100, max: 200 }, heartbeatInterval: 20, tickInterval: 10,
      requestTimeout: 5000, snapshotThreshold: 20, snapshotChunkBytes: CHUNK, snapshotWindow: 4, ...opts.config
    }, storage, t, sm, { clock: net.clockFor(id), random: new Prng(id.charCodeAt(1)) })
    await node.start()
    const m = { id, node, sm, storage }
    members.set(id, m)
    return m
  }
  for (const id of ids) await start(id)
  const until = async (f: () => boolean, ms = 60_000): Promise<void> => {
    if (!await net.clock.runUntilAsync(f, ms)) throw new Error('condition not met in virtual time')
  }
  const leader = (): Member | undefined => [...members.values()].find((m) => m.node.isLeader())
  await until(() => leader() !== undefined)
  return { net, members, start, until, leader }
}

/** Fills the KV with `bytes` of values through the leader (the lagging follower is cut off), until the leader compacted past it. */
const fillWhileCut = async (c: Awaited<ReturnType<typeof cluster>>, lagging: string, bytes: number): Promise<void> => {
  const l = c.leader()!
  c.net.partition([lagging])
  const kv = new RaftKv(l.node)
  const prng = new Prng(3)
  for (let i = 0; i < bytes / VALUE; i++) {
    if (process.env.SNAP_DEBUG !== undefined) process.stderr.write(`put ${i} t=${c.net.clock.now()} leader=${c.leader()?.id}\n`)
    const value = new Uint8Array(VALUE)
    for (let j = 0; j < VALUE; j += 64) value[j] = prng.int(0, 255)
    let done = false
    kv.put(`k${String(i).padStart(4, '0')}`, value).then(() => { done = true }, (e: Error) => { throw e })
    await c.until(() => done)
  }
  await c.until(() => l.node.raft!.log.snapshot.index > 0)
  if (process.env.SNAP_DEBUG !== undefined) process.stderr.write(`filled; leader ${l.id} snapshot ${l.node.raft!.log.snapshot.index}\n`)
}

const sameState = (a: KvStateMachine, b: KvStateMachine): boolean => {
  const x = a.snapshot()
  const y = b.snapshot()
  return x.length === y.length && x.every((v, i) => v === y[i])
}

describe('streamed snapshots', () => {
  it('a follower behind a compacted log catches up from a 5 MB snapshot sent in 64 KiB chunks, at most 4 in flight', async () => {
    // frames above 80 KiB are dropped: a snapshot must travel in chunks below the peer frame limit
    let traced = 0
    let healed = false
    const c = await cluster({ filter: process.env.SNAP_DEBUG === undefined ? undefined : (from, to, frame) => { if (healed && traced++ < 0) process.stderr.write(`${from}->${to} ${frame.length} ${frame[1]} t=${c.net.clock.now()}\n`); return frame }, maxFrameSize: 80 * 1024, config: { maxMessageBytes: 16 * 1024, ...(process.env.SNAP_LEGACY !== undefined ? { snapshotStreaming: false } : {}) } })
    const lagging = [...c.members.keys()].find((id) => id !== c.leader()!.id)!
    await fillWhileCut(c, lagging, 5 * 1024 * 1024)
    healed = true
    const l = c.leader()!
    // the leader's core holds the snapshot's metadata only; the bytes are in the storage
    expect(l.node.raft!.log.snapshot.data.length).toBe(0)
    expect(l.node.raft!.log.snapshot.index).toBeGreaterThan(0)
    c.net.heal()
    const f = c.members.get(lagging)!
    if (process.env.SNAP_DEBUG !== undefined) {
      const show = (): void => { process.stderr.write(`wall=${Math.round(performance.now())} t=${c.net.clock.now()} f applied ${f.node.status().applied} ${JSON.stringify(f.node.snapshotStreaming!.receiver.stats)} ${JSON.stringify(l.node.snapshotStreaming!.sender.stats)}\n`); c.net.clock.setTimeout(show, 500) }
      show()
    }
    await c.until(() => f.node.status().applied >= l.node.status().applied, 120_000)
    expect(sameState(f.sm, l.sm)).toBe(true)
    const sent = l.node.snapshotStreaming!.sender.stats
    const got = f.node.snapshotStreaming!.receiver.stats
    if (process.env.SNAP_DEBUG !== undefined) process.stderr.write(`caught up at t=${c.net.clock.now()}: ${JSON.stringify(sent)} ${JSON.stringify(got)}\n`)
    expect(sent.bytesSent).toBeGreaterThan(4.5 * 1024 * 1024)
    expect(sent.chunksSent).toBeGreaterThanOrEqual(Math.ceil(sent.bytesSent / CHUNK))
    expect(sent.peakInflight).toBeLessThanOrEqual(4)
    expect(sent.peakChunksHeld).toBe(1)
    expect(got.delivered).toBeGreaterThanOrEqual(1)
    expect(f.node.raft!.log.snapshot.data.length).toBe(0)
    expect(f.storage.snapshot!.index).toBeGreaterThan(0)
    // and it keeps replicating
    let put = false
    new RaftKv(l.node).put('after', new Uint8Array([1])).then(() => { put = true }, () => {})
    await c.until(() => put && f.node.status().applied >= l.node.status().applied)
    expect(sameState(f.sm, l.sm)).toBe(true)
    for (const m of c.members.values()) await m.node.stop()
  }, 600_000)

  it('a corrupted chunk is refused (checksum) and the transfer goes on from the last good offset', async () => {
    let corrupted = 0
    const c = await cluster({
      config: { snapshotThreshold: 4 },
      filter: (_from, _to, frame) => {
        if (!isSnapshotStreamFrame(frame)) return frame
        const m = decodeSnapshotStreamMessage(frame)
        if (m.type !== 'snapshot-chunk' || m.offset !== 2 * CHUNK || corrupted > 0) return frame
        corrupted++
        const data = m.data.slice()
        data[10] ^= 0xff
        return encodeSnapshotStreamMessage({ ...m, data }) // chunkChecksum left as sent: it no longer matches
      }
    })
    const lagging = [...c.members.keys()].find((id) => id !== c.leader()!.id)!
    await fillWhileCut(c, lagging, 768 * 1024)
    c.net.heal()
    const l = c.leader()!
    const f = c.members.get(lagging)!
    await c.until(() => f.node.status().applied >= l.node.status().applied)
    expect(sameState(f.sm, l.sm)).toBe(true)
    expect(corrupted).toBe(1)
    expect(f.node.snapshotStreaming!.receiver.stats.corrupt).toBe(1)
    expect(l.node.snapshotStreaming!.sender.stats.resends).toBeGreaterThanOrEqual(1)
    for (const m of c.members.values()) await m.node.stop()
  }, 60_000)

  it('a snapshot whose whole checksum fails is refused, never restored, and sent again', async () => {
    let tampered = 0
    const c = await cluster({
      config: { snapshotThreshold: 3 },
      filter: (_from, _to, frame) => {
        if (!isSnapshotStreamFrame(frame)) return frame
        const m = decodeSnapshotStreamMessage(frame)
        if (m.type !== 'snapshot-chunk' || m.offset !== CHUNK || tampered > 0) return frame
        tampered++
        const data = m.data.slice()
        data[0] ^= 1
        // a consistent chunk (its own checksum recomputed) of different bytes: only the whole checksum catches it
        const { crc32c } = crc
        return encodeSnapshotStreamMessage({ ...m, data, chunkChecksum: crc32c(data) })
      }
    })
    const lagging = [...c.members.keys()].find((id) => id !== c.leader()!.id)!
    await fillWhileCut(c, lagging, 512 * 1024)
    c.net.heal()
    const l = c.leader()!
    const f = c.members.get(lagging)!
    await c.until(() => f.node.status().applied >= l.node.status().applied)
    expect(sameState(f.sm, l.sm)).toBe(true)
    expect(tampered).toBe(1)
    expect(f.node.snapshotStreaming!.receiver.stats.badSnapshots).toBe(1)
    for (const m of c.members.values()) await m.node.stop()
  }, 60_000)

  it('chunks of an older term are refused and logged, never applied', async () => {
    const warnings: string[] = []
    const net = new InMemoryNetwork({ seed: 1 })
    const leaderT = net.createTransport('n1')
    const sm = new KvStateMachine()
    const logger = { debug: () => {}, info: () => {}, warn: (msg: string) => { warnings.push(msg) }, error: () => {} }
    const node = new RaftNode({ nodeId: 'n2', peers: ['n1', 'n3'], electionTimeout: { min: 1000, max: 2000 }, heartbeatInterval: 50 },
      new MemoryRaftStorage(), net.createTransport('n2'), sm, { clock: net.clockFor('n2'), random: new Prng(2), logger })
    await node.start()
    // the node hears term 5 first
    leaderT.send(peerId('n2'), (await import('aegis-replication/raft')).encodeRaftMessage({ type: 'heartbeat', from: 'n1', to: 'n2', term: 5, commit: 0, readSeq: 0 }))
    await net.clock.runUntilAsync(() => node.status().term === 5, 1000)
    const data = new KvStateMachine().snapshot()
    leaderT.send(peerId('n2'), encodeSnapshotStreamMessage({
      type: 'snapshot-chunk', from: 'n1', to: 'n2', term: 4, meta: { index: 9, term: 4, conf: { voters: ['n1', 'n2', 'n3'], learners: [] } },
      total: data.length, checksum: crc.crc32c(data), offset: 0, done: true, chunkChecksum: crc.crc32c(data), data
    }))
    await net.clock.runUntilAsync(() => warnings.some((w) => w.includes('older term')), 1000)
    expect(node.snapshotStreaming!.receiver.stats.stale).toBe(1)
    expect(node.status()).toMatchObject({ snapshotIndex: 0, term: 5 })
    await node.stop()
  })
})

// the same CRC-32C the driver uses (exported for tests through the fs adapter's identical function)
const crc = await import('../../../adapters/fs/crc32c.js')

describe('streamed snapshots: sender and receiver', () => {
  it('a new leader streaming the same snapshot resumes from the offset the follower holds', async () => {
    const { SnapshotSender } = await import('../../../src/raft/snapshot-sender.js')
    const { SnapshotReceiver } = await import('../../../src/raft/snapshot-receiver.js')
    const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }
    const C = 1000
    const leaderStore = new MemoryRaftStorage()
    const data = new Uint8Array(10 * C + 17).map((_, i) => i * 7)
    await leaderStore.saveSnapshot({ index: 40, term: 2, conf: { voters: ['a', 'b', 'f'], learners: [] }, data })
    const followerStore = new MemoryRaftStorage()
    let term = 2
    let delivered = 0
    const toFollower: SnapshotChunkMessage[] = []
    const toLeader: SnapshotChunkAck[] = []
    const receiver = new SnapshotReceiver('f', followerStore, (a) => toLeader.push(a), {
      term: () => term, committed: () => 0, stopped: () => false, deliver: () => { delivered++; return true }
    }, silent)
    const request = (from: string, t: number) => ({ type: 'snapshot' as const, from, to: 'f', term: t, meta: { index: 40, term: 2, conf: { voters: [], learners: [] } }, offset: 0, total: 0, data: new Uint8Array(0) })
    const settle = async (): Promise<void> => { for (let i = 0; i < 50; i++) await undefined }
    // leader a sends; only its first 6 chunks arrive
    const a = new SnapshotSender(leaderStore, (m) => { if (m.offset < 6 * C) toFollower.push(m) }, { id: 'a', chunkBytes: C, window: 8, logger: silent })
    a.request(request('a', 2))
    await settle()
    for (const m of toFollower.splice(0)) receiver.onChunk(m)
    await settle()
    expect(receiver.receiving).toEqual({ index: 40, received: 6 * C, total: data.length })
    // leader b (term 3) holds the same snapshot and takes over
    term = 3
    toLeader.length = 0
    const b = new SnapshotSender(leaderStore, (m) => toFollower.push({ ...m, from: 'b' }), { id: 'b', chunkBytes: C, window: 4, logger: silent })
    b.request(request('b', 3))
    for (let round = 0; round < 20 && delivered === 0; round++) {
      await settle()
      for (const m of toFollower.splice(0)) receiver.onChunk(m)
      await settle()
      for (const ack of toLeader.splice(0)) b.onAck({ ...ack, to: 'b' })
    }
    expect(delivered).toBe(1)
    expect(receiver.stats.chunksWritten).toBe(11) // every chunk written once
    // b's first window (4 chunks from 0) was answered with offset 6C: it went on from there, not from 4C
    expect(b.stats.bytesSent).toBe(4 * C + (data.length - 6 * C))
    expect(b.stats.peakInflight).toBeLessThanOrEqual(4)
  })
})
