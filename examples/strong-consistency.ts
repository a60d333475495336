import { Doc } from 'aegis-replication'
import { WebSocketProvider } from 'aegis-replication/websocket'
import { createHub } from 'aegis-replication/hub'
import WebSocket from 'ws' // Node only
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// A hub with an id runs a Raft member (a group of one here; add `peers` for three).
const hub = await createHub({ port: 0, id: 'n1', dataDir: await mkdtemp(join(tmpdir(), 'aegis-kv-')) })

const ada = new WebSocketProvider(hub.url, 'board-42', new Doc(), { WebSocket })
const bob = new WebSocketProvider(hub.url, 'board-42', new Doc(), { WebSocket })
const name = (s: string) => new TextEncoder().encode(s)

// Both try to claim the board name at once: compare-and-set against "absent".
const [adaWon, bobWon] = await Promise.all([
  ada.kv.cas('board-name/roadmap', null, name('ada')),
  bob.kv.cas('board-name/roadmap', null, name('bob'))
])
const owner = new TextDecoder().decode((await bob.kv.get('board-name/roadmap'))!)
export const claim = { winners: [adaWon, bobWon].filter(Boolean).length, owner: owner === (adaWon ? 'ada' : 'bob') }
// { winners: 1, owner: true }: exactly one claim won, and every read sees the winner

ada.destroy(); bob.destroy()
await hub.close()
