/**
 * The demo app: a shared task board that works offline. Opens the board
 * named in `?board=` (default `main`) on the hub that served the page
 * (or `?hub=ws://…`), renders it, and keeps it rendered as the doc,
 * presence and the link change.
 *
 * @module
 */
import { Board } from './board.js'
import { type BoardConnection, connectBoard } from './connect.js'
import { loadUser, Presence } from './presence.js'
import { hubHasRaft, reserveBoardName } from './reserve.js'
import { TaskList, h } from './task-list.js'
import { crossBoardTransactions } from './transactions.js'

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`the page has no #${id}`)
  return el as T
}

const params = new URLSearchParams(location.search)
const boardId = ((): string => {
  const b = params.get('board') ?? 'main'
  return /^[a-z0-9][a-z0-9-]{0,39}$/.test(b) ? b : 'main'
})()
/** `?via=page` skips the SharedWorker; `?webrtc=0` turns peer-to-peer off. */
const via = ((): 'auto' | 'worker' | 'page' => {
  const v = params.get('via')
  return v === 'worker' || v === 'page' ? v : 'auto'
})()
const webrtc = params.get('webrtc') !== '0'
/**
 * The hub: the one that served the page, or `?hub=ws://host:port` on the
 * same host (another port: a second hub, or a proxy in the tests), so a
 * link cannot send a board to someone else's server.
 */
const hubUrl = ((): string => {
  const hub = params.get('hub')
  if (hub !== null && /^wss?:\/\/[^/?#]+\/?$/.test(hub) && new URL(hub).hostname === location.hostname) return hub
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`
})()

/** The online / syncing / offline line and the pending count. */
const renderLink = (c: BoardConnection): void => {
  const state = c.status !== 'connected' ? 'offline' : c.synced && c.pending === 0 ? 'online' : 'syncing'
  const link = $('link')
  link.dataset.state = state
  $('link-text').textContent = state === 'online'
    ? 'Online · saved on the hub'
    : state === 'syncing'
      ? 'Syncing…'
      : 'Offline · saved on this device'
  const peers = $('direct-peers')
  peers.dataset.count = String(c.peers ?? 0)
  peers.hidden = c.peers === undefined || c.peers === 0
  peers.textContent = `${c.peers ?? 0} ${c.peers === 1 ? 'peer' : 'peers'} direct`
  const pending = $('pending')
  pending.dataset.count = String(c.pending)
  pending.hidden = c.pending === 0
  pending.textContent = `${c.pending} ${c.pending === 1 ? 'change' : 'changes'} not on the hub yet`
}

/** Why the reservation cannot be made here, if it cannot. */
let reserveBlocked: string | undefined

const renderReserve = (board: Board): void => {
  const button = $<HTMLButtonElement>('reserve-button')
  const input = $<HTMLInputElement>('reserve-name')
  const result = $('reserve-result')
  if (reserveBlocked !== undefined) {
    button.disabled = true
    input.disabled = true
    result.dataset.outcome = 'unavailable'
    result.textContent = reserveBlocked
  }
  const reserved = board.reservedName
  const line = $('reserved')
  line.hidden = reserved === undefined
  line.textContent = reserved === undefined ? '' : `Reserved name: ${reserved}`
}

const wireReserve = (c: BoardConnection, board: Board): void => {
  const form = $<HTMLFormElement>('reserve-form')
  const input = $<HTMLInputElement>('reserve-name')
  const button = $<HTMLButtonElement>('reserve-button')
  const result = $('reserve-result')
  form.addEventListener('submit', e => {
    e.preventDefault()
    const kv = c.kv
    if (kv === undefined) return
    button.disabled = true
    result.dataset.outcome = 'working'
    result.textContent = c.status === 'connected' ? 'Asking the hub…' : 'Waiting for the hub (you are offline)…'
    reserveBoardName(kv, input.value, boardId).then(r => {
      if (r.ok) {
        board.setReservedName(r.name)
        result.dataset.outcome = 'won'
        result.textContent = `“${r.name}” is yours.`
      } else if (r.reason === 'taken') {
        result.dataset.outcome = 'lost'
        result.textContent = `“${r.name}” is taken${r.holder === undefined ? '' : ` by board ${r.holder}`}: the hub's log ordered the other claim first.`
      } else {
        result.dataset.outcome = 'error'
        result.textContent = `Not a valid name: ${r.message}.`
      }
    }, (err: unknown) => {
      result.dataset.outcome = 'error'
      result.textContent = `The hub could not decide (${(err as Error).name}: ${(err as Error).message}). Try again.`
    }).finally(() => { button.disabled = reserveBlocked !== undefined })
  })
}

