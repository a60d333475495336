import { appendFile, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { WriteAheadLog } from '../../../adapters/fs/index.js'
import { StorageError } from '../../../src/errors.js'
import { Prng, runSeeds } from '../../../src/testing/index.js'
import { tempDir } from './helpers.js'

const SEEDS = 150
const HANG_MS = 10_000

const randomBytes = (prng: Prng, n: number): Uint8Array => Uint8Array.from({ length: n }, () => prng.int(0, 255))

/** A real log with random records; returns the records, by index. */
const buildRandomLog = async (dir: string, prng: Prng): Promise<Map<number, Uint8Array>> => {
  const log = await WriteAheadLog.open(dir, { segmentBytes: prng.int(1, 600), fsync: false })
  const written = new Map<number, Uint8Array>()
  for (let batch = prng.int(0, 6); batch > 0; batch--) {
    const recs = Array.from({ length: prng.int(0, 8) }, () => randomBytes(prng, prng.pick([0, 1, 5, 40, 300])))
    const last = await log.append(recs)
    recs.forEach((r, k) => written.set(last - recs.length + 1 + k, r))
  }
  if (prng.bool(0.2) && log.lastIndex > 1) await log.compact(prng.int(1, log.lastIndex), randomBytes(prng, 20))
  await log.close()
  return written
}

/** Damages the log directory in one random way. */
const damage = async (dir: string, prng: Prng): Promise<void> => {
  const files = (await readdir(dir)).sort()
  if (files.length === 0) {
    await writeFile(join(dir, '00000000000000000001.wal'), randomBytes(prng, prng.int(0, 300)))
    return
  }
  const file = join(dir, prng.pick(files))
  const bytes = await readFile(file)
  switch (prng.int(0, 6)) {
    case 0: // flip bytes
      for (let k = prng.int(1, 4); k > 0 && bytes.length > 0; k--) bytes[prng.int(0, bytes.length - 1)] ^= 1 << prng.int(0, 7)
      await writeFile(file, bytes)
      break
    case 1: await truncate(file, prng.int(0, bytes.length)); break
    case 2: await appendFile(file, randomBytes(prng, prng.int(1, 600))); break
    case 3: await writeFile(file, randomBytes(prng, prng.int(0, 2000))); break
    case 4: await writeFile(join(dir, `${String(prng.int(1, 80)).padStart(20, '0')}.wal`), randomBytes(prng, prng.int(0, 300))); break
    case 5: await rm(file); break
    default: await writeFile(join(dir, 'snapshot.snap'), randomBytes(prng, prng.int(0, 100)))
  }
}

const withinTime = async <T>(p: Promise<T>, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what} hung`)) }, HANG_MS) })
  try {
    return await Promise.race([p, hang])
  } finally {
    clearTimeout(timer)
  }
}

describe('damaged logs (seeded)', () => {
  it('open either recovers records identical to what was written, or throws StorageError', async () => {
    let recovered = 0
    let refused = 0
    await runSeeds(SEEDS, async (seed, prng) => {
      const dir = await tempDir()
      const written = await buildRandomLog(dir, prng)
      for (let k = prng.int(1, 3); k > 0; k--) await damage(dir, prng)
      const maxRecordBytes = prng.pick([1000, 64 << 20])
      let log: WriteAheadLog
      try {
        log = await withinTime(WriteAheadLog.open(dir, { segmentBytes: 300, maxRecordBytes }), `open (seed ${seed})`)
      } catch (err) {
        expect(err, String(err)).toBeInstanceOf(StorageError)
        refused++
        return
      }
      recovered++
      try {
        await withinTime((async () => {
          for await (const { index, data } of log.read()) {
            expect(index).toBeGreaterThanOrEqual(log.firstIndex)
            expect(data).toEqual(written.get(index))
          }
          const next = await log.append([Uint8Array.of(seed & 0xff)])
          expect(next).toBe(log.lastIndex)
        })(), `read and append (seed ${seed})`)
      } finally {
        await log.close()
      }
      const again = await WriteAheadLog.open(dir)
      try {
        expect(again.recovery.tornBytesDropped).toBe(0)
        expect(again.lastIndex).toBe(log.lastIndex)
      } finally {
        await again.close()
      }
    }, { env: process.env, baseSeed: 1 })
    // the damage mixes cases that must be recovered and cases that must be refused
    expect(recovered).toBeGreaterThan(0)
    expect(refused).toBeGreaterThan(0)
  })
})

const TRUNCATE_SEEDS = 75

describe("damaged logs opened with onDamage: 'truncate' (seeded)", () => {
  it('open recovers a clean prefix of what was written (reporting any damage), or throws StorageError', async () => {
    let damaged = 0
    let refused = 0
    await runSeeds(TRUNCATE_SEEDS, async (seed, prng) => {
      const dir = await tempDir()
      const written = await buildRandomLog(dir, prng)
      for (let k = prng.int(1, 3); k > 0; k--) await damage(dir, prng)
      let log: WriteAheadLog
      try {
        log = await withinTime(WriteAheadLog.open(dir, { segmentBytes: 300, onDamage: 'truncate' }), `open (seed ${seed})`)
      } catch (err) {
        expect(err, String(err)).toBeInstanceOf(StorageError)
        refused++
        return
      }
      if (log.recovery.damage !== undefined) damaged++
      try {
        await withinTime((async () => {
          for await (const { index, data } of log.read()) expect(data).toEqual(written.get(index))
        })(), `read (seed ${seed})`)
      } finally {
        await log.close()
      }
      const again = await WriteAheadLog.open(dir) // what truncation left is clean
      try {
        expect(again.recovery.damage).toBeUndefined()
        expect(again.recovery.tornBytesDropped).toBe(0)
        expect(again.lastIndex).toBe(log.lastIndex)
      } finally {
        await again.close()
      }
    }, { env: process.env, baseSeed: 1 })
    expect(damaged).toBeGreaterThan(0)
    expect(refused).toBeLessThan(TRUNCATE_SEEDS / 3) // only a damaged snapshot (or an unreadable tail) is still refused
  })
})
