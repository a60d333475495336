import { readdir, readFile, stat, truncate, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { WriteAheadLog } from '../../../adapters/fs/index.js'
import { StorageError } from '../../../src/errors.js'
import { buildLog, expected, lastSegment, readAll, record, records, segmentFiles, tempDir, track } from './helpers.js'

const SEGMENT_BYTES = 256
const HEADER = 5

const open = async (dir: string): Promise<WriteAheadLog> => track(await WriteAheadLog.open(dir, { segmentBytes: SEGMENT_BYTES }))

const recordOffsets = (bytes: Uint8Array): number[] => {
  const view = new DataView(bytes.buffer, bytes.byteOffset)
  const offsets = []
  for (let pos = HEADER; pos < bytes.length; pos += 8 + view.getUint32(pos, true)) offsets.push(pos)
  return offsets
}

/** A log of 40 records compacted at `at` (so a snapshot and the segments after it). */
const compactedLog = async (at: number): Promise<string> => {
  const dir = await tempDir()
  const log = await WriteAheadLog.open(dir, { segmentBytes: SEGMENT_BYTES })
  await log.append(records(1, 40))
  await log.compact(at, new TextEncoder().encode(`state at ${at}`))
  await log.close()
  return dir
}

describe('damage is reported apart from a torn tail', () => {
  it('a flipped byte inside the last complete record: damage, the bytes kept aside', async () => {
    const dir = await buildLog(10, SEGMENT_BYTES)
    const file = await lastSegment(dir)
    const bytes = await readFile(file)
    const last = recordOffsets(bytes).at(-1) ?? 0
    bytes[last + 10] ^= 0x04 // inside the data; header and length intact
    await writeFile(file, bytes)
    const log = await open(dir)
    expect(log.lastIndex).toBe(9)
    expect(log.recovery.damage).toMatchObject({ missingSegments: 0, corruptRecords: 1, bytesDropped: bytes.length - last })
    expect(log.recovery.damage?.detail.join()).toContain(`offset ${last}`)
    expect(await readAll(log)).toEqual(expected(1, 9))
    const aside = (await readdir(dir)).filter((n) => n.endsWith('.damaged'))
    expect(aside).toEqual([`${file.split('/').at(-1) ?? ''}.${last}.damaged`])
    expect(await readFile(join(dir, aside[0]))).toEqual(bytes.subarray(last))
    await log.close()
    const again = await open(dir) // repaired: clean from now on, appends continue
    expect(again.recovery.damage).toBeUndefined()
    expect(await again.append([record(10)])).toBe(10)
  })

  it('a last record cut short at every offset stays a torn tail, not damage', async () => {
    const template = await buildLog(10, SEGMENT_BYTES)
    const file = await lastSegment(template)
    const size = (await stat(file)).size
    const last = recordOffsets(await readFile(file)).at(-1) ?? 0
    for (let cut = last + 1; cut < size; cut++) {
      const dir = await buildLog(10, SEGMENT_BYTES)
      await truncate(await lastSegment(dir), cut)
      const log = await open(dir)
      expect(log.recovery.tornBytesDropped).toBe(cut - last)
      expect(log.recovery.damage).toBeUndefined()
      await log.close()
    }
  })

  it('a last record whose data never landed (zeros) is a torn tail', async () => {
    const dir = await tempDir()
    const log = await WriteAheadLog.open(dir, { segmentBytes: 1 << 20 })
    await log.append([record(1), new Uint8Array(2000).fill(7)])
    await log.close()
    const file = await lastSegment(dir)
    const bytes = await readFile(file)
    const last = recordOffsets(bytes).at(-1) ?? 0
    bytes.fill(0, 1024) // a sector past the header of the last record did not land
    expect(1024).toBeGreaterThan(last + 8)
    await writeFile(file, bytes)
    const again = await open(dir)
    expect(again.lastIndex).toBe(1)
    expect(again.recovery.damage).toBeUndefined()
    expect(again.recovery.tornBytesDropped).toBe(bytes.length - last)
  })

  it('the segment right after the snapshot deleted (the only one left): damage, not a quiet empty log', async () => {
    const dir = await compactedLog(40) // compaction keeps one segment, holding 41.. once appended
    { const log = await WriteAheadLog.open(dir, { segmentBytes: 1 << 20 }); await log.append(records(41, 45)); await log.close() }
    const files = await segmentFiles(dir)
    expect(files).toHaveLength(1)
    await unlink(join(dir, files[0]))
    const log = await open(dir)
    expect(log.firstIndex).toBe(41)
    expect(log.lastIndex).toBe(40)
    expect(log.recovery.damage).toMatchObject({ missingSegments: 1, corruptRecords: 0 })
    expect(log.recovery.damage?.detail.join()).toMatch(/snapshot covers up to index 40/)
  })

  it('the segment right after the snapshot deleted with later ones present: refused, naming the gap', async () => {
    const dir = await compactedLog(20)
    const files = await segmentFiles(dir)
    expect(files.length).toBeGreaterThan(1)
    await unlink(join(dir, files[0]))
    const err = await WriteAheadLog.open(dir).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(StorageError)
    expect((err as Error).message).toMatch(/records from 21 are missing/)
  })

  it('a middle segment deleted: refused, naming both sides of the gap', async () => {
    const dir = await buildLog(40, SEGMENT_BYTES)
    const files = await segmentFiles(dir)
    expect(files.length).toBeGreaterThan(3)
    await unlink(join(dir, files[2]))
    const err = await WriteAheadLog.open(dir).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(StorageError)
    expect((err as Error).message).toContain(files[1])
    expect((err as Error).message).toContain(files[3])
  })
})

describe("onDamage: 'truncate' cuts damage back to the last good record and reports it", () => {
  const openTruncating = async (dir: string): Promise<WriteAheadLog> =>
    track(await WriteAheadLog.open(dir, { segmentBytes: SEGMENT_BYTES, onDamage: 'truncate' }))

  /** Opens in refuse mode: the cut log must be clean and take appends. */
  const expectClean = async (dir: string, last: number): Promise<void> => {
    const log = await open(dir)
    expect(log.recovery.damage).toBeUndefined()
    expect(log.lastIndex).toBe(last)
    expect(await log.append([record(last + 1)])).toBe(last + 1)
    await log.close()
  }

  it('a middle segment deleted: keeps the records before the gap, sets the later segments aside', async () => {
    const dir = await buildLog(40, SEGMENT_BYTES)
    const files = await segmentFiles(dir)
    await unlink(join(dir, files[2]))
    const log = await openTruncating(dir)
    const kept = Number(files[2].slice(0, 20)) - 1
    expect(log.lastIndex).toBe(kept)
    expect(await readAll(log)).toEqual(expected(1, kept))
    expect(log.recovery.damage).toMatchObject({ missingSegments: 1, corruptRecords: 0 })
    expect(log.recovery.damage?.bytesDropped).toBeGreaterThan(0)
    expect(log.recovery.damage?.detail[0]).toMatch(/are missing/)
    expect((await readdir(dir)).filter((n) => n.endsWith('.wal.damaged'))).toEqual(files.slice(3).map((f) => `${f}.damaged`))
    await log.close()
    await expectClean(dir, kept)
  })

  it('the segment right after the snapshot deleted, later ones present: the snapshot alone, damage reported', async () => {
    const dir = await compactedLog(20)
    const files = await segmentFiles(dir)
    await unlink(join(dir, files[0]))
    const log = await openTruncating(dir)
    expect(log.firstIndex).toBe(21)
    expect(log.lastIndex).toBe(20)
    expect(log.recovery.damage).toMatchObject({ missingSegments: 1 })
    expect(log.recovery.damage?.detail[0]).toMatch(/records from 21 are missing/)
    await log.close()
    await expectClean(dir, 20)
  })

  it('a flipped byte in a record of an earlier segment: cut there', async () => {
    const dir = await buildLog(40, SEGMENT_BYTES)
    const files = await segmentFiles(dir)
    const bytes = await readFile(join(dir, files[1]))
    const target = recordOffsets(bytes)[1]
    bytes[target + 12] ^= 0x20
    await writeFile(join(dir, files[1]), bytes)
    const log = await openTruncating(dir)
    const kept = Number(files[1].slice(0, 20)) // the first record of files[1] survives
    expect(log.lastIndex).toBe(kept)
    expect(log.recovery.damage).toMatchObject({ corruptRecords: 1, missingSegments: 0 })
    expect(log.recovery.damage?.detail[0]).toContain(`offset ${target}`)
    await log.close()
    await expectClean(dir, kept)
  })

  it('a torn tail is still only a torn tail', async () => {
    const dir = await buildLog(10, SEGMENT_BYTES)
    const file = await lastSegment(dir)
    await truncate(file, (await stat(file)).size - 3)
    const log = await openTruncating(dir)
    expect(log.lastIndex).toBe(9)
    expect(log.recovery.damage).toBeUndefined()
  })
})
