/**
 * `aegis-hub`: runs a hub from the command line until SIGINT/SIGTERM, then
 * shuts down gracefully (every acknowledged update is already on disk; the
 * rest is flushed).
 *
 * @module
 */
import { parseArgs } from 'node:util'
import { createHub, type Hub } from './create-hub.js'

const USAGE = `aegis-hub: the aegis-replication hub (WebSocket relay + durable rooms)

usage: aegis-hub [--port 4444] [--host 127.0.0.1] [--data ./.aegis-data] [--idle-ms 30000]

  --port N       TCP port (0 picks a free one; the chosen port is logged)   default 4444
  --host ADDR    interface to listen on                                    default 127.0.0.1
  --data DIR     where rooms are stored, one write-ahead log per room      default ./.aegis-data
  --idle-ms N    unload a room N ms after its last client left             default 30000
  --no-fsync     do not fsync before acknowledging (throwaway hubs only)
  -h, --help     this text

GET /healthz answers {"status":"ok"}; GET /metrics the counters.
`

/** Parses `argv` (without node and the script), starts the hub; resolves with it, or undefined after --help. */
export const runHubCli = async (argv: string[], out: (line: string) => void = (l) => process.stdout.write(l)): Promise<Hub | undefined> => {
  const { values } = parseArgs({
    args: argv,
    options: {
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
  const int = (name: string, v: string | undefined, fallback: number): number => {
    if (v === undefined) return fallback
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number ≥ 0, got ${JSON.stringify(v)}`)
    return n
  }
  const hub = await createHub({
    port: int('port', values.port, 4444),
    host: values.host ?? '127.0.0.1',
    dataDir: values.data ?? './.aegis-data',
    idleMs: int('idle-ms', values['idle-ms'], 30_000),
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
