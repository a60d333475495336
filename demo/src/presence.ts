/**
 * Presence through awareness: who is on the board, in which colour, and
 * which task each one is editing. The local user's name and colour are
 * kept in localStorage, so they survive reloads.
 *
 * Awareness state of a client: `{ user: { name, color }, editing: taskId | null }`.
 *
 * @module
 */
import type { Awareness } from 'aegis-replication/sync'

/** A user as others see them. */
export interface User {
  name: string
  color: string
}

/** Another client on the board. */
export interface Peer extends User {
  clientID: number
  /** The task they are editing, if any. */
  editing: string | null
}

const STORAGE_KEY = 'aegis-demo:user'
export const MAX_NAME = 32
/** Colours readable on white with white text on top (WCAG AA for large text). */
const PALETTE = ['#b3261e', '#7d3c98', '#1f5fa8', '#0b7a55', '#9a5b00', '#a4237a', '#2f6f6f', '#5b4fc4']
const ANIMALS = ['Otter', 'Heron', 'Lynx', 'Marten', 'Puffin', 'Ibex', 'Gecko', 'Wren']

const pick = <T>(list: T[]): T => list[crypto.getRandomValues(new Uint32Array(1))[0] % list.length]

/** The stored user, or a new random one (stored). */
export const loadUser = (): User => {
  try {
    const raw = localStorage.getItem(STORAGE_KEY)
    if (raw !== null) {
      const u = JSON.parse(raw) as Partial<User>
      if (typeof u.name === 'string' && typeof u.color === 'string' && /^#[0-9a-f]{6}$/i.test(u.color)) return { name: u.name, color: u.color }
    }
  } catch { /* private mode or bad JSON: a fresh identity */ }
  const user = { name: `${pick(ANIMALS)} ${100 + (crypto.getRandomValues(new Uint16Array(1))[0] % 900)}`, color: pick(PALETTE) }
  saveUser(user)
  return user
}

export const saveUser = (user: User): void => {
  try { localStorage.setItem(STORAGE_KEY, JSON.stringify(user)) } catch { /* not persisted: fine */ }
}

/** Publishes the local user's presence and reads everyone else's. */
export class Presence {
  private user: User
  private editing: string | null = null

  constructor (readonly awareness: Awareness, user: User) {
    this.user = user
    this.publish()
  }

  get me (): User { return this.user }

  setName (name: string): void {
    const n = name.replace(/\s+/g, ' ').trim().slice(0, MAX_NAME)
    if (n === '' || n === this.user.name) return
    this.user = { ...this.user, name: n }
    saveUser(this.user)
    this.publish()
  }

  /** The task the local user is editing (null: none). */
  setEditing (taskId: string | null): void {
    if (taskId === this.editing) return
    this.editing = taskId
    this.publish()
  }

  /** Everyone else on the board, by name. */
  peers (): Peer[] {
    const list: Peer[] = []
    for (const [clientID, state] of this.awareness.getStates()) {
      if (clientID === this.awareness.clientID) continue
      const user = state.user as Partial<User> | undefined
      if (typeof user?.name !== 'string') continue
      const color = typeof user.color === 'string' && /^#[0-9a-f]{6}$/i.test(user.color) ? user.color : '#555555'
      const editing = typeof state.editing === 'string' ? state.editing : null
      list.push({ clientID, name: user.name.slice(0, MAX_NAME), color, editing })
    }
    return list.sort((a, b) => a.name.localeCompare(b.name) || a.clientID - b.clientID)
  }

  /** Calls `f` whenever someone's presence changed; returns the unsubscribe. */
  onChange (f: () => void): () => void {
    this.awareness.on('change', f)
    return () => this.awareness.off('change', f)
  }

  private publish (): void {
    this.awareness.setLocalState({ user: { ...this.user }, editing: this.editing })
  }
}
