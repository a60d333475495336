/**
 * A room's storage on the hub: nothing on disk until the first write, no
 * room left locked when opening fails, and damage reported.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Doc, StorageError } from 'aegis-replication'
import { RoomStorage, roomDir } from 'aegis-replication/hub'

const dirs: string[] = []
const opened: RoomStorage[] = []

afterEach(async () => {
  await Promise.all(opened.splice(0).map(async (s) => { await s.close().catch(() => {}) }))
  await Promise.all(dirs.splice(0).map(async (d) => { await rm(d, { recursive: true, force: true }) }))
})

const dataDir = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'aegis-room-'))
  dirs.push(dir)
  return dir
}

const open = async (dir: string, compactAfter = 1000): Promise<RoomStorage> => {
  const s = await RoomStorage.open(dir, 'hub', { fsync: false, compactAfter })
  opened.push(s)
  return s
}

/** `n` updates of a writer doc, each incrementing counter 'n'. */
const updates = (n: number): Uint8Array[] => {
  const writer = new Doc({ replicaId: 'writer' })
  const out: Uint8Array[] = []
  writer.on('update', (u: Uint8Array) => { out.push(u) })
  for (let i = 0; i < n; i++) writer.counter('n').increment(1)
  return out
}

const count = (s: RoomStorage): unknown => s.doc.toJSON().n ?? 0

/** Writes `n` updates to the room in `dir` (compacting after `compactAfter`) and closes it. */
const fill = async (dir: string, n: number, compactAfter = 1000): Promise<void> => {
  const s = await open(dir, compactAfter)
  for (const u of updates(n)) { s.doc.applyUpdate(u); await s.append(u) }
  await s.compact()
  await s.close()
}

describe('RoomStorage', () => {
  it('opening a room that was never written creates nothing on disk', async () => {
    const data = await dataDir()
    const dir = roomDir(data, 'nobody writes here')
    const s = await open(dir)
    expect(count(s)).toBe(0)
    expect(s.recovery).toEqual({ records: 0, tornBytesDropped: 0, segments: 0 })
    expect(s.damage).toBeUndefined()
    await s.compact()
    await s.close()
    expect(existsSync(dir)).toBe(false)
    expect(await readdir(data)).toEqual([])
  })

  it('creates the directory on the first write, keeping the order of appends made meanwhile', async () => {
    const dir = roomDir(await dataDir(), 'lazy')
    const s = await open(dir)
    const us = updates(20)
    for (const u of us) s.doc.applyUpdate(u)
    await Promise.all(us.map(async (u) => { await s.append(u) })) // all issued before the log exists
    expect(existsSync(dir)).toBe(true)
    await s.close()
    const again = await open(dir)
    expect(again.recovery.records).toBe(20)
    expect(count(again)).toBe(20)
  })

  it('a second open of one room in the process is refused, before and after its first write', async () => {
    const dir = roomDir(await dataDir(), 'twice')
    const s = await open(dir)
    await expect(RoomStorage.open(dir, 'hub')).rejects.toThrow(/already open/)
    await s.append(updates(1)[0])
    await expect(RoomStorage.open(dir, 'hub')).rejects.toThrow(/already open/)
    await s.close()
    await open(dir) // free again
  })

  it('a corrupt snapshot fails the open without locking the room: removing the file lets it open', async () => {
    const dir = roomDir(await dataDir(), 'corrupt snapshot')
    await fill(dir, 5)
    const snap = join(dir, 'snapshot.snap')
    const bytes = await readFile(snap)
    bytes[bytes.length - 1] ^= 0x10
    await writeFile(snap, bytes)
    for (let attempt = 0; attempt < 2; attempt++) { // the same error each time, not "already open"
      const err = await RoomStorage.open(dir, 'hub').then(() => undefined, (e: unknown) => e)
      expect(err).toBeInstanceOf(StorageError)
      expect((err as Error).message).toMatch(/snapshot checksum mismatch/)
    }
    await rm(snap)
    const s = await open(dir)
    expect(count(s)).toBe(5) // compaction kept the last segment, which holds them
  })

  it('reports a flipped byte in the last record as damage', async () => {
    const dir = roomDir(await dataDir(), 'damaged')
    const s = await open(dir)
    for (const u of updates(3)) { s.doc.applyUpdate(u); await s.append(u) }
    await s.close()
    const segment = join(dir, (await readdir(dir)).filter((n) => n.endsWith('.wal'))[0])
    const bytes = await readFile(segment)
    bytes[bytes.length - 1] ^= 0x01
    await writeFile(segment, bytes)
    const again = await open(dir)
    expect(count(again)).toBe(2)
    expect(again.damage).toMatchObject({ corruptRecords: 1, missingSegments: 0 })
    expect(again.damage?.detail[0]).toContain(segment)
  })

  it('reports the segment after the snapshot deleted as damage, and no damage when clean', async () => {
    const dir = roomDir(await dataDir(), 'lost segment')
    await fill(dir, 10, 4)
    const clean = await open(dir)
    expect(clean.damage).toBeUndefined()
    expect(count(clean)).toBe(10)
    await clean.close()
    for (const name of await readdir(dir)) if (name.endsWith('.wal')) await rm(join(dir, name))
    const again = await open(dir)
    expect(again.damage?.missingSegments).toBe(1)
    expect(count(again)).toBe(10) // the snapshot still holds what it covered
  })
})

describe('RoomStorage on a damaged log', () => {
  it('a middle segment deleted: the room opens with what precedes the gap and reports the damage', async () => {
    const { WriteAheadLog } = await import('aegis-replication/fs')
    const dir = roomDir(await dataDir(), 'gap')
    const wal = await WriteAheadLog.open(dir, { segmentBytes: 200, fsync: false })
    await wal.append(updates(30))
    await wal.close()
    const files = (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort()
    expect(files.length).toBeGreaterThan(3)
    await rm(join(dir, files[2]))
    const s = await open(dir)
    const kept = Number(files[2].slice(0, 20)) - 1
    expect(count(s)).toBe(kept)
    expect(s.damage).toMatchObject({ missingSegments: 1 })
    expect(s.damage?.detail[0]).toMatch(/are missing/)
    const u = updates(31)[30] // the room takes writes again
    s.doc.applyUpdate(u)
    await s.append(u)
  })
})
