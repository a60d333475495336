import { connectWorkerDoc } from 'aegis-replication/worker'

// Every tab: a local Doc the SharedWorker keeps in sync with the other tabs, IndexedDB and the hub.
const hub = location.origin.replace(/^http/, 'ws')
export const shared = connectWorkerDoc(new URL('./sync-worker.js', import.meta.url), 'board-42', {
  fallback: { url: hub } // no SharedWorker (some mobile browsers): one leader tab syncs for all
})
await shared.whenSynced // what the worker holds, IndexedDB's copy included, is here
shared.awareness.setLocalStateField('user', { name: 'Ada' })
shared.doc.map('tasks').set(crypto.randomUUID(), { title: 'Added in one tab, seen in all' })
shared.doc.on('change', () => console.log('tasks:', shared.doc.map('tasks').size))
await shared.flush() // the worker stored this tab's edit in IndexedDB
