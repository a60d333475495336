// y-websocket's server (@y/websocket-server) in its own process for the sync
// benchmarks: replies { port } once listening and { memory } to 'mem'.
import { createServer } from 'node:http'
import { WebSocketServer } from 'ws'
import { setupWSConnection } from '@y/websocket-server/utils'

const server = createServer()
const wss = new WebSocketServer({ server })
wss.on('connection', (conn, req) => setupWSConnection(conn, req))
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))
process.on('message', (m) => {
  if (m === 'mem') {
    globalThis.gc?.(); globalThis.gc?.()
    process.send({ memory: process.memoryUsage() })
  } else if (m === 'stop') {
    process.exit(0)
  }
})
