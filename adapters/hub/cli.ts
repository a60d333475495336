/**
 * `aegis-hub`: runs a hub from the command line until SIGINT/SIGTERM, then
 * shuts down gracefully (every acknowledged update is already on disk; the
 * rest is flushed).
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { InvalidArgumentError } from 'aegis-replication'
import { DEFAULT_CONFIG, parseConfig, type HubConfig } from 'aegis-replication/config'
import { createHub, type Hub } from './create-hub.js'

const USAGE = `aegis-hub: the aegis-replication hub (WebSocket relay + durable rooms)

usage: aegis-hub [--port 4444] [--host 127.0.0.1] [--data ./.aegis-data] [--idle-ms 30000] [--config replication.toml]

  --port N       TCP port (0 picks a free one; the chosen port is logged)   default 4444
  --host ADDR    interface to listen on                                    default 127.0.0.1
  --data DIR     where rooms are stored, one write-ahead log per room      default ./.aegis-data
  --idle-ms N    unload a room N ms after its last client left             default 30000
  --config FILE  a TOML config file: the hub takes its [hub] section (port,
                 host, data_dir, idle_ms; a relative data_dir is relative to
                 the current directory, as with --data) and checks the whole
                 file. Flags given here override it
  --no-fsync     do not fsync before acknowledging (throwaway hubs only)
  -h, --help     this text

GET /healthz answers {"status":"ok"}; GET /metrics the counters.
`

/** The `[hub]` section of a config file; any problem with the file is an error that names it. */
const readHubConfig = async (file: string): Promise<HubConfig> => {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new Error(`cannot read the config file ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
  try {
    return parseConfig(text).hub
  } catch (err) {
    if (err instanceof Error && err.name === InvalidArgumentError.name) throw new InvalidArgumentError(`config file ${file}: ${err.message}`)
    throw err
  }
}

/** Parses `argv` (without node and the script), starts the hub; resolves with it, or undefined after --help. */
export const runHubCli = async (argv: string[], out: (line: string) => void = (l) => process.stdout.write(l)): Promise<Hub | undefined> => {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      'idle-ms': { type: 'string' },
      'no-fsync': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    },
    strict: true
  })
  if (values.help === true) { out(USAGE); return undefined }
  const int = (name: string, v: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (v === undefined) return fallback
    const n = Number(v)
    const range = max === Number.MAX_SAFE_INTEGER ? '≥ 0' : `from 0 to ${max}`
    if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`--${name} must be a whole number ${range}, got ${JSON.stringify(v)}`)
    return n
  }
  // flags override the config file, which overrides the defaults
  const file = values.config === undefined ? DEFAULT_CONFIG.hub : await readHubConfig(values.config)
  const hub = await createHub({
    port: int('port', values.port, file.port, 65_535),
    host: values.host ?? file.host,
    dataDir: values.data ?? file.dataDir,
    idleMs: int('idle-ms', values['idle-ms'], file.idleMs),
    fsync: values['no-fsync'] !== true
  })
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    out(`aegis-hub: ${signal}, shutting down\n`)
    hub.close().then(() => process.exit(0), (err) => { process.stderr.write(`aegis-hub: shutdown failed: ${String(err)}\n`); process.exit(1) })
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
  return hub
}
