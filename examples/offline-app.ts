import { Doc } from 'aegis-replication'
import { WebSocketProvider } from 'aegis-replication/websocket'
import { IndexedDBPersistence } from 'aegis-replication/indexeddb'
import { createHub } from 'aegis-replication/hub'
import WebSocket from 'ws' // Node only: browsers have their own WebSocket
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const hub = await createHub({ port: 0, dataDir: await mkdtemp(join(tmpdir(), 'aegis-example-')) })

// Each device: a doc, kept in IndexedDB, synced through the hub.
const openBoard = async (name: string) => {
  const doc = new Doc()
  const local = new IndexedDBPersistence(`board-42-${name}`, doc)
  await local.whenSynced // what this device stored is back, with no network
  const provider = new WebSocketProvider(hub.url, 'board-42', doc, { WebSocket, token: 'demo', persistence: local })
  provider.awareness.setLocalStateField('user', { name })
  return { doc, local, provider }
}

const ada = await openBoard('ada')
const bob = await openBoard('bob')
ada.doc.map('tasks').set('t1', { title: 'Write the docs' })
bob.doc.map('tasks').map('t1-votes').counter('up').increment()

await Promise.all([ada.provider.whenSynced, bob.provider.whenSynced])
await new Promise<void>((resolve) => {
  const done = () => ada.provider.pending === 0 && bob.provider.pending === 0 &&
    JSON.stringify(ada.doc.toJSON()) === JSON.stringify(bob.doc.toJSON())
  const poll = () => (done() ? resolve() : setTimeout(poll, 10))
  poll()
})
export const board = bob.doc.toJSON() // { tasks: { t1: { title: 'Write the docs' }, 't1-votes': { up: 1 } } }

for (const d of [ada, bob]) { d.provider.destroy(); await d.local.destroy() }
await hub.close()
