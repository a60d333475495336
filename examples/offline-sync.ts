import { Doc } from 'aegis-replication'

// A replica edits while offline...
const laptop = new Doc({ replicaId: 'laptop' })
const phone = new Doc({ replicaId: 'phone' })
laptop.map('notes').set('n1', 'draft from the laptop')
phone.map('notes').set('n2', 'idea from the phone')
phone.set('tags').add('offline')

// ...and on reconnect each side sends its state vector and gets back
// exactly what it lacks.
const toPhone = laptop.encodeStateAsUpdate(phone.encodeStateVector())
const toLaptop = phone.encodeStateAsUpdate(laptop.encodeStateVector())
phone.applyUpdate(toPhone)
laptop.applyUpdate(toLaptop)

export const converged = JSON.stringify(laptop.toJSON()) === JSON.stringify(phone.toJSON())
export const notes = laptop.map('notes').toJSON()
// { n1: 'draft from the laptop', n2: 'idea from the phone' }
