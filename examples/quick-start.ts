import { Doc } from 'aegis-replication'

// Two replicas of one document, e.g. two browser tabs or a phone and a laptop.
const alice = new Doc({ replicaId: 'alice' })
const bob = new Doc({ replicaId: 'bob' })

// Wire them up: every change goes out as a small binary update.
alice.on('update', (update) => bob.applyUpdate(update))
bob.on('update', (update) => alice.applyUpdate(update))

const tasks = alice.map('tasks')
alice.transact(() => {
  tasks.map('t1').set('title', 'Write the docs')
  tasks.map('t1').counter('votes').increment()
  tasks.map('t1').orSet('tags').add('docs')
})
bob.map('tasks').map('t1').counter('votes').increment(2)
bob.register('title').set('Team board')

export const result = alice.toJSON()
// { tasks: { t1: { tags: ['docs'], title: 'Write the docs', votes: 3 } }, title: 'Team board' }
