import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'
import { WriteAheadLog } from '../../../adapters/fs/index.js'

const dirs: string[] = []
const logs: WriteAheadLog[] = []

/** A fresh temporary directory, removed after the test (with any log left open in it). */
export const tempDir = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'aegis-wal-'))
  dirs.push(dir)
  return join(dir, 'log')
}

/** Registers a log to close after the test if the test did not. */
export const track = <T extends WriteAheadLog>(log: T): T => {
  logs.push(log)
  return log
}

afterEach(async () => {
  await Promise.all(logs.splice(0).map(async (l) => { await l.close().catch(() => {}) }))
  await Promise.all(dirs.splice(0).map(async (d) => { await rm(d, { recursive: true, force: true }) }))
})

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Record `i`'s bytes: its number and a length that varies with it. */
export const record = (i: number): Uint8Array => encoder.encode(`record ${i} ` + 'x'.repeat(i % 37))

/** Records `from..to`. */
export const records = (from: number, to: number): Uint8Array[] =>
  Array.from({ length: to - from + 1 }, (_, k) => record(from + k))

export const text = (bytes: Uint8Array): string => decoder.decode(bytes)

/** Every record `read()` yields, as `[index, text]`. */
export const readAll = async (log: WriteAheadLog, from?: number, to?: number): Promise<Array<[number, string]>> => {
  const out: Array<[number, string]> = []
  for await (const r of log.read(from, to)) out.push([r.index, text(r.data)])
  return out
}

/** `[index, text]` pairs of `record(i)` for `i` in `from..to`. */
export const expected = (from: number, to: number): Array<[number, string]> =>
  Array.from({ length: to - from + 1 }, (_, k) => [from + k, text(record(from + k))])

/** The segment file names in `dir`, in order. */
export const segmentFiles = async (dir: string): Promise<string[]> =>
  (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort()

/** A log in a new directory holding `records(1, count)`, closed. */
export const buildLog = async (count: number, segmentBytes: number): Promise<string> => {
  const dir = await tempDir()
  const log = await WriteAheadLog.open(dir, { segmentBytes })
  await log.append(records(1, count))
  await log.close()
  return dir
}

/** A copy of the log directory `src` in a new temporary directory. */
export const copyLog = async (src: string): Promise<string> => {
  const dst = await tempDir()
  await mkdir(dst)
  for (const name of await readdir(src)) await copyFile(join(src, name), join(dst, name))
  return dst
}

/** The path of the last segment file in `dir`. */
export const lastSegment = async (dir: string): Promise<string> => join(dir, (await segmentFiles(dir)).at(-1) ?? '')
