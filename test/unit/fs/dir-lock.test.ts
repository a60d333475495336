/**
 * The data-directory lock: one live process per directory, and a lock left
 * by a dead process taken over at once (no timeout), by exactly one taker.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DirectoryLock, DirectoryLockedError } from '../../../adapters/fs/index.js'
import { acquireAs } from '../../../adapters/fs/dir-lock.js'
import { currentProcess, processStartTime, type ProcessIdentity } from '../../../adapters/fs/process-identity.js'
import { Prng } from '../../../src/testing/index.js'

const dirs: string[] = []
const locks: DirectoryLock[] = []
const children: ChildProcess[] = []
let bundle: string

beforeAll(async () => {
  const out = await mkdtemp(join(tmpdir(), 'aegis-lock-build-'))
  dirs.push(out)
  bundle = join(out, 'dir-lock.mjs')
  await build({
    entryPoints: [fileURLToPath(new URL('../../../adapters/fs/dir-lock.ts', import.meta.url))],
    bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'silent'
  })
})

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL')
  await Promise.all(locks.splice(0).map(async (l) => { await l.release().catch(() => {}) }))
})

afterAll(async () => {
  await Promise.all(dirs.splice(0).map(async (d) => { await rm(d, { recursive: true, force: true }) }))
})

const tempDir = async (): Promise<string> => {
  const d = await mkdtemp(join(tmpdir(), 'aegis-lock-'))
  dirs.push(d)
  return join(d, 'data')
}

const acquire = async (dir: string): Promise<DirectoryLock> => {
  const l = await DirectoryLock.acquire(dir, { label: 'test' })
  locks.push(l)
  return l
}

const lockError = async (p: Promise<unknown>): Promise<DirectoryLockedError> => {
  const err = await p.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(DirectoryLockedError)
  expect((err as Error).name).toBe('DirectoryLockedError')
  return err as DirectoryLockedError
}

/** A child node process that tries to lock `dir`, prints `won` or `locked`, and stays alive until killed. */
const child = (dir: string): { proc: ChildProcess, result: Promise<string> } => {
  const script = `import { DirectoryLock } from ${JSON.stringify(pathToFileURL(bundle).href)}
DirectoryLock.acquire(${JSON.stringify(dir)}, { label: 'child' }).then(() => console.log('won'), (e) => console.log(e.name === 'DirectoryLockedError' ? 'locked' : 'error ' + e.message))
setInterval(() => {}, 1 << 30)`
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(proc)
  const result = new Promise<string>((resolve, reject) => {
    let out = ''
    proc.stdout?.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('\n')) resolve(out.trim()) })
    proc.once('exit', (code) => { reject(new Error(`child exited (${code}) before answering: ${out}`)) })
  })
  return { proc, result }
}

const killed = async (proc: ChildProcess): Promise<void> => {
  const exited = new Promise<void>((resolve) => { proc.once('exit', () => { resolve() }) })
  proc.kill('SIGKILL')
  await exited
}

/** Writes a lock file of generation 1 naming `holder`. */
const plant = async (dir: string, holder: Partial<ProcessIdentity>): Promise<void> => {
  const { mkdir } = await import('node:fs/promises')
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'aegis.lock.1'), JSON.stringify({ nonce: 'planted', acquiredAt: '', ...holder }))
}

/** A pid that names no process now. */
const deadPid = (): number => {
  for (let pid = 4_000_000; ; pid--) {
    try { process.kill(pid, 0) } catch (err) { if ((err as NodeJS.ErrnoException).code === 'ESRCH') return pid }
  }
}

