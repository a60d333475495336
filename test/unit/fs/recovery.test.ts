import { appendFile, readFile, stat, truncate, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type FileSystem, nodeFileSystem, WriteAheadLog } from '../../../adapters/fs/index.js'
import { DecodeError, StorageError } from '../../../src/errors.js'
import { Prng } from '../../../src/testing/index.js'
import { buildLog, copyLog, expected, lastSegment, readAll, record, segmentFiles, text, track } from './helpers.js'

const SEGMENT_BYTES = 256
const HEADER = 5 // segment header: magic + version

const open = async (dir: string, fs?: FileSystem): Promise<WriteAheadLog> => track(await WriteAheadLog.open(dir, { segmentBytes: SEGMENT_BYTES, fs }))

/** The real file system, counting the bytes read through it (recovery's cost, without a clock). */
const countingFs = (): { fs: FileSystem, bytesRead: () => number } => {
  let read = 0
  const fs: FileSystem = {
    ...nodeFileSystem,
    open: async (path, flags) => {
      const h = await nodeFileSystem.open(path, flags)
      return Object.assign(Object.create(h) as typeof h, {
        read: async (buffer: Uint8Array, offset: number, length: number, position: number) => {
          const r = await h.read(buffer, offset, length, position)
          read += r.bytesRead
          return r
        },
        writev: h.writev.bind(h), sync: h.sync.bind(h), datasync: h.datasync.bind(h), truncate: h.truncate.bind(h), stat: h.stat.bind(h), close: h.close.bind(h)
      })
    }
  }
  return { fs, bytesRead: () => read }
}

/** Total size of the log's segment files. */
const logBytes = async (dir: string): Promise<number> => {
  let n = 0
  for (const f of await segmentFiles(dir)) n += (await stat(join(dir, f))).size
  return n
}

/** Opens `dir`, expects records 1..n, appends one more, and checks it survives a reopen. */
const expectRecovered = async (dir: string, n: number, tornBytes: number, fs?: FileSystem): Promise<void> => {
  const log = await open(dir, fs)
  expect(log.recovery.tornBytesDropped).toBe(tornBytes)
  expect(log.recovery.records).toBe(n)
  expect(log.lastIndex).toBe(n)
  expect(await readAll(log)).toEqual(expected(1, n))
  expect(await log.append([record(n + 1)])).toBe(n + 1)
  await log.close()
  const again = await open(dir)
  expect(again.recovery.tornBytesDropped).toBe(0)
  expect(await readAll(again)).toEqual(expected(1, n + 1))
  await again.close()
}

/** Expects opening `dir` to fail with a StorageError naming `file` and `offset`. */
const expectCorrupt = async (dir: string, file: string, offset: number): Promise<StorageError> => {
  const err = await WriteAheadLog.open(dir).then(async (log) => { await log.close(); throw new Error('opened a corrupt log') }, (e: unknown) => e)
  expect(err).toBeInstanceOf(StorageError)
  const message = (err as Error).message
  expect(message).toContain(file)
  expect(message).toContain(`offset ${offset}`)
  expect((err as Error).cause).toBeInstanceOf(DecodeError)
  return err as StorageError
}

/** The byte offset of each record in a segment file (parsed independently of the library). */
const recordOffsets = (bytes: Uint8Array): number[] => {
  const view = new DataView(bytes.buffer, bytes.byteOffset)
  const offsets = []
  for (let pos = HEADER; pos < bytes.length; pos += 8 + view.getUint32(pos, true)) offsets.push(pos)
  return offsets
}

