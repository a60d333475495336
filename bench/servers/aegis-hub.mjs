// A hub in its own process for the sync benchmarks (forked with an IPC
// channel): replies { port } once listening and { memory } to 'mem'.
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHub } from '../../dist/hub.js'
import { silentLogger } from '../../dist/index.js'

const dataDir = await mkdtemp(join(tmpdir(), 'aegis-bench-hub-'))
// every bench client comes from 127.0.0.1: lift the per-connection and per-IP limits the benches would hit
const hub = await createHub({
  port: 0,
  dataDir,
  logger: silentLogger,
  limits: { maxConnections: 1e6, maxConnectionsPerIp: 1e6, messagesPerSecond: 1e9, messagesPerSecondPerIp: 1e9, bytesPerSecond: 1e12, bytesPerSecondPerIp: 1e12 }
})
process.on('message', (m) => {
  if (m === 'mem') {
    globalThis.gc?.(); globalThis.gc?.()
    process.send({ memory: process.memoryUsage() })
  } else if (m === 'stop') {
    hub.close().then(() => process.exit(0))
  }
})
process.send({ port: hub.port, dataDir })