describe('DirectoryLock', () => {
  it('a second acquire in this process fails, naming the directory and pid; free again after release', async () => {
    const dir = await tempDir()
    const lock = await acquire(dir)
    const err = await lockError(DirectoryLock.acquire(dir))
    expect(err.message).toContain(dir)
    expect(err.message).toContain(`pid ${process.pid}`)
    await lock.release()
    await acquire(dir)
  })

  it('a live child process holding it: acquire fails naming its pid; after kill -9 it is taken at once', async () => {
    const dir = await tempDir()
    const { proc, result } = child(dir)
    expect(await result).toBe('won')
    const err = await lockError(DirectoryLock.acquire(dir))
    expect(err.message).toContain(`pid ${proc.pid ?? -1}`)
    expect(err.message).toContain(dir)
    expect(err.holder?.label).toBe('child')
    await killed(proc)
    await acquire(dir) // no waiting: the holder is provably gone
    const { proc: second, result: again } = child(dir)
    expect(await again).toBe('locked')
    await killed(second)
  })

  it('takes over a lock naming a pid that does not exist, another boot, or a recycled pid', async () => {
    const me = await currentProcess()
    const parentStart = await processStartTime(process.ppid)
    const stale: Array<Partial<ProcessIdentity>> = [
      { pid: deadPid(), host: me.host, bootId: me.bootId },
      { pid: process.ppid, host: me.host, bootId: 'another-boot' },
      ...(parentStart === undefined ? [] : [{ pid: process.ppid, host: me.host, bootId: me.bootId, startTime: String(Number(parentStart) + 1) }])
    ]
    for (const holder of stale) {
      const dir = await tempDir()
      await plant(dir, holder)
      const lock = await acquire(dir)
      expect(lock.path).toBe(join(dir, 'aegis.lock.2'))
      expect(await readdir(dir)).toEqual(['aegis.lock.2'])
      await lock.release()
    }
  })

  it('does not take over a live holder, nor one on another host', async () => {
    const me = await currentProcess()
    const parentStart = await processStartTime(process.ppid)
    for (const holder of [
      { pid: process.ppid, host: me.host, bootId: me.bootId, startTime: parentStart },
      { pid: deadPid(), host: 'some-other-host', bootId: 'x' }
    ]) {
      const dir = await tempDir()
      await plant(dir, holder)
      const err = await lockError(DirectoryLock.acquire(dir))
      expect(err.message).toContain(`pid ${holder.pid} on ${holder.host}`)
      expect(JSON.parse(await readFile(join(dir, 'aegis.lock.1'), 'utf8')).nonce).toBe('planted')
    }
  })

  it('two concurrent takers of one stale lock: exactly one wins (in-process, many rounds)', async () => {
    const seed = Number(process.env.SEED ?? 1)
    const prng = new Prng(seed)
    const me = await currentProcess()
    for (let round = 0; round < 150; round++) {
      const dir = await tempDir()
      await plant(dir, { pid: 999_999_999, host: me.host }) // judged gone by the callback below
      const takers = prng.int(2, 5)
      // made-up identities: only the planted holder counts as gone, every taker stays alive
      const results = await Promise.allSettled(Array.from({ length: takers }, async (_, k) =>
        await acquireAs(dir, { ...me, pid: 1_000_000 + k }, `taker ${k}`, async (h) => h.pid === 999_999_999)))
      const won = results.filter((r) => r.status === 'fulfilled')
      const refused = results.filter((r) => r.status === 'rejected')
      expect(won.length, `seed ${seed} round ${round}`).toBe(1)
      for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(DirectoryLockedError)
    }
  })

  it('two concurrent taker processes of a lock left by kill -9: exactly one wins (several rounds)', async () => {
    for (let round = 0; round < 4; round++) {
      const dir = await tempDir()
      const holder = child(dir)
      expect(await holder.result).toBe('won')
      await killed(holder.proc)
      const takers = [child(dir), child(dir), child(dir)]
      const results = await Promise.all(takers.map(async (t) => await t.result))
      expect(results.filter((r) => r === 'won'), `round ${round}: ${results.join()}`).toHaveLength(1)
      expect(results.filter((r) => r === 'locked')).toHaveLength(2)
      for (const t of takers) await killed(t.proc)
    }
  })
})
