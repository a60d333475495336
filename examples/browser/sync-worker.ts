import { exposeDoc } from 'aegis-replication/worker'

// sync-worker.ts, bundled as its own module: the SharedWorker every tab of the app shares.
// One Doc per room, stored in IndexedDB (`aegis:<room>`), synced with the hub over one socket.
exposeDoc({ url: location.origin.replace(/^http/, 'ws') })
