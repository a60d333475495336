import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { nodeResolve } from '@rollup/plugin-node-resolve'
import typescript from '@rollup/plugin-typescript'
import { rollup } from 'rollup'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WriteAheadLog } from '../../../adapters/fs/index.js'
import { readAll, segmentFiles, tempDir, track } from './helpers.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const CHILD = fileURLToPath(new URL('./fixtures/crash-child.mjs', import.meta.url))
const ACKS_BEFORE_KILL = 200

/** Must match `payload` in fixtures/crash-child.mjs. */
const payload = (seq: number, j: number): string => `seq ${seq}.${j} ` + 'p'.repeat((seq * 7 + j) % 113)

let buildDir: string
let bundlePath: string

/**
 * Bundles adapters/fs with the part of the core it uses (TypeScript, whether
 * imported as 'aegis-replication' or by relative path) into one .mjs that a
 * plain `node` child can import.
 */
beforeAll(async () => {
  buildDir = await mkdtemp(join(tmpdir(), 'aegis-wal-build-'))
  bundlePath = join(buildDir, 'fs.mjs')
  const bundle = await rollup({
    input: join(ROOT, 'adapters/fs/index.ts'),
    external: (id) => id.startsWith('node:'),
    treeshake: { moduleSideEffects: false },
    onwarn: () => {},
    plugins: [
      { name: 'aegis-replication', resolveId: (id) => id === 'aegis-replication' ? join(ROOT, 'src/index.ts') : null },
      nodeResolve(),
      typescript({
        tsconfig: false,
        include: [join(ROOT, 'adapters/fs/*.ts'), join(ROOT, 'src/**/*.ts')],
        noEmitOnError: false,
        compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', types: ['node'], skipLibCheck: true, noCheck: true }
      })
    ]
  })
  try {
    await bundle.write({ file: bundlePath, format: 'es' })
  } finally {
    await bundle.close()
  }
})

afterAll(async () => { await rm(buildDir, { recursive: true, force: true }) })

interface Ack { last: number, seq: number, count: number }

/** Runs the child until it has acknowledged `acks` appends, then SIGKILLs it. */
const runAndKill = async (dir: string, acks: number, firstSeq: number): Promise<Ack[]> => await new Promise((resolve, reject) => {
  const child = spawn(process.execPath, [CHILD, bundlePath, dir, '4', String(firstSeq)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  let killed = false
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
    if (!killed && out.split('\n').length > acks) {
      killed = true
      child.kill('SIGKILL')
    }
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { err += chunk })
  child.on('error', reject)
  child.on('exit', (code, signal) => {
    if (signal !== 'SIGKILL') { reject(new Error(`the child exited early (code ${code}): ${err}`)); return }
    const lines = out.split('\n').slice(0, -1) // the last piece may be a cut line
    resolve(lines.map((line) => {
      const [last, seq, count] = line.split(' ').map(Number)
      return { last, seq, count }
    }))
  })
})

describe('crash safety', () => {
  it('every append acknowledged before a SIGKILL is there, intact, after reopening (3 crashes)', async () => {
    const dir = await tempDir()
    const acks: Ack[] = []
    for (let round = 0; round < 3; round++) { // later rounds recover what the earlier crash left
      const got = await runAndKill(dir, ACKS_BEFORE_KILL, round * 1_000_000)
      expect(got.length).toBeGreaterThanOrEqual(ACKS_BEFORE_KILL)
      acks.push(...got)
    }

    const log = track(await WriteAheadLog.open(dir, { segmentBytes: 4096 }))
    expect((await segmentFiles(dir)).length).toBeGreaterThan(1)
    const all = new Map(await readAll(log))
    expect(all.size).toBe(log.lastIndex)
    for (const { last, seq, count } of acks) {
      expect(last).toBeLessThanOrEqual(log.lastIndex)
      for (let j = 0; j < count; j++) expect(all.get(last - count + 1 + j)).toBe(payload(seq, j))
    }
    // records written but not yet acknowledged when the child died are whole too
    const seen = new Set<string>()
    for (const value of all.values()) {
      const m = /^seq (\d+)\.(\d+) /.exec(value)
      expect(m).not.toBeNull()
      expect(value).toBe(payload(Number(m?.[1]), Number(m?.[2])))
      expect(seen.has(value)).toBe(false)
      seen.add(value)
    }
    const next = log.lastIndex + 1
    expect(await log.append([new TextEncoder().encode('after the crash')])).toBe(next)
    await log.close()
    const again = track(await WriteAheadLog.open(dir, { segmentBytes: 4096 }))
    expect(await readAll(again, next)).toEqual([[next, 'after the crash']])
  })
})
