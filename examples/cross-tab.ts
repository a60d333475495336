import { Doc } from 'aegis-replication'
import { BroadcastChannelProvider } from 'aegis-replication/broadcast-channel'

// Two tabs of one browser (BroadcastChannel exists in pages, workers and Node ≥ 18).
const tab1 = new Doc()
const tab2 = new Doc()
tab1.map('tasks').set('t1', { title: 'Drafted offline in tab 1' })
const p1 = new BroadcastChannelProvider('board-42', tab1)
const p2 = new BroadcastChannelProvider('board-42', tab2) // a later tab catches up
p2.awareness.setLocalStateField('user', { name: 'Ada' })
await Promise.all([p1.whenSynced, p2.whenSynced])
await new Promise<void>((resolve) => {
  const poll = () => (tab2.map('tasks').has('t1') ? resolve() : setTimeout(poll, 5))
  poll()
})
export const seen = tab2.toJSON() // { tasks: { t1: { title: 'Drafted offline in tab 1' } } }
p1.destroy(); p2.destroy()
