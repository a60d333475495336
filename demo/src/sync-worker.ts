/**
 * The board's SharedWorker: one doc per open board for every tab of the
 * origin, kept in IndexedDB (the same database the page uses in `'page'`
 * mode, so data carries over) and synced with the hub over one WebSocket.
 * The hub's URL comes in the script's query (`?hub=`): pages that use
 * the same hub share the same worker.
 *
 * @module
 */
import { exposeDoc } from 'aegis-replication/worker'
import { databaseName } from './connect-names.js'

const here = new URL(self.location.href)
const hub = here.searchParams.get('hub') ?? `${here.protocol === 'https:' ? 'wss' : 'ws'}://${here.host}`

exposeDoc({
  url: hub,
  persistenceName: room => databaseName(room.replace(/^board:/, '')),
  websocketOptions: { minBackoffMs: 250, maxBackoffMs: 5000 }
})
