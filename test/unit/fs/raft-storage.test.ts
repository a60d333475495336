import { open as openFile, readdir, stat, truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FileRaftStorage, HARD_STATE_COMPACT_EVERY, WriteAheadLog } from '../../../adapters/fs/index.js'
import { KvStateMachine, MemoryRaftStorage, RaftKv, RaftNode, type RaftStorage } from '../../../src/raft/index.js'
import { InMemoryNetwork } from '../../../src/transport/index.js'
import { entries, entry, randomRun, snapshot, type RaftStorageFixture } from '../../support/raft-storage-scenarios.js'
import { runRaftStorageTests } from '../../support/raft-storage-suite.js'
import { segmentFiles, tempDir } from './helpers.js'

// the reference implementation passes the suite (what it does not promise is skipped)
runRaftStorageTests('MemoryRaftStorage (reference)', async () => {
  const storage = new MemoryRaftStorage()
  return { open: async () => storage, close: async () => {} }
}, { durable: false, strict: false, clampsCommit: false })

// small segments, so rotation and compaction across segments are exercised; no fsync (the machine is shared)
runRaftStorageTests('FileRaftStorage', async () => {
  const dir = await tempDir()
  return { open: async () => await FileRaftStorage.open(dir, { fsync: false, segmentBytes: 1024 }), close: async (s) => { await s.close() } }
})

/** A fixture on `dir` whose storages are closed after `body`. */
const withStorage = async (dir: string, body: (f: RaftStorageFixture) => Promise<void>, fsync = true): Promise<void> => {
  const open = new Set<FileRaftStorage>()
  try {
    await body({
      open: async () => { const s = await FileRaftStorage.open(dir, { fsync, segmentBytes: 2048 }); open.add(s); return s },
      close: async (s) => { open.delete(s as FileRaftStorage); await (s as FileRaftStorage).close() }
    })
  } finally {
    for (const s of open) await s.close().catch(() => {})
  }
}

/** Cuts `bytes` off the end of the last segment of the log in `dir`. */
const tear = async (dir: string, bytes: number): Promise<void> => {
  const last = join(dir, (await segmentFiles(dir)).at(-1)!)
  await truncate(last, (await stat(last)).size - bytes)
}

