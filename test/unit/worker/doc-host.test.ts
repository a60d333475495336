/**
 * The worker adapter's protocol paths in Node, over real MessageChannels:
 * DocHost (the worker's side) with PortSession pages, presence relayed and
 * removed, bad frames dropped, flush, idle close, persistence through
 * fake-indexeddb (global); LeaderElection hand-over with an in-memory lock manager.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import 'fake-indexeddb/auto'
import { Doc, silentLogger, type Logger } from 'aegis-replication'
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'aegis-replication/sync'
import { DocHost, LeaderElection, PortSession, type LockManagerLike } from 'aegis-replication/worker'

const recordingLogger = (): Logger & { warnings: string[] } => {
  const warnings: string[] = []
  const noop = (): void => {}
  return { warnings, debug: noop, info: noop, error: noop, warn: (msg) => { warnings.push(msg) } }
}

/** A Web Locks stand-in: exclusive locks granted in request order, released when the callback's promise settles. */
class MemoryLocks implements LockManagerLike {
  private readonly queues = new Map<string, Array<() => void>>()
  private readonly held = new Set<string>()
  request (name: string, options: { signal?: AbortSignal }, callback: () => unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        this.held.add(name)
        Promise.resolve().then(callback).then(resolve, reject).finally(() => {
          this.held.delete(name)
          this.queues.get(name)?.shift()?.()
        })
      }
      if (!this.held.has(name)) { grant(); return }
      const q = this.queues.get(name) ?? []
      q.push(grant)
      this.queues.set(name, q)
      options.signal?.addEventListener('abort', () => {
        const i = q.indexOf(grant)
        if (i >= 0) q.splice(i, 1)
        reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))
      })
    })
  }
}

interface Page { doc: Doc, session: PortSession, port: MessagePort, awareness: Awareness }

const hosts: DocHost[] = []
const pages: Page[] = []
afterEach(async () => {
  for (const p of pages.splice(0)) p.session.close()
  for (const h of hosts.splice(0)) await h.close()
})

const newHost = (opts: ConstructorParameters<typeof DocHost>[0] = {}, locks?: LockManagerLike): DocHost => {
  const h = new DocHost({ persistence: false, ...opts }, { locks })
  hosts.push(h)
  return h
}

/** A page: a local doc and awareness, synced with `room` of `host` over a fresh MessageChannel. */
const openPage = async (host: DocHost, room: string, pageLock?: string, doc = new Doc()): Promise<Page> => {
  const { port1, port2 } = new MessageChannel()
  const session = new PortSession(port1, room, doc)
  const awareness = new Awareness()
  session.session.on('awareness', u => applyAwarenessUpdate(awareness, u, 'worker'))
  awareness.on('update', ({ added, updated, removed }, origin) => {
    if (origin === 'local') session.session.sendAwareness(encodeAwarenessUpdate(awareness, added.concat(updated, removed)))
  })
  session.start()
  await host.open(room, port2, pageLock)
  const page = { doc, session, port: port1, awareness }
  pages.push(page)
  await vi.waitFor(() => expect(session.session.synced).toBe(true))
  return page
}

const names = (a: Awareness): string[] =>
  [...a.getStates().values()].map(s => s.name).filter((x): x is string => typeof x === 'string').sort()

