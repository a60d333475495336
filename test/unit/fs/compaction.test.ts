import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { WriteAheadLog } from '../../../adapters/fs/index.js'
import { InvalidArgumentError, StorageError } from '../../../src/errors.js'
import { buildLog, copyLog, expected, readAll, record, records, segmentFiles, tempDir, text, track } from './helpers.js'

const SEGMENT_BYTES = 256
const open = async (dir: string): Promise<WriteAheadLog> => track(await WriteAheadLog.open(dir, { segmentBytes: SEGMENT_BYTES }))
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const firstIndexOf = (name: string): number => Number(name.slice(0, 20))

describe('compaction', () => {
  it('stores the snapshot, deletes segments holding only covered records, survives reopen', async () => {
    const dir = await tempDir()
    const log = await open(dir)
    await log.append(records(1, 60))
    const before = await segmentFiles(dir)
    await log.compact(30, bytes('state at 30'))
    expect([log.firstIndex, log.lastIndex]).toEqual([31, 60])
    const after = await segmentFiles(dir)
    expect(after.length).toBeLessThan(before.length)
    // the first segment left holds index 31; every one deleted ended before it
    expect(firstIndexOf(after[0])).toBeLessThanOrEqual(31)
    expect(before.filter((f) => !after.includes(f)).every((f) => firstIndexOf(f) < firstIndexOf(after[0]))).toBe(true)
    expect(await readAll(log)).toEqual(expected(31, 60))
    await expect(readAll(log, 30)).rejects.toThrow(InvalidArgumentError)
    expect(await log.append([record(61)])).toBe(61)
    await log.close()

    const again = await open(dir)
    expect([again.firstIndex, again.lastIndex]).toEqual([31, 61])
    expect(again.recovery).toEqual({ records: 31, tornBytesDropped: 0, segments: after.length })
    const snap = await again.snapshot()
    expect(snap?.index).toBe(30)
    expect(text(snap?.data ?? new Uint8Array())).toBe('state at 30')
    expect(await readAll(again)).toEqual(expected(31, 61))
  })

  it('replaces an older snapshot; refuses to go back', async () => {
    const log = await open(await tempDir())
    await log.append(records(1, 20))
    await log.compact(5, bytes('five'))
    await log.compact(12, bytes('twelve'))
    await log.compact(12, bytes('twelve again'))
    expect(text((await log.snapshot())?.data ?? new Uint8Array())).toBe('twelve again')
    await expect(log.compact(11, bytes('eleven'))).rejects.toThrow(InvalidArgumentError)
    await expect(log.truncateAfter(11)).rejects.toThrow(InvalidArgumentError)
    await log.truncateAfter(12) // dropping everything after the snapshot is fine
    expect([log.firstIndex, log.lastIndex]).toEqual([13, 12])
    expect(await log.append([record(13)])).toBe(13)
  })

  it('compacts the whole log: the last segment stays and takes the next record', async () => {
    const dir = await tempDir()
    const log = await open(dir)
    await log.append(records(1, 40))
    await log.compact(40, bytes('all'))
    expect(await segmentFiles(dir)).toHaveLength(1)
    expect(await readAll(log)).toEqual([])
    expect(await log.append([record(41)])).toBe(41)
    await log.close()
    expect(await readAll(await open(dir))).toEqual(expected(41, 41))
  })

  it('skips past the end of the log (Raft InstallSnapshot): the log continues after the snapshot', async () => {
    const dir = await tempDir()
    const log = await open(dir)
    await log.append(records(1, 40))
    await log.compact(100, bytes('from the leader'))
    expect([log.firstIndex, log.lastIndex]).toEqual([101, 100])
    expect(await segmentFiles(dir)).toEqual(['00000000000000000101.wal'])
    expect(await log.append(records(101, 103))).toBe(103)
    await log.close()
    const again = await open(dir)
    expect(await readAll(again)).toEqual(expected(101, 103))
    expect((await again.snapshot())?.index).toBe(100)
  })

  it('compact then truncateAfter drops a conflicting suffix after the snapshot', async () => {
    const log = await open(await tempDir())
    await log.append(records(1, 30))
    await log.compact(20, bytes('20'))
    await log.truncateAfter(20)
    expect([log.firstIndex, log.lastIndex]).toEqual([21, 20])
    expect(await log.append([bytes('new 21')])).toBe(21)
    expect(await readAll(log)).toEqual([[21, 'new 21']])
  })

  it('recovers from a compaction that crashed after the snapshot was renamed into place', async () => {
    // Segments a crash left behind are all still there; the snapshot covers some of them.
    const template = await buildLog(60, SEGMENT_BYTES)
    const withSnapshot = await copyLog(template)
    { const log = await open(withSnapshot); await log.compact(30, bytes('30')); await log.close() }
    const dir = await copyLog(template)
    for (const name of await readdir(withSnapshot)) {
      if (!name.endsWith('.wal')) await writeFile(join(dir, name), await readFile(join(withSnapshot, name)))
    }
    await writeFile(join(dir, 'snapshot.snap.tmp'), bytes('half-written'))
    const log = await open(dir)
    expect([log.firstIndex, log.lastIndex]).toEqual([31, 60])
    expect(await segmentFiles(dir)).toEqual(await segmentFiles(withSnapshot))
    expect(await readdir(dir)).not.toContain('snapshot.snap.tmp')
    expect(await readAll(log)).toEqual(expected(31, 60))
  })

  it('recovers from a skip-ahead compaction that crashed before replacing the segments', async () => {
    const template = await buildLog(20, SEGMENT_BYTES)
    const skipped = await copyLog(template)
    { const log = await open(skipped); await log.compact(50, bytes('50')); await log.close() }
    const dir = await copyLog(template)
    await writeFile(join(dir, 'snapshot.snap'), await readFile(join(skipped, 'snapshot.snap')))
    const log = await open(dir)
    expect([log.firstIndex, log.lastIndex]).toEqual([51, 50])
    expect(await segmentFiles(dir)).toEqual(['00000000000000000051.wal'])
    expect(await log.append([record(51)])).toBe(51)
  })

  it('a corrupt snapshot is a StorageError from snapshot(), naming the file', async () => {
    const dir = await tempDir()
    const log = await open(dir)
    await log.append(records(1, 5))
    await log.compact(3, bytes('snapshot bytes'))
    const path = join(dir, 'snapshot.snap')
    const raw = await readFile(path)
    raw[raw.length - 1] ^= 1
    await writeFile(path, raw)
    await expect(log.snapshot()).rejects.toThrow(/snapshot\.snap.*checksum/)
    await log.close()
    raw[raw.length - 1] ^= 1
    await writeFile(path, raw.subarray(0, raw.length - 2))
    await expect(WriteAheadLog.open(dir)).rejects.toThrow(StorageError)
  })
})