describe('FileRaftStorage: crashes and recovery', () => {
  it('a torn last entry is dropped, and commit is clamped to what is stored', async () => {
    const dir = await tempDir()
    await withStorage(dir, async (f) => {
      const s = await f.open()
      await s.append(entries(1, 5, 1))
      await s.saveHardState({ term: 1, vote: 'n1', commit: 5 })
      // what a crash mid-append could leave, had the hard state of a later batch been written first
      await s.append([{ ...entry(6, 1), data: new Uint8Array(300).fill(6) }])
      await s.saveHardState({ term: 1, vote: 'n1', commit: 6 })
      await f.close(s)
      await tear(join(dir, 'entries'), 100)

      const t = await f.open() as FileRaftStorage
      expect(t.recovery.entries.tornBytesDropped).toBeGreaterThan(0)
      expect(await t.load()).toEqual({ hardState: { term: 1, vote: 'n1', commit: 5 }, snapshot: undefined, entries: entries(1, 5, 1) })
      // the log goes on where it now ends
      await t.append([entry(6, 2)])
      await f.close(t)
      const u = await f.open()
      expect((await u.load()).entries.map((e) => [e.index, e.term])).toEqual([[1, 1], [2, 1], [3, 1], [4, 1], [5, 1], [6, 2]])
    })
  })

  it('a torn last hard state falls back to the one before', async () => {
    const dir = await tempDir()
    await withStorage(dir, async (f) => {
      const s = await f.open()
      await s.append(entries(1, 3, 1))
      await s.saveHardState({ term: 1, vote: 'n1', commit: 2 })
      await s.saveHardState({ term: 2, vote: 'n2', commit: 3 })
      await f.close(s)
      await tear(join(dir, 'hard-state'), 3)
      const t = await f.open() as FileRaftStorage
      expect(t.recovery.hardState.tornBytesDropped).toBeGreaterThan(0)
      expect((await t.load()).hardState).toEqual({ term: 1, vote: 'n1', commit: 2 })
    })
  })

  it('a torn record written by hand after the last entry is dropped', async () => {
    const dir = await tempDir()
    await withStorage(dir, async (f) => {
      const s = await f.open()
      await s.append(entries(1, 4, 1))
      await f.close(s)
      // a record header announcing 200 bytes, and only 17 of them
      const last = join(dir, 'entries', (await segmentFiles(join(dir, 'entries'))).at(-1)!)
      const h = await openFile(last, 'a')
      const header = new Uint8Array(8)
      new DataView(header.buffer).setUint32(0, 200, true)
      new DataView(header.buffer).setUint32(4, 0xdeadbeef, true)
      await h.write(header)
      await h.write(new Uint8Array(17).fill(0x5a))
      await h.close()
      const t = await f.open() as FileRaftStorage
      expect(t.recovery.entries.tornBytesDropped).toBe(25)
      expect((await t.load()).entries).toEqual(entries(1, 4, 1))
      await t.append([entry(5, 1)])
      expect((await t.load()).entries).toEqual(entries(1, 5, 1))
    })
  })

  it('reopens consistently after many appends, truncations, snapshots and hard states (fsync on)', async () => {
    for (const seed of [101, 102]) {
      const dir = await tempDir()
      await withStorage(dir, async (f) => { await randomRun(f, { durable: true, clampsCommit: true, strict: true }, seed, 250) })
      const files = await readdir(join(dir, 'entries'))
      expect(files.filter((n) => n.endsWith('.tmp'))).toEqual([])
    }
  })

  it('the hard-state log stays one segment however many saves', async () => {
    const dir = await tempDir()
    await withStorage(dir, async (f) => {
      let s = await f.open()
      const n = HARD_STATE_COMPACT_EVERY * 2 + 10
      for (let i = 1; i <= n; i++) await s.saveHardState({ term: i, vote: `n${i % 3}`, commit: 0 })
      expect((await s.load()).hardState).toEqual({ term: n, vote: `n${n % 3}`, commit: 0 })
      expect(await segmentFiles(join(dir, 'hard-state'))).toHaveLength(1)
      await f.close(s)
      s = await f.open()
      expect((await s.load()).hardState).toEqual({ term: n, vote: `n${n % 3}`, commit: 0 })
      // right after a compaction the last hard state lives only in the log's snapshot
      for (let i = n + 1; (i - 1) % HARD_STATE_COMPACT_EVERY !== 0 || i === n + 1; i++) await s.saveHardState({ term: i, vote: null, commit: 0 })
      const term = (await s.load()).hardState.term
      await f.close(s)
      expect((await (await f.open()).load()).hardState.term).toBe(term)
    }, false)
  })

  it('refuses a record that is not an entry of this format, with a StorageError caused by a DecodeError', async () => {
    const dir = await tempDir()
    await withStorage(dir, async (f) => {
      const s = await f.open()
      await s.append(entries(1, 2, 1))
      await f.close(s)
      const wal = await WriteAheadLog.open(join(dir, 'entries'))
      await wal.append([Uint8Array.of(99, 1, 2, 3)])
      await wal.close()
      const t = await f.open()
      const err = await t.load().then(() => undefined, (e: unknown) => e as Error)
      expect(err?.name).toBe('StorageError')
      expect((err?.cause as Error | undefined)?.name).toBe('DecodeError')
      expect(err?.message).toMatch(/entry 3/)
    })
  })

  it('a directory open in this process cannot be opened twice', async () => {
    const dir = await tempDir()
    await withStorage(dir, async (f) => {
      await f.open()
      await expect(FileRaftStorage.open(dir)).rejects.toMatchObject({ name: 'StorageError' })
    })
  })

  it('a snapshot is stored with its term and configuration', async () => {
    const dir = await tempDir()
    await withStorage(dir, async (f) => {
      const s = await f.open()
      await s.append(entries(1, 6, 2))
      await s.saveSnapshot(snapshot(4, 2))
      await f.close(s)
      const t = await f.open()
      expect((await t.load()).snapshot).toEqual(snapshot(4, 2))
      // the stored term decides what a later snapshot at the same index keeps
      await t.saveSnapshot(snapshot(4, 2))
      expect((await t.load()).entries).toEqual(entries(5, 6, 2))
      await t.saveSnapshot(snapshot(4, 3))
      expect((await t.load()).entries).toEqual([])
    })
  })
})

/** Counts a storage's calls in flight, so the virtual clock can wait for real file I/O. */
class Tracked {
  static readonly inflight = new Set<Promise<unknown>>()
  static wrap (s: RaftStorage): RaftStorage {
    const track = <T>(p: Promise<T>): Promise<T> => {
      Tracked.inflight.add(p)
      void p.finally(() => Tracked.inflight.delete(p)).catch(() => {})
      return p
    }
    return {
      load: () => track(s.load()),
      saveHardState: (h) => track(s.saveHardState(h)),
      append: (e) => track(s.append(e)),
      truncateSuffix: (f) => track(s.truncateSuffix(f)),
      saveSnapshot: (x) => track(s.saveSnapshot(x))
    }
  }

