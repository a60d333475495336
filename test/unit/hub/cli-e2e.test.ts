/**
 * `aegis-hub` as a process (`node bin/aegis-hub.mjs`, which runs dist/:
 * build it first with `npx rollup -c`) with `--auth-jwt-secret-file`:
 * a WebSocketProvider with a valid token syncs through it, one whose
 * token names another room is denied (4403), an expired one is told
 * TokenExpired (4401). Also `--version`, and the refusal to listen on a
 * non-loopback interface without auth.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { SignJWT } from 'jose'
import { Doc } from 'aegis-replication'
import { ErrorCode } from 'aegis-replication/sync'
import { WebSocketProvider, type RoomError } from 'aegis-replication/websocket'
import { until } from '../../support/net.js'
import { spawnListeningHub } from '../../support/hub-process.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..')
const bin = join(root, 'bin/aegis-hub.mjs')
const dist = join(root, 'dist/hub.js')
const SECRET = 'e2e-secret-of-at-least-32-bytes-long!!'

const children: ChildProcess[] = []
const providers: WebSocketProvider[] = []
const dirs: string[] = []
afterEach(async () => {
  for (const p of providers.splice(0)) p.destroy()
  for (const c of children.splice(0)) {
    if (c.exitCode === null) {
      c.kill('SIGTERM')
      await new Promise(resolve => c.once('exit', resolve))
    }
  }
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

const tempDir = async (): Promise<string> => {
  const d = await mkdtemp(join(tmpdir(), 'aegis-cli-e2e-'))
  dirs.push(d)
  return d
}

/** Runs `aegis-hub args`; resolves with its output and exit code once it exits. */
const runToExit = async (args: string[], env: Record<string, string> = {}): Promise<{ code: number | null, out: string, err: string }> => {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, ...env } })
  children.push(child)
  let out = ''
  let err = ''
  child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  return { code, out, err }
}

/** Starts `aegis-hub args` on a free port; resolves with its URL once it listens. */
const spawnHub = async (args: string[]): Promise<string> =>
  (await spawnListeningHub(['--port', '0', '--host', '127.0.0.1', ...args], children, { PATH: process.env.PATH })).url

const token = async (claims: Record<string, unknown>, exp: number | string = '10m'): Promise<string> =>
  await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp).sign(new TextEncoder().encode(SECRET))

const provider = (url: string, room: string, doc: Doc, t: string): { p: WebSocketProvider, errors: RoomError[] } => {
  const p = new WebSocketProvider(url, room, doc, { WebSocket: WebSocket as never, token: t })
  providers.push(p)
  const errors: RoomError[] = []
  p.on('error', (e) => { errors.push(e) })
  return { p, errors }
}

describe('aegis-hub with --auth-jwt-secret-file', () => {
  it('a valid token syncs, a token for another room is denied, an expired one is told so', async () => {
    if (!existsSync(dist)) throw new Error('dist/hub.js is missing: run `npx rollup -c` (npm test builds it)')
    const secretFile = join(await tempDir(), 'jwt-secret')
    await writeFile(secretFile, `${SECRET}\n`, { mode: 0o600 })
    const url = await spawnHub(['--data', await tempDir(), '--auth-jwt-secret-file', secretFile])

    const a = new Doc()
    const writer = provider(url, 'board:1', a, await token({ rooms: { 'board:*': 'write' } }))
    a.map('m').set('hello', 'world')
    await until(() => writer.p.synced && writer.p.pending === 0, 'the writer\'s update acknowledged', 30_000)

    const b = new Doc()
    const reader = provider(url, 'board:1', b, await token({ room: 'board:1', access: 'read' }))
    await until(() => b.map('m').get('hello') === 'world', 'the reader to receive the update', 30_000)

    const c = new Doc()
    const stranger = provider(url, 'board:1', c, await token({ rooms: { 'board:2': 'write' } }))
    await until(() => stranger.errors.length > 0, 'the wrong-room token to be denied', 30_000)
    expect(stranger.errors[0].code).toBe(ErrorCode.Denied)
    expect(c.map('m').get('hello')).toBeUndefined()

    const late = provider(url, 'board:1', new Doc(), await token({ rooms: { 'board:*': 'write' } }, Math.floor(Date.now() / 1000) - 60))
    await until(() => late.errors.length > 0, 'the expired token to be refused', 30_000)
    expect(late.errors[0].code).toBe(ErrorCode.TokenExpired)
    expect(writer.errors).toEqual([])
    expect(reader.errors).toEqual([])
  })

  it('--version prints the package version; a non-loopback host without auth exits 1 and says why', async () => {
    if (!existsSync(dist)) throw new Error('dist/hub.js is missing: run `npx rollup -c` (npm test builds it)')
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
    expect(await runToExit(['--version'])).toMatchObject({ code: 0, out: `${version}\n` })
    const refused = await runToExit(['--host', '0.0.0.0', '--port', '0', '--data', await tempDir()])
    expect(refused.code).toBe(1)
    expect(refused.err).toMatch(/^aegis-hub: aegis-hub would listen on 0\.0\.0\.0, which is not a loopback address, with no auth/)
  })
})
