/**
 * FileRaftStorage's streamed snapshots: the data lives in its own file (the
 * entry log's snapshot record only names it), chunks are read from disk,
 * and a received snapshot is written to a temporary file and renamed into
 * place, so a crash mid-receive or mid-install leaves the previous snapshot
 * intact (simulated disk: unsynced writes are lost, the last may be torn).
 */
import { describe, expect, it } from 'vitest'
import { FileRaftStorage } from '../../../adapters/fs/index.js'
import { crc32c } from '../../../adapters/fs/crc32c.js'
import { Prng } from '../../../src/testing/index.js'
import type { Snapshot, SnapshotSink } from '../../../src/raft/index.js'
import { entries } from '../../support/raft-storage-scenarios.js'
import { SimDisk } from '../../support/sim-disk.js'

const DIR = '/data/raft'
const conf = { voters: ['n1', 'n2', 'n3'], learners: [] }
const bytes = (n: number, seed: number): Uint8Array => { const p = new Prng(seed); return new Uint8Array(n).map(() => p.int(0, 255)) }
const snap = (index: number, term: number, size: number): Snapshot => ({ index, term, conf, data: bytes(size, index) })
const info = (s: Snapshot) => ({ index: s.index, term: s.term, conf: s.conf, size: s.data.length, checksum: crc32c(s.data) })

const receive = async (st: FileRaftStorage, s: Snapshot, upTo = s.data.length, chunk = 4096): Promise<SnapshotSink> => {
  const sink = await st.receiveSnapshot(info(s))
  for (let o = 0; o < upTo; o += chunk) await sink.write(s.data.subarray(o, Math.min(upTo, o + chunk)))
  return sink
}

const readAll = async (st: FileRaftStorage, index: number, size: number, chunk: number): Promise<Uint8Array> => {
  const out = new Uint8Array(size)
  for (let o = 0; o < size; o += chunk) out.set((await st.readSnapshotChunk(index, o, chunk))!, o)
  return out
}

describe('FileRaftStorage: streamed snapshots', () => {
  it('keeps the snapshot data in its own file and serves byte ranges of it from disk', async () => {
    const disk = new SimDisk()
    const fs = disk.mount()
    const st = await FileRaftStorage.open(DIR, { fs })
    await st.append(entries(1, 20, 1))
    const a = snap(12, 1, 150_000)
    await st.saveSnapshot(a)
    expect(st.snapshotInfo()).toEqual(info(a))
    expect(await readAll(st, 12, a.data.length, 65_536)).toEqual(a.data)
    expect(await st.readSnapshotChunk(11, 0, 10)).toBeUndefined() // not the stored one
    // the entry log's snapshot record holds only the metadata
    expect((await fs.stat(`${DIR}/entries/snapshot.snap`)).size).toBeLessThan(200)
    await st.close()
    const again = await FileRaftStorage.open(DIR, { fs: disk.mount() })
    const loaded = await again.load()
    expect(loaded.snapshot).toEqual(a)
    expect(loaded.entries.map((e) => e.index)).toEqual([13, 14, 15, 16, 17, 18, 19, 20])
    await again.close()
  })

  it('installs a snapshot received in chunks (replacing a conflicting log) and removes the old data file', async () => {
    const disk = new SimDisk()
    const fs = disk.mount()
    const st = await FileRaftStorage.open(DIR, { fs })
    await st.append(entries(1, 10, 1))
    await st.saveSnapshot(snap(5, 1, 10_000))
    const b = snap(30, 3, 100_000)
    const sink = await receive(st, b)
    await sink.finish()
    expect(st.snapshotInfo()!.index).toBe(5) // staged, not installed
    await st.installReceivedSnapshot(sink, b)
    expect(st.snapshotInfo()).toEqual(info(b))
    expect(await fs.readdir(`${DIR}/snapshots`)).toHaveLength(1)
    await st.close()
    const again = await FileRaftStorage.open(DIR, { fs: disk.mount() })
    expect(await again.load()).toMatchObject({ snapshot: b, entries: [] })
    await again.close()
  })

  it('a sink whose bytes do not match the announced checksum is refused at finish', async () => {
    const st = await FileRaftStorage.open(DIR, { fs: new SimDisk().mount() })
    const b = snap(30, 3, 20_000)
    const sink = await st.receiveSnapshot({ ...info(b), checksum: info(b).checksum ^ 1 })
    await sink.write(b.data)
    await expect(sink.finish()).rejects.toMatchObject({ name: 'SnapshotChecksumError' })
    await st.close()
  })

  it('a crash mid-receive leaves the previous snapshot intact (and the temporary file is removed)', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const disk = new SimDisk()
      const st = await FileRaftStorage.open(DIR, { fs: disk.mount() })
      await st.append(entries(1, 10, 1))
      const a = snap(8, 1, 50_000)
      await st.saveSnapshot(a)
      const b = snap(40, 2, 200_000)
      void receive(st, b, new Prng(seed).int(0, b.data.length))
      for (let i = 0; i < new Prng(seed).int(0, 200); i++) await undefined
      disk.crash(new Prng(seed))
      const fs = disk.mount()
      const again = await FileRaftStorage.open(DIR, { fs })
      expect((await again.load()).snapshot, `seed ${seed}`).toEqual(a)
      expect(await fs.readdir(`${DIR}/snapshots`), `seed ${seed}`).toHaveLength(1)
      await again.close()
    }
  })

  it('a crash at any sync while finishing and installing a received snapshot leaves the old snapshot or the new one, whole', async () => {
    const seen = new Set<number>()
    for (let k = 1; k < 50; k++) {
      let syncs = 0
      let armed = false
      let crashed: () => void = () => {}
      const crash = new Promise<void>((resolve) => { crashed = resolve })
      const disk: SimDisk = new SimDisk({ onSync: () => { if (armed && ++syncs === k) { disk.crash(new Prng(k)); crashed() } } })
      const st = await FileRaftStorage.open(DIR, { fs: disk.mount() })
      await st.append(entries(1, 10, 1))
      const a = snap(8, 1, 30_000)
      await st.saveSnapshot(a)
      const b = snap(40, 2, 120_000)
      armed = true
      const install = (async () => {
        const sink = await receive(st, b)
        await sink.finish()
        await st.installReceivedSnapshot(sink, b)
      })()
      const outcome = await Promise.race([install.then(() => 'done' as const), crash.then(() => 'crashed' as const)])
      armed = false
      if (outcome === 'done') break
      const again = await FileRaftStorage.open(DIR, { fs: disk.mount() })
      const s = (await again.load()).snapshot!
      expect([8, 40], `crash at sync ${k}`).toContain(s.index)
      expect(s, `crash at sync ${k}`).toEqual(s.index === 8 ? a : b)
      seen.add(s.index)
      await again.close()
    }
    expect(seen.has(8)).toBe(true)
  })
})
