#!/usr/bin/env node
// `npm start [-- --port N --data DIR]`: builds what is stale (the hub and the
// demo app, with esbuild from the sources: about a second each), starts a hub
// on 127.0.0.1 with its rooms in DIR, serves the demo on the same port, and
// prints the URL. Ctrl-C stops the hub cleanly.
import { createServer } from 'node:net'
import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { demoDir, ensureBuilt, hubEntry } from '../demo/build.mjs'
import { demoHandler } from '../demo/serve.mjs'

const HELP = `npm start [-- options]: the aegis-replication demo (a shared, offline-first task board) on a local hub

  --port N     port for the hub and the app (default 4444; 0 picks a free one)
  --data DIR   where the hub stores its rooms (default ./.aegis-data)
  --host H     interface to listen on (default 127.0.0.1; service workers and
               Web Locks need 127.0.0.1, localhost or https)
  --rebuild    build the hub and the demo even if they look up to date
  --quiet      print only the URL and errors
  -h, --help   this text
`

const fail = (msg) => {
  process.stderr.write(`npm start: ${msg}\n`)
  process.exit(1)
}

let args
try {
  args = parseArgs({
    args: process.argv.slice(2),
    options: {
      port: { type: 'string', short: 'p' },
      data: { type: 'string', short: 'd' },
      host: { type: 'string' },
      rebuild: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' }
    }
  }).values
} catch (err) {
  fail(`${err.message}\n\n${HELP}`)
}
if (args.help) {
  process.stdout.write(HELP)
  process.exit(0)
}
const port = Number(args.port ?? 4444)
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port wants a number from 0 to 65535, got ${JSON.stringify(args.port)}`)
const host = args.host ?? '127.0.0.1'
const dataDir = resolve(args.data ?? '.aegis-data')
const quiet = args.quiet === true
const say = (line) => { if (!quiet) process.stdout.write(`${line}\n`) }

// one line per hub event, readable: "12:03:04 room loaded  room=board:main records=12"
const at = (stream) => (msg, fields = {}) => {
  const time = new Date().toTimeString().slice(0, 8)
  const rest = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')
  stream.write(`${time} ${msg}${rest === '' ? '' : `  ${rest}`}\n`)
}
const logger = {
  debug: () => {},
  info: quiet ? () => {} : at(process.stdout),
  warn: at(process.stderr),
  error: at(process.stderr)
}

try {
  await ensureBuilt({ force: args.rebuild === true, out: quiet ? { write: () => true } : process.stdout })
} catch (err) {
  fail(`the build failed:\n${err.stack ?? err.message ?? err}`)
}

// a taken port is the usual first-run problem: say so plainly (the hub's own
// listen error surfaces as an unhandled 'error' event of its WebSocketServer)
const listenError = (p, h) => new Promise(resolve => {
  const probe = createServer()
  probe.once('error', err => resolve(err))
  probe.listen(p, h, () => probe.close(() => resolve(undefined)))
})
const taken = port === 0 ? undefined : await listenError(port, host)
if (taken?.code === 'EADDRINUSE') fail(`port ${port} on ${host} is taken (another npm start?): try npm start -- --port ${port + 1}`)
if (taken !== undefined) fail(`cannot listen on ${host}:${port}: ${taken.message}`)

const { createHub } = await import(pathToFileURL(hubEntry).href)
say(`• starting the hub (rooms in ${dataDir})`)
let hub
try {
  // id: the hub runs a Raft group (of one), whose KV the demo uses to reserve unique board names
  hub = await createHub({ port, host, dataDir, id: 'demo-hub', http: demoHandler(demoDir), logger })
} catch (err) {
  if (err.code === 'EADDRINUSE') fail(`port ${port} on ${host} is taken (another npm start?): try npm start -- --port ${port + 1}`)
  fail(err.message)
}

const web = `http://${host.includes(':') ? `[${host}]` : host}:${hub.port}/`
process.stdout.write(`
  Aegis board    ${web}
                 open it in two windows (or two browsers) to see them sync;
                 ${web}?board=<name> opens another board
  hub            ${hub.url}   rooms in ${dataDir}${hub.metrics().raft === undefined ? '' : `
  raft           a group of one (id ${hub.metrics().raft.id}): the KV behind unique board names`}
  Ctrl-C stops it

`)

let stopping = false
const stop = async (signal) => {
  if (stopping) {
    process.stderr.write('stopping already; exiting now\n')
    process.exit(1)
  }
  stopping = true
  say(`\n• ${signal}: stopping the hub (flushing rooms)…`)
  try {
    await hub.close()
    say('✓ stopped')
    process.exit(0)
  } catch (err) {
    process.stderr.write(`could not stop cleanly: ${err.message}\n`)
    process.exit(1)
  }
}
process.on('SIGINT', () => { void stop('SIGINT') })
process.on('SIGTERM', () => { void stop('SIGTERM') })