describe('recovery of a torn tail', () => {
  it('cuts the last record at every byte offset: recovers the records before it, appends continue', async () => {
    const n = 23
    const template = await buildLog(n - 1, SEGMENT_BYTES)
    { // a long last record, so there are many offsets to cut at
      const log = await open(template)
      await log.append([new TextEncoder().encode(text(record(n)) + ' tail'.repeat(20))])
      await log.close()
    }
    const file = await lastSegment(template)
    const size = (await stat(file)).size
    const start = recordOffsets(await readFile(file)).at(-1) ?? 0
    expect(size - start).toBeGreaterThan(100)
    for (let cut = start; cut < size; cut++) {
      const dir = await copyLog(template)
      await truncate(join(dir, (await segmentFiles(dir)).at(-1) ?? ''), cut)
      await expectRecovered(dir, n - 1, cut - start)
    }
  })

  it('drops garbage appended after the last record: random, zeros, 0xff, a partial header', async () => {
    const n = 10
    const template = await buildLog(n, SEGMENT_BYTES)
    const prng = new Prng(7)
    const garbage = [
      Uint8Array.from({ length: 300 }, () => prng.int(0, 255)),
      new Uint8Array(4096),
      new Uint8Array(50).fill(0xff),
      Uint8Array.of(3, 0, 0),
      Uint8Array.of(10, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10) // a whole record whose checksum fails
    ]
    for (const bytes of garbage) {
      const dir = await copyLog(template)
      await appendFile(await lastSegment(dir), bytes)
      await expectRecovered(dir, n, bytes.length)
    }
  })

  it('drops a last record whose checksum fails', async () => {
    const dir = await buildLog(10, SEGMENT_BYTES)
    const file = await lastSegment(dir)
    const bytes = await readFile(file)
    const last = recordOffsets(bytes).at(-1) ?? 0
    bytes[bytes.length - 1] ^= 0x01
    await writeFile(file, bytes)
    await expectRecovered(dir, 9, bytes.length - last)
  })

  it('rewrites the header of a last segment that a crash left shorter than one', async () => {
    const template = await buildLog(10, SEGMENT_BYTES)
    const files = await segmentFiles(template)
    for (let size = 0; size < HEADER; size++) {
      const dir = await copyLog(template)
      const name = `${String(11).padStart(20, '0')}.wal`
      expect(files).not.toContain(name)
      await writeFile(join(dir, name), Uint8Array.of(0x41, 0x45, 0x47, 0x57).subarray(0, size))
      await expectRecovered(dir, 10, size)
    }
  })
})

describe('recovery refuses corruption', () => {
  it('a flipped byte in a record of an earlier segment: StorageError naming file and offset', async () => {
    const dir = await buildLog(40, SEGMENT_BYTES)
    const files = await segmentFiles(dir)
    expect(files.length).toBeGreaterThan(3)
    const name = files[1]
    const bytes = await readFile(join(dir, name))
    const target = recordOffsets(bytes)[1]
    bytes[target + 12] ^= 0x20 // inside the data
    await writeFile(join(dir, name), bytes)
    await expectCorrupt(dir, name, target)
  })

  it('a flipped byte in a middle record of the last segment: not mistaken for a torn tail', async () => {
    const template = await buildLog(40, SEGMENT_BYTES)
    const name = (await segmentFiles(template)).at(-1) ?? ''
    const original = await readFile(join(template, name))
    const offsets = recordOffsets(original)
    expect(offsets.length).toBeGreaterThan(2)
    const target = offsets[offsets.length - 2]
    // data byte, checksum byte, low and high length bytes
    for (const [at, mask] of [[10, 0x01], [5, 0x80], [0, 0x04], [3, 0xff]]) {
      const dir = await copyLog(template)
      const bytes = Uint8Array.from(original)
      bytes[target + at] ^= mask
      await writeFile(join(dir, name), bytes)
      await expectCorrupt(dir, name, target)
    }
  })

  it('a segment that is not one (bad magic, unknown version)', async () => {
    for (const [at, value] of [[0, 0x58], [4, 9]]) {
      const dir = await buildLog(40, SEGMENT_BYTES)
      const name = (await segmentFiles(dir))[0]
      const bytes = await readFile(join(dir, name))
      bytes[at] = value
      await writeFile(join(dir, name), bytes)
      await expectCorrupt(dir, name, 0)
    }
  })

  it('a missing segment in the middle or at the start', async () => {
    for (const which of [1, 0]) {
      const dir = await buildLog(40, SEGMENT_BYTES)
      const files = await segmentFiles(dir)
      await unlink(join(dir, files[which]))
      const err = await WriteAheadLog.open(dir).then(() => undefined, (e: unknown) => e)
      expect(err).toBeInstanceOf(StorageError)
      expect((err as Error).message).toMatch(/missing|next segment/)
    }
  })

  it('leaves the files as they were when it refuses', async () => {
    const dir = await buildLog(40, SEGMENT_BYTES)
    const name = (await segmentFiles(dir))[1]
    const bytes = await readFile(join(dir, name))
    bytes[HEADER + 9] ^= 1
    await writeFile(join(dir, name), bytes)
    await appendFile(await lastSegment(dir), Uint8Array.of(1, 2, 3)) // a torn tail it would otherwise cut
    const before = await Promise.all((await segmentFiles(dir)).map(async (f) => await readFile(join(dir, f))))
    await expect(WriteAheadLog.open(dir)).rejects.toThrow(StorageError)
    const after = await Promise.all((await segmentFiles(dir)).map(async (f) => await readFile(join(dir, f))))
    expect(after).toEqual(before)
  })
})