/** Registers the service worker that caches the app for offline starts. */
const registerServiceWorker = (): void => {
  const offline = $('offline-ready')
  if (!('serviceWorker' in navigator)) {
    offline.textContent = 'no offline start in this browser'
    return
  }
  navigator.serviceWorker.register('./sw.js').then(
    reg => {
      const ready = (): void => { offline.textContent = 'works offline'; document.documentElement.dataset.offlineReady = 'true' }
      if (reg.active !== null) ready()
      else void navigator.serviceWorker.ready.then(ready)
    },
    (err: unknown) => { offline.textContent = `no offline start: ${(err as Error).message}` }
  )
}

const start = async (): Promise<void> => {
  registerServiceWorker()
  $('board-id').textContent = `board “${boardId}”`
  const c = await connectBoard(boardId, { hubUrl, via, webrtc })
  document.documentElement.dataset.via = c.via
  const board = new Board(c.doc)
  const presence = new Presence(c.awareness, loadUser())
  const tasks = new TaskList($<HTMLOListElement>('tasks'), board, presence)

  const title = $<HTMLInputElement>('board-title')
  title.addEventListener('change', () => board.setTitle(title.value))
  title.addEventListener('keydown', e => { if (e.key === 'Enter') title.blur() })
  const name = $<HTMLInputElement>('my-name')
  name.value = presence.me.name
  name.addEventListener('change', () => { presence.setName(name.value); name.value = presence.me.name })
  const form = $<HTMLFormElement>('add-task')
  const newTask = $<HTMLInputElement>('new-task')
  form.addEventListener('submit', e => {
    e.preventDefault()
    if (board.addTask(newTask.value) !== undefined) newTask.value = ''
    newTask.focus()
  })
  wireReserve(c, board)
  if (c.kv === undefined) reserveBlocked = 'Unavailable: this version of the hub client has no Raft KV.'
  else {
    void hubHasRaft(hubUrl).then(has => {
      if (has !== 'no') return
      reserveBlocked = 'Unavailable: this hub runs no Raft group (start it with an id, e.g. aegis-hub --id n1; npm start does).'
      render()
    })
  }
  if (crossBoardTransactions) { /* a "Move to board…" action per task goes here (see transactions.ts) */ }

  // one render per frame, whatever arrived in it (hidden tabs get no frames: a timer then)
  let queued = false
  const nextFrame = (f: () => void): void => { if (document.hidden) setTimeout(f, 100); else requestAnimationFrame(f) }
  const render = (): void => {
    if (queued) return
    queued = true
    nextFrame(() => {
      queued = false
      // cut off from everyone, others' presence is only what was last heard: shown dimmed
      const online = c.status === 'connected' || (c.peers ?? 0) > 0
      tasks.render(online)
      if (document.activeElement !== title) title.value = board.title
      document.title = board.title === '' ? 'Aegis board' : `${board.title} · Aegis board`
      $('my-colour').style.background = presence.me.color
      const peers = $('peers')
      peers.dataset.stale = String(!online)
      peers.setAttribute('aria-label', online ? 'Also here' : 'Last seen here (you are offline)')
      peers.title = online ? '' : 'Last seen here: you are offline'
      peers.replaceChildren(...presence.peers().map(p =>
        h('li', { className: 'peer', textContent: p.name, attrs: { style: `background:${p.color}`, 'data-client': String(p.clientID) } })))
      renderLink(c)
      $('transports').textContent = c.storageProblem ?? `synced by ${c.transports.join(' + ')}`
      renderReserve(board)
    })
  }
  c.doc.on('change', render)
  presence.onChange(render)
  c.onChange(render)
  render()
  $('app').setAttribute('aria-busy', 'false')
  document.documentElement.dataset.ready = 'true'
}

start().catch((err: unknown) => {
  console.error(err)
  $('app').replaceChildren(h('p', { className: 'empty', textContent: `The board could not open: ${(err as Error).message}` }))
})