describe('DocHost and PortSession', () => {
  it('pages of one room converge through the worker\'s doc; a later page catches up', async () => {
    const host = newHost()
    const a = await openPage(host, 'r')
    const b = await openPage(host, 'r')
    a.doc.map('m').set('a', 1)
    b.doc.counter('c').increment(2)
    await vi.waitFor(() => {
      expect(a.doc.toJSON()).toEqual({ m: { a: 1 }, c: 2 })
      expect(b.doc.toJSON()).toEqual(a.doc.toJSON())
      expect(host.doc('r')!.toJSON()).toEqual(a.doc.toJSON())
    })
    const c = await openPage(host, 'r')
    expect(c.doc.toJSON()).toEqual({ m: { a: 1 }, c: 2 })
    // another room is another doc
    const other = await openPage(host, 'other')
    expect(other.doc.toJSON()).toEqual({})
    expect(host.roomNames.sort()).toEqual(['other', 'r'])
    expect(host.status('r')).toMatchObject({ pages: 3, status: 'disconnected', json: { m: { a: 1 }, c: 2 } })
  })

  it('drops bad frames on the port, logs them, and keeps syncing', async () => {
    const logger = recordingLogger()
    const host = newHost({ logger })
    const a = await openPage(host, 'r')
    const b = await openPage(host, 'r')
    a.port.postMessage(new Uint8Array([9, 9, 9]))
    a.port.postMessage({ not: 'bytes' })
    a.doc.map('m').set('k', 'v')
    await vi.waitFor(() => expect(b.doc.toJSON()).toEqual({ m: { k: 'v' } }))
    expect(logger.warnings).toEqual(['dropped a bad frame from the port', 'dropped a port message that is not bytes'])
  })

  it('relays presence between pages and removes a page\'s presence when it leaves', async () => {
    const host = newHost()
    const a = await openPage(host, 'r', 'lock-a')
    const b = await openPage(host, 'r', 'lock-b')
    a.awareness.setLocalStateField('name', 'a')
    b.awareness.setLocalStateField('name', 'b')
    await vi.waitFor(() => {
      expect(names(a.awareness)).toEqual(['a', 'b'])
      expect(names(b.awareness)).toEqual(['a', 'b'])
    })
    // a newcomer gets the presence known so far
    const c = await openPage(host, 'r', 'lock-c')
    await vi.waitFor(() => expect(names(c.awareness)).toEqual(['a', 'b']))
    host.leave('r', 'lock-b')
    await vi.waitFor(() => {
      expect(names(a.awareness)).toEqual(['a'])
      expect(names(c.awareness)).toEqual(['a'])
    })
    expect(host.status('r').pages).toBe(2)
  })

  it('a released page lock ends the page\'s session', async () => {
    const locks = new MemoryLocks()
    const host = newHost({}, locks)
    let release!: () => void
    const granted = new Promise<void>(resolve => {
      void locks.request('page-1', {}, () => { resolve(); return new Promise<void>(r => { release = r }) })
    })
    await granted
    await openPage(host, 'r', 'page-1')
    expect(host.status('r').pages).toBe(1)
    release()
    await vi.waitFor(() => expect(host.status('r').pages).toBe(0))
  })

  it('flush waits until the page\'s changes are in the worker\'s doc; idle rooms close', async () => {
    const host = newHost({ idleMs: 10 })
    const a = await openPage(host, 'r', 'lock-a')
    for (let i = 0; i < 50; i++) a.doc.map('m').set(`k${i}`, i)
    await host.flush('r', a.doc.version().encode())
    expect(Object.keys(host.doc('r')!.toJSON().m as object)).toHaveLength(50)
    host.leave('r', 'lock-a')
    await vi.waitFor(() => expect(host.roomNames).toEqual([]))
  })

  it('persists each room in IndexedDB: a new host loads what an earlier one stored', async () => {
    const persistenceName = (room: string): string => `doc-host-test-${process.pid}-${room}`
    const first = newHost({ persistence: true, persistenceName })
    const a = await openPage(first, 'r')
    a.doc.map('m').set('kept', true)
    await first.flush('r', a.doc.version().encode())
    a.session.close()
    await first.close()
    const second = newHost({ persistence: true, persistenceName })
    const b = await openPage(second, 'r')
    expect(b.doc.toJSON()).toEqual({ m: { kept: true } })
  })
})

describe('LeaderElection', () => {
  it('one leader at a time; resigning hands over to the next candidate', async () => {
    const locks = new MemoryLocks()
    const log: string[] = []
    const a = new LeaderElection('aegis-leader:r', locks, l => log.push(`a ${l}`))
    const b = new LeaderElection('aegis-leader:r', locks, l => log.push(`b ${l}`))
    const c = new LeaderElection('aegis-leader:r', locks, l => log.push(`c ${l}`))
    await vi.waitFor(() => expect(log).toEqual(['a true']))
    expect([a.isLeader, b.isLeader, c.isLeader]).toEqual([true, false, false])
    c.resign() // a waiting candidate leaves: it never leads
    a.resign()
    await vi.waitFor(() => expect(log).toEqual(['a true', 'a false', 'b true']))
    expect([a.isLeader, b.isLeader, c.isLeader]).toEqual([false, true, false])
    b.resign()
    expect(log).toEqual(['a true', 'a false', 'b true', 'b false'])
  })
})

describe('DocHost KV pass-through', () => {
  it('runs a page\'s KV commands on the hubs\' Raft KV over the room\'s hub connection', async () => {
    const { createHub } = await import('aegis-replication/hub')
    const { encodeKvCommand, decodeKvResult } = await import('aegis-replication/raft')
    const { mkdtemp, rm } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const { WebSocket } = await import('ws')
    const dir = await mkdtemp(join(tmpdir(), 'aegis-worker-kv-'))
    const hub = await createHub({ port: 0, id: 'n1', dataDir: dir, fsync: false, logger: silentLogger })
    try {
      const host = newHost({ url: hub.url, websocketOptions: { WebSocket: WebSocket as never } })
      await openPage(host, 'r')
      const claim = encodeKvCommand({ type: 'cas', key: 'name/x', expected: null, next: new Uint8Array([1]) })
      expect(decodeKvResult(await host.kv('r', claim))).toMatchObject({ type: 'cas', ok: true })
      expect(decodeKvResult(await host.kv('r', claim))).toMatchObject({ type: 'cas', ok: false })
      await expect(host.kv('not-open', claim)).rejects.toThrow(/no hub connection/)
    } finally {
      await hub.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