describe('recovery cost is bounded', () => {
  it('a large random tail is dropped, each byte read a bounded number of times', async () => {
    const dir = await buildLog(10, SEGMENT_BYTES)
    const prng = new Prng(11)
    const garbage = new Uint8Array(4 << 20)
    for (let i = 0; i < garbage.length; i += 4) new DataView(garbage.buffer).setUint32(i, prng.uint32(), true)
    await appendFile(await lastSegment(dir), garbage)
    const size = await logBytes(dir)
    const counted = countingFs()
    await expectRecovered(dir, 10, garbage.length, counted.fs)
    // each byte of the log is read a bounded number of times, however the garbage looks
    expect(counted.bytesRead()).toBeLessThanOrEqual(4 * size)
    expect(counted.bytesRead()).toBeGreaterThanOrEqual(garbage.length) // the counter sees the log's reads
  })

  it('a tail where every length points at the end of the file is checked without rereading each', async () => {
    const dir = await buildLog(10, SEGMENT_BYTES)
    const tail = new Uint8Array(1 << 20) // 256 Ki candidates of up to 1 MiB each
    const view = new DataView(tail.buffer)
    for (let i = 4; i + 4 <= tail.length; i += 4) view.setUint32(i, tail.length - i - 8, true)
    view.setUint32(0, 0xffffffff, true) // the first record is torn
    await appendFile(await lastSegment(dir), tail)
    const size = await logBytes(dir)
    const counted = countingFs()
    await expectRecovered(dir, 10, tail.length, counted.fs)
    // rereading from each candidate to the end would read ~128 GiB
    expect(counted.bytesRead()).toBeLessThanOrEqual(4 * size)
  })

  it('a crafted tail with too many possible records to check is refused, not searched forever', async () => {
    const dir = await buildLog(10, SEGMENT_BYTES)
    const file = await lastSegment(dir)
    const size = (await stat(file)).size
    // [0x20, 0, 0, 0] repeated: lengths 32, 8192 and 2 MiB at three offsets in four
    const tail = new Uint8Array(3 << 20)
    for (let i = 0; i < tail.length; i += 4) tail[i] = 0x20
    tail.set([0xff, 0xff, 0xff, 0xff])
    await appendFile(file, tail)
    const total = await logBytes(dir)
    const counted = countingFs()
    const err = await WriteAheadLog.open(dir, { fs: counted.fs }).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(StorageError)
    expect((err as Error).message).toContain(`offset ${size}`)
    expect((err as Error).message).toMatch(/cannot tell a torn tail from corruption/)
    expect(counted.bytesRead()).toBeLessThanOrEqual(4 * total)
  })
})
