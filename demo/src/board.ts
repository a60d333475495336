/**
 * The task board as a document: what is stored where, and the operations
 * the UI calls. No DOM here.
 *
 * ```
 * register 'title'        the board's title (last writer wins)
 * register 'reservedName' the unique name reserved through the hub's Raft KV
 * map 'tasks'             task id → nested map:
 *   title     string       last writer wins
 *   done      boolean      last writer wins
 *   position  number       sort key (a fraction between neighbours)
 *   votes     counter      PN counter: every vote counts, offline ones too
 *   tags      orSet        add-wins set of strings
 * ```
 *
 * A task deleted on one device while another edits it comes back with
 * what the other wrote (a concurrent update beats a remove); it shows as
 * untitled if its title was not among the edits.
 *
 * @module
 */
import type { Doc, DocMap } from 'aegis-replication'

/** One task as the UI shows it. */
export interface Task {
  id: string
  title: string
  done: boolean
  position: number
  votes: number
  tags: string[]
}

/** Longest title and tag kept (longer input is cut). */
export const MAX_TITLE = 200
export const MAX_TAG = 32

const randomId = (): string => {
  const bytes = crypto.getRandomValues(new Uint8Array(6))
  return Date.now().toString(36) + Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('')
}

const clean = (s: string, max: number): string => s.replace(/\s+/g, ' ').trim().slice(0, max)

/** The board's operations over a doc. */
export class Board {
  readonly tasksMap: DocMap

  constructor (readonly doc: Doc) {
    this.tasksMap = doc.map('tasks')
  }

  get title (): string {
    const t = this.doc.register('title').get()
    return typeof t === 'string' ? t : ''
  }

  setTitle (title: string): void {
    const t = clean(title, MAX_TITLE)
    if (t !== this.title) this.doc.register('title').set(t)
  }

  get reservedName (): string | undefined {
    const n = this.doc.register('reservedName').get()
    return typeof n === 'string' ? n : undefined
  }

  setReservedName (name: string): void {
    this.doc.register('reservedName').set(name)
  }

  /** Every task, in board order (position, then id so every replica agrees on ties). */
  tasks (): Task[] {
    const list: Task[] = []
    for (const id of this.tasksMap.keys()) {
      const t = this.task(id)
      if (t !== undefined) list.push(t)
    }
    return list.sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  task (id: string): Task | undefined {
    if (!this.tasksMap.has(id)) return undefined
    const m = this.tasksMap.map(id)
    const title = m.get('title')
    const position = m.get('position')
    const tags = m.orSet<string>('tags').values().filter((t): t is string => typeof t === 'string').sort()
    return {
      id,
      title: typeof title === 'string' ? title : '',
      done: m.get('done') === true,
      position: typeof position === 'number' ? position : 0,
      votes: m.counter('votes').value(),
      tags
    }
  }

  /** Adds a task at the end of the board; returns its id (undefined for an empty title). */
  addTask (title: string): string | undefined {
    const t = clean(title, MAX_TITLE)
    if (t === '') return undefined
    const id = randomId()
    const last = this.tasks().at(-1)
    const m = this.tasksMap.map(id)
    this.doc.transact(() => {
      m.set('title', t)
      m.set('done', false)
      m.set('position', last === undefined ? 1 : last.position + 1)
    })
    return id
  }

  rename (id: string, title: string): void {
    const t = clean(title, MAX_TITLE)
    const task = this.task(id)
    if (task === undefined || t === '' || t === task.title) return
    this.tasksMap.map(id).set('title', t)
  }

  setDone (id: string, done: boolean): void {
    if (this.task(id)?.done !== done) this.tasksMap.map(id).set('done', done)
  }

  vote (id: string, up = true): void {
    const votes = this.tasksMap.map(id).counter('votes')
    if (up) votes.increment()
    else votes.decrement()
  }

  addTag (id: string, tag: string): void {
    const t = clean(tag, MAX_TAG).toLowerCase()
    if (t !== '' && this.tasksMap.has(id)) this.tasksMap.map(id).orSet<string>('tags').add(t)
  }

  removeTag (id: string, tag: string): void {
    this.tasksMap.map(id).orSet<string>('tags').remove(tag)
  }

  remove (id: string): void {
    this.tasksMap.delete(id)
  }

  /**
   * Moves a task one place up (-1) or down (+1): its position becomes the
   * midpoint between its new neighbours, so only this task changes and
   * concurrent moves of other tasks do not conflict.
   */
  move (id: string, dir: -1 | 1): void {
    const list = this.tasks()
    const i = list.findIndex(t => t.id === id)
    const j = i + dir
    if (i < 0 || j < 0 || j >= list.length) return
    const neighbour = list[j].position
    const beyond = list[j + dir]?.position ?? neighbour + dir
    // tied neighbours (two tasks added at once): step just past the neighbour
    const position = beyond !== neighbour ? (neighbour + beyond) / 2 : neighbour + dir / 1024
    this.tasksMap.map(id).set('position', position)
  }
}
