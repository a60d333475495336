/**
 * `aegis-hub --config FILE`: the hub takes the file's [hub] section, flags
 * override it, and a bad or missing file is a clear error (which the
 * `aegis-hub` binary prints before exiting with 1).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest'
import { InvalidArgumentError } from 'aegis-replication'
import { runHubCli, type Hub } from 'aegis-replication/hub'

const dirs: string[] = []
const hubs: Hub[] = []
let stdout: MockInstance<typeof process.stdout.write>
let signalListeners: Map<NodeJS.Signals, Function[]>

const logged = (): Array<Record<string, unknown>> => stdout.mock.calls
  .map(([chunk]) => String(chunk))
  .flatMap(s => s.split('\n'))
  .filter(line => line.startsWith('{'))
  .map(line => JSON.parse(line) as Record<string, unknown>)

beforeEach(() => {
  // the hub logs JSON lines to stdout: keep them to read `dataDir` back
  stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
  signalListeners = new Map((['SIGINT', 'SIGTERM'] as const).map(s => [s, process.listeners(s)]))
})

afterEach(async () => {
  for (const h of hubs.splice(0)) await h.close()
  stdout.mockRestore()
  // runHubCli installs SIGINT/SIGTERM handlers for its hub: remove the ones these tests added
  for (const [signal, before] of signalListeners) {
    for (const l of process.listeners(signal)) if (!before.includes(l)) process.removeListener(signal, l as NodeJS.SignalsListener)
  }
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

const tempDir = async (): Promise<string> => {
  const d = await mkdtemp(join(tmpdir(), 'aegis-config-'))
  dirs.push(d)
  return d
}

/** A config file in a fresh temp dir whose [hub] stores rooms in `<dir>/rooms`. */
const configFile = async (extra = ''): Promise<{ file: string, dir: string, dataDir: string }> => {
  const dir = await tempDir()
  const dataDir = join(dir, 'rooms')
  const file = join(dir, 'replication.toml')
  await writeFile(file, `[replication]\nreplication_factor = 3\n[hub]\nport = 4444\nhost = "127.0.0.1"\ndata_dir = '${dataDir}'\nidle_ms = 1000\n${extra}`)
  return { file, dir, dataDir }
}

const start = async (argv: string[]): Promise<Hub> => {
  const hub = await runHubCli(argv, () => {})
  if (hub === undefined) throw new Error('no hub started')
  hubs.push(hub)
  return hub
}

describe('aegis-hub --config', () => {
  it('starts a hub with the file\'s data dir and host; --port 0 overrides the file\'s port', async () => {
    const { file, dataDir } = await configFile()
    const hub = await start(['--config', file, '--port', '0'])
    expect(hub.port).toBeGreaterThan(0)
    expect(hub.port).not.toBe(4444)
    expect(hub.url).toBe(`ws://127.0.0.1:${hub.port}`)
    const listening = logged().find(l => l.msg === 'hub listening')
    expect(listening).toMatchObject({ url: hub.url, dataDir })
  })

  it('--data and --host override the file', async () => {
    const { file } = await configFile()
    const other = await tempDir()
    const hub = await start(['--config', file, '--port', '0', '--data', other, '--host', 'localhost'])
    expect(hub.url).toBe(`ws://localhost:${hub.port}`)
    expect(logged().find(l => l.msg === 'hub listening')).toMatchObject({ dataDir: other })
  })

  it('a file with an error rejects with InvalidArgumentError naming the file, the line and the key', async () => {
    const { file } = await configFile('[sharding]\nshard_cnt = 4\n')
    const error = await runHubCli(['--config', file, '--port', '0'], () => {}).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(InvalidArgumentError)
    expect((error as Error).message).toBe(`config file ${file}: line 9: unknown key sharding.shard_cnt (did you mean shard_count?)`)
  })

  it('a bad value outside [hub] is an error too: the whole file is checked', async () => {
    const { file } = await configFile('[raft]\nelection_timeout_min = 300\nelection_timeout_max = 200\n')
    await expect(runHubCli(['--config', file], () => {})).rejects.toThrow(
      `config file ${file}: line 9: raft.election_timeout_min must be less than election_timeout_max (got 300 ≥ 200)`)
  })

  it('a missing file is an error that names it', async () => {
    const missing = join(await tempDir(), 'nope.toml')
    await expect(runHubCli(['--config', missing], () => {})).rejects.toThrow(`cannot read the config file ${missing}: ENOENT`)
  })

  it('--port out of range is an error', async () => {
    await expect(runHubCli(['--port', '70000'], () => {})).rejects.toThrow('--port must be a whole number from 0 to 65535, got "70000"')
  })

  it('--help mentions --config', async () => {
    let text = ''
    expect(await runHubCli(['--help'], (s) => { text += s })).toBeUndefined()
    expect(text).toContain('--config FILE')
    expect(text).toContain('[--config replication.toml]')
  })
})
