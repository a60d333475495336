/**
 * BroadcastChannelProvider over Node's own BroadcastChannel (each provider
 * opens its own channel object, so providers in one process hear each
 * other as tabs would): convergence, a late joiner catching up, bad frames
 * dropped, presence shared and removed, the alone timer.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Doc, type Logger } from 'aegis-replication'
import { BroadcastChannelProvider, channelName } from 'aegis-replication/broadcast-channel'

let n = 0
/** A fresh room per test: channels of one name reach every test's providers. */
const freshRoom = (): string => `bc-unit-${process.pid}-${++n}`

const recordingLogger = (): Logger & { warnings: string[] } => {
  const warnings: string[] = []
  const noop = (): void => {}
  return { warnings, debug: noop, info: noop, error: noop, warn: (msg, fields) => { warnings.push(`${msg} ${JSON.stringify(fields)}`) } }
}

const open: BroadcastChannelProvider[] = []
const provider = (room: string, doc = new Doc(), opts: ConstructorParameters<typeof BroadcastChannelProvider>[2] = {}): BroadcastChannelProvider => {
  const p = new BroadcastChannelProvider(room, doc, opts)
  open.push(p)
  return p
}

afterEach(() => {
  for (const p of open.splice(0)) p.destroy()
})

describe('BroadcastChannelProvider', () => {
  it('two providers converge both ways, and a late joiner catches up', async () => {
    const room = freshRoom()
    const a = provider(room)
    const b = provider(room)
    a.doc.map('m').set('a', 1)
    b.doc.map('m').set('b', 2)
    b.doc.counter('c').increment(3)
    await Promise.all([a.whenSynced, b.whenSynced])
    await vi.waitFor(() => {
      expect(a.doc.toJSON()).toEqual({ m: { a: 1, b: 2 }, c: 3 })
      expect(b.doc.toJSON()).toEqual(a.doc.toJSON())
    })
    // a late joiner with an edit of its own
    const lateDoc = new Doc()
    lateDoc.set('s').add('late')
    const c = provider(room, lateDoc)
    await c.whenSynced
    await vi.waitFor(() => {
      for (const p of [a, b, c]) expect(p.doc.toJSON()).toEqual({ m: { a: 1, b: 2 }, c: 3, s: ['late'] })
    })
  })

  it('drops bad frames and non-byte messages, logs them, and keeps syncing', async () => {
    const room = freshRoom()
    const logger = recordingLogger()
    const a = provider(room, new Doc(), { logger })
    const b = provider(room)
    await Promise.all([a.whenSynced, b.whenSynced])
    const raw = new BroadcastChannel(channelName(room))
    try {
      raw.postMessage(new Uint8Array([0xff, 1, 2, 3])) // unknown version
      raw.postMessage(new Uint8Array([1, 4])) // truncated update
      raw.postMessage('hello') // not bytes
      b.doc.map('m').set('after', true)
      await vi.waitFor(() => expect(a.doc.toJSON()).toEqual({ m: { after: true } }))
      await vi.waitFor(() => expect(logger.warnings.length).toBe(3))
      expect(logger.warnings.filter(w => w.startsWith('dropped a bad frame'))).toHaveLength(2)
      expect(logger.warnings.filter(w => w.startsWith('dropped a channel message that is not bytes'))).toHaveLength(1)
      expect(a.doc.toJSON()).toEqual(b.doc.toJSON())
    } finally {
      raw.close()
    }
  })

  it('alone on the channel: synced after aloneAfterMs; with another tab: synced by its answer', async () => {
    const room = freshRoom()
    const a = provider(room, new Doc(), { aloneAfterMs: 10 })
    const events: boolean[] = []
    a.on('synced', s => events.push(s))
    await a.whenSynced
    expect(events).toEqual([true])
    // a long alone timer: only the answer can make it synced
    const b = provider(room, new Doc(), { aloneAfterMs: 60_000 })
    await b.whenSynced
    expect(b.synced).toBe(true)
    b.disconnect()
    expect(b.synced).toBe(false)
  })

  it('shares presence with a newcomer and removes it on destroy', async () => {
    const room = freshRoom()
    const a = provider(room)
    a.awareness.setLocalStateField('name', 'a')
    await a.whenSynced
    const b = provider(room)
    b.awareness.setLocalStateField('name', 'b')
    const names = (p: BroadcastChannelProvider): string[] =>
      [...p.awareness.getStates().values()].map(s => s.name).filter((x): x is string => typeof x === 'string').sort()
    await vi.waitFor(() => {
      expect(names(a)).toEqual(['a', 'b'])
      expect(names(b)).toEqual(['a', 'b'])
    })
    b.destroy()
    await vi.waitFor(() => expect(names(a)).toEqual(['a']))
    expect(a.awareness.getStates().has(b.awareness.clientID)).toBe(false)
  })

  it('destroy before synced rejects whenSynced with AbortError; destroying the doc destroys the provider', async () => {
    const room = freshRoom()
    const a = provider(room, new Doc(), { aloneAfterMs: 60_000 })
    a.destroy()
    await expect(a.whenSynced).rejects.toMatchObject({ name: 'AbortError' })
    const doc = new Doc()
    const b = provider(room, doc)
    doc.destroy()
    expect(b.connected).toBe(false)
  })
})