  static async settle (): Promise<void> {
    for (let round = 0; round < 1000; round++) {
      for (let i = 0; i < 8; i++) await undefined
      if (Tracked.inflight.size === 0) return
      await Promise.allSettled([...Tracked.inflight])
    }
  }
}

describe('FileRaftStorage under a 3-node RaftNode cluster', () => {
  it('a stopped follower and then a stopped leader restart from disk and converge', async () => {
    const ids = ['n1', 'n2', 'n3']
    const root = await tempDir()
    const net = new InMemoryNetwork({ seed: 7, latency: { min: 1, max: 5 }, settle: Tracked.settle })
    const live = new Map<string, { node: RaftNode, storage: FileRaftStorage, sm: KvStateMachine }>()
    const boot = async (id: string, restart: boolean): Promise<void> => {
      const storage = await FileRaftStorage.open(join(root, id), { fsync: false, segmentBytes: 2048 })
      const sm = new KvStateMachine()
      const node = new RaftNode(
        { nodeId: id, peers: ids.filter((p) => p !== id), electionTimeout: { min: 100, max: 200 }, heartbeatInterval: 20, tickInterval: 10, requestTimeout: 2000, snapshotThreshold: 15 },
        Tracked.wrap(storage), restart ? net.restart(id) : net.createTransport(id), sm, { clock: net.clockFor(id) })
      live.set(id, { node, storage, sm })
      await node.start()
    }
    const stop = async (id: string): Promise<void> => {
      const n = live.get(id)!
      live.delete(id)
      await n.node.stop()
      net.crash(id)
      await Tracked.settle()
      await n.storage.close()
    }
    const leader = async (): Promise<RaftNode> => {
      expect(await net.runUntilAsync(() => [...live.values()].some((n) => n.node.isLeader()), 10_000)).toBe(true)
      return [...live.values()].find((n) => n.node.isLeader())!.node
    }
    const put = async (key: string, value: string): Promise<void> => {
      const p = new RaftKv(await leader()).put(key, new TextEncoder().encode(value))
      let done = false
      void p.then(() => { done = true }, () => { done = true })
      await net.runUntilAsync(() => done, 5_000)
      await p
    }
    const dump = (sm: KvStateMachine): string => Buffer.from(sm.snapshot()).toString('hex')

    try {
      for (const id of ids) await boot(id, false)
      for (let i = 0; i < 20; i++) await put(`k${i % 7}`, `v${i}`)

      const follower = ids.find((id) => !live.get(id)!.node.isLeader())!
      await stop(follower)
      for (let i = 20; i < 60; i++) await put(`k${i % 7}`, `v${i}`) // past snapshotThreshold: the leader compacts
      await boot(follower, true)
      await net.runForAsync(1_000)

      const old = (await leader()).status().id
      await stop(old)
      for (let i = 60; i < 70; i++) await put(`k${i % 7}`, `v${i}`)
      await boot(old, true)
      await put('last', 'write')
      await net.runForAsync(1_000)

      const states = ids.map((id) => live.get(id)!)
      const applied = states.map((n) => n.node.status().applied)
      expect(new Set(applied).size).toBe(1)
      expect(new Set(states.map((n) => dump(n.sm))).size).toBe(1)
      const kv = new RaftKv(await leader())
      const read = kv.get('k6')
      await net.runForAsync(200)
      expect(new TextDecoder().decode((await read)!)).toBe('v69')
      // what each node stored is what it restarts from: log matching across the three directories
      for (const id of ids) await stop(id)
      const loaded = await Promise.all(ids.map(async (id) => {
        const s = await FileRaftStorage.open(join(root, id), { fsync: false })
        try { return await s.load() } finally { await s.close() }
      }))
      const seen = new Map<string, string>() // "index/term" -> data
      for (const st of loaded) {
        expect(st.hardState.commit).toBeLessThanOrEqual(st.entries.at(-1)?.index ?? st.snapshot?.index ?? 0)
        expect(st.snapshot?.index ?? 0).toBeGreaterThan(0)
        for (const e of st.entries) {
          const key = `${e.index}/${e.term}`
          const data = `${e.type}:${Buffer.from(e.data).toString('hex')}`
          if (seen.has(key)) expect(seen.get(key)).toBe(data)
          seen.set(key, data)
        }
      }
    } finally {
      for (const id of [...live.keys()]) await stop(id).catch(() => {})
    }
  })
})
