import { createHub } from 'aegis-replication/hub'

const hub = await createHub({
  port: 0, // 0 picks a free port; hub.url tells which (the CLI defaults to 4444)
  host: '127.0.0.1',
  dataDir: './.aegis-data/example',
  // per room: 'write', 'read' (updates refused with 4405) or 'deny' (4403); may be async
  auth: (token, room) => token === 'team-secret' && room.startsWith('board:') ? 'write' : 'read'
})
export const url = hub.url // e.g. ws://127.0.0.1:4444
await hub.close() // what SIGINT and SIGTERM do in the CLI
