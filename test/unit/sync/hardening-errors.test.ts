/** Issue 9, finding 1 (the cause): an unexpected error in one room never becomes an unhandled rejection, and the other rooms keep serving. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Doc } from '../../../src/doc/index.js'
import { ErrorCode, HubRoom, MessageType } from '../../../src/sync/index.js'
import { MemoryStore, setupHub, settle } from './hardening-setup.js'

let rejections: unknown[] = []
const onRejection = (err: unknown): void => { rejections.push(err) }
beforeEach(() => { rejections = []; process.on('unhandledRejection', onRejection) })
afterEach(() => { process.off('unhandledRejection', onRejection) })
const turn = async (): Promise<void> => { await settle(); await new Promise(resolve => setImmediate(resolve)); await new Promise(resolve => setImmediate(resolve)) }

const edit = (key: string): Uint8Array => {
  const d = new Doc({ replicaId: `w-${key}` })
  d.map('m').set(key, 1)
  return d.encodeStateAsUpdate()
}

describe('errors inside a room (finding 1)', () => {
  it('a throwing doc closes the connection that caused it (4500) and logs; other rooms keep serving', async () => {
    const { connect, rooms, logs } = setupHub({
      roomFor: (name, logger) => {
        const doc = new Doc({ replicaId: 'hub' })
        if (name === 'bad') {
          doc.applyUpdate = () => { throw new TypeError('a bug in the doc') }
          doc.encodeStateAsUpdate = () => { throw new TypeError('a bug in the doc') }
        }
        const store = new MemoryStore()
        if (name === 'store') store.append = () => { throw new Error('disk on fire') }
        return new HubRoom(name, doc, store, { logger })
      }
    })
    const x = connect(); const y = connect(); const z = connect(); const w = connect()
    x.join('bad'); y.join('good'); z.join('store'); w.join('bad')
    await turn()
    // the join's own answer failed: logged, the room still stands
    expect(logs.some(l => l.level === 'error')).toBe(true)
    x.send({ type: MessageType.Update, room: 'bad', seq: 1, update: edit('x') })
    x.send({ type: MessageType.SyncStep1, room: 'bad', stateVector: new Doc().encodeStateVector() })
    w.send({ type: MessageType.SyncStep1, room: 'bad', stateVector: new Doc().encodeStateVector() })
    z.send({ type: MessageType.Update, room: 'store', seq: 1, update: edit('z') })
    await turn()
    expect(x.closed).toEqual([{ code: ErrorCode.Internal, reason: expect.any(String) }])
    expect(z.errors()).toContainEqual({ room: 'store', code: ErrorCode.Internal })
    expect(rooms.get('store')!.failure?.message).toBe('disk on fire')
    expect(rooms.get('good')!.failure).toBeUndefined()
    expect(w.closed).toEqual([]) // a failed answer to a bystander is logged, not blamed on it
    y.send({ type: MessageType.Update, room: 'good', seq: 1, update: edit('y') })
    await turn()
    expect(y.received.some(m => m.type === MessageType.Ack && m.room === 'good' && m.to === 1)).toBe(true)
    expect(rejections).toEqual([])
    expect(logs.filter(l => l.level === 'error').length).toBeGreaterThanOrEqual(3)
  })
})
