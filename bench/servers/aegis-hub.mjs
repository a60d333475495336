// A hub in its own process for the sync benchmarks (forked with an IPC
// channel): replies { port } once listening and { memory } to 'mem'.
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHub } from '../../dist/hub.js'
import { silentLogger } from '../../dist/index.js'

const dataDir = await mkdtemp(join(tmpdir(), 'aegis-bench-hub-'))
// the bench's clients all come from 127.0.0.1: lift the per-IP and total limits (defaults: 100 connections per IP)
const limits = { maxConnectionsPerIp: 100000, maxConnections: 100000, messagesPerSecondPerIp: 1e9, bytesPerSecondPerIp: 1e12 }
const hub = await createHub({ port: 0, dataDir, logger: silentLogger, messagesPerSecond: 1e9, limits })
process.on('message', (m) => {
  if (m === 'mem') {
    globalThis.gc?.(); globalThis.gc?.()
    process.send({ memory: process.memoryUsage() })
  } else if (m === 'stop') {
    hub.close().then(() => process.exit(0))
  }
})
process.send({ port: hub.port, dataDir })
