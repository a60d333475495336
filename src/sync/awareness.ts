/**
 * Awareness (presence): each client shares a small JSON state — name,
 * color, cursor — that is not persisted and that peers drop once the client
 * stops renewing it. Wire-compatible with y-protocols' `awareness.js`, and
 * the same API, built on lib0 alone so the core does not pull in Yjs.
 *
 * Unlike y-protocols there is no internal timer: the driver (a provider or
 * a hub) calls {@link Awareness.checkTimeouts} every `timeoutMs / 10`.
 *
 * @example
 * ```ts
 * import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'aegis-replication/sync'
 * const alice = new Awareness()
 * const bob = new Awareness()
 * alice.on('update', ({ added, updated, removed }) => {
 *   const changed = added.concat(updated, removed)
 *   applyAwarenessUpdate(bob, encodeAwarenessUpdate(alice, changed), 'alice')
 * })
 * alice.setLocalStateField('user', { name: 'Alice', color: '#f80' })
 * bob.getStates().get(alice.clientID) // { user: { name: 'Alice', color: '#f80' } }
 * ```
 *
 * @module
 */
import { ObservableV2 } from 'lib0/observable'
import { equalityDeep } from 'lib0/function'
import { InvalidArgumentError } from '../errors.js'
import type { Clock, TimerHandle } from '../components.js'
import { type AwarenessState, decodeAwarenessUpdate, encodeAwarenessEntries, type AwarenessEntry, stateToJson } from './awareness-codec.js'

/** Default {@link AwarenessOptions.timeoutMs}: 30 s, as y-protocols' `outdatedTimeout`. */
export const DEFAULT_AWARENESS_TIMEOUT_MS = 30_000

/** Options of {@link Awareness}. */
export interface AwarenessOptions {
  /**
   * This client's id, a uint32. Fresh for every session: two live
   * instances must never share one.
   * @default a random uint32
   */
  clientID?: number
  /**
   * A random number in [0, 1), used for the default client id.
   * @default crypto.getRandomValues when present, else Math.random
   */
  random?: () => number
  /**
   * Milliseconds since the epoch, for {@link AwarenessMeta.lastUpdated}.
   * @default Date.now
   */
  now?: () => number
  /**
   * Remote states not updated for this long are removed, and the local
   * state is renewed once it is half this old (by {@link Awareness.checkTimeouts}).
   * @default 30_000
   */
  timeoutMs?: number
}

/** What this instance knows of a client. */
export interface AwarenessMeta {
  /** The client's clock: it increases with every state the client sends. */
  clock: number
  /** When the client's state was last set here (`now()` milliseconds). */
  lastUpdated: number
}

/** The client ids of an `update` or `change` event. */
export interface AwarenessChanges {
  added: number[]
  updated: number[]
  removed: number[]
}

/** Events of {@link Awareness}. */
export interface AwarenessEvents {
  /**
   * Some state was added, removed or changed its value. `origin` is
   * `'local'` for the local state, `'timeout'` for expired clients, else
   * what the caller passed.
   */
  change: (changes: AwarenessChanges, origin: unknown) => void
  /**
   * Some state was set, even to an equal value (a renewal). Providers
   * broadcast `encodeAwarenessUpdate(awareness, added ∪ updated ∪ removed)`.
   */
  update: (changes: AwarenessChanges, origin: unknown) => void
  destroy: (awareness: Awareness) => void
}

const randomUint32 = (random?: () => number): number => {
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint32Array) => Uint32Array } }).crypto
  if (random === undefined && typeof c?.getRandomValues === 'function') return c.getRandomValues(new Uint32Array(1))[0]
  return Math.floor((random ?? Math.random)() * 0x1_0000_0000) >>> 0
}

const isUint32 = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff

/** The presence states of one room's clients. See the module docs. */
export class Awareness extends ObservableV2<AwarenessEvents> {
  /** This client's id. */
  readonly clientID: number
  /** Client id → state. The local state is under {@link clientID}. */
  readonly states = new Map<number, AwarenessState>()
  /** Client id → clock and last update, also for clients whose state was removed. */
  readonly meta = new Map<number, AwarenessMeta>()
  /** See {@link AwarenessOptions.timeoutMs}. */
  readonly timeoutMs: number
  /** @internal */
  readonly _now: () => number
  private destroyed = false

  /** Starts with the local state `{}`, as y-protocols does. */
  constructor (options: AwarenessOptions = {}) {
    super()
    const id = options.clientID ?? randomUint32(options.random)
    if (!isUint32(id)) throw new InvalidArgumentError(`clientID must be a uint32, got ${String(id)}`)
    const timeoutMs = options.timeoutMs ?? DEFAULT_AWARENESS_TIMEOUT_MS
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new InvalidArgumentError(`timeoutMs must be a positive number, got ${String(timeoutMs)}`)
    }
    this.clientID = id
    this.timeoutMs = timeoutMs
    this._now = options.now ?? (() => Date.now())
    this.setLocalState({})
  }

  /** This client's state, or `null` once set to `null`. */
  getLocalState (): AwarenessState | null {
    return this.states.get(this.clientID) ?? null
  }

  /**
   * Sets this client's state (`null`: this client leaves) and bumps its
   * clock. Emits `update` always and `change` unless the state is deeply
   * equal to the previous one, both with origin `'local'`.
   *
   * @throws {InvalidArgumentError} if `state` is not a JSON object or
   * `null`, or its JSON is over `MAX_AWARENESS_STATE_BYTES`.
   */
  setLocalState (state: AwarenessState | null): void {
    stateToJson(state)
    const clientID = this.clientID
    const currLocalMeta = this.meta.get(clientID)
    const clock = currLocalMeta === undefined ? 0 : currLocalMeta.clock + 1
    const prevState = this.states.get(clientID)
    if (state === null) this.states.delete(clientID)
    else this.states.set(clientID, state)
    this.meta.set(clientID, { clock, lastUpdated: this._now() })
    const added: number[] = []
    const updated: number[] = []
    const filteredUpdated: number[] = []
    const removed: number[] = []
    if (state === null) {
      removed.push(clientID)
    } else if (prevState === undefined) {
      added.push(clientID)
    } else {
      updated.push(clientID)
      if (!equalityDeep(prevState, state)) filteredUpdated.push(clientID)
    }
    if (added.length > 0 || filteredUpdated.length > 0 || removed.length > 0) {
      this.emit('change', [{ added, updated: filteredUpdated, removed }, 'local'])
    }
    this.emit('update', [{ added, updated, removed }, 'local'])
  }

  /** Sets one field of the local state; a no-op while the local state is `null`. */
  setLocalStateField (field: string, value: unknown): void {
    const state = this.getLocalState()
    if (state !== null) this.setLocalState({ ...state, [field]: value })
  }

  /** Client id → state of every client present, this one included. */
  getStates (): Map<number, AwarenessState> {
    return this.states
  }

  /**
   * Call every `timeoutMs / 10` milliseconds: renews the local state once it
   * is `timeoutMs / 2` old (an `update` event the provider broadcasts), and
   * removes remote states not updated for `timeoutMs` (origin `'timeout'`).
   */
  checkTimeouts (): void {
    if (this.destroyed) return
    const now = this._now()
    const local = this.getLocalState()
    if (local !== null && this.timeoutMs / 2 <= now - this.meta.get(this.clientID)!.lastUpdated) {
      this.setLocalState(local)
    }
    const remove: number[] = []
    this.meta.forEach((meta, clientID) => {
      if (clientID !== this.clientID && this.timeoutMs <= now - meta.lastUpdated && this.states.has(clientID)) {
        remove.push(clientID)
      }
    })
    if (remove.length > 0) removeAwarenessStates(this, remove, 'timeout')
  }

  /**
   * Emits `destroy`, then sets the local state to `null` (an `update` the
   * provider can still broadcast), then drops every listener.
   */
  override destroy (): void {
    if (this.destroyed) return
    this.destroyed = true
    this.emit('destroy', [this])
    this.setLocalState(null)
    super.destroy()
  }
}

/**
 * Removes the states of `clients` (say, the clients of a connection that
 * closed), emitting `change` and `update` with `origin`. Removing the local
 * client bumps its clock, so the removal propagates.
 */
export const removeAwarenessStates = (awareness: Awareness, clients: readonly number[], origin: unknown): void => {
  const removed: number[] = []
  for (const clientID of clients) {
    if (!awareness.states.has(clientID)) continue
    awareness.states.delete(clientID)
    if (clientID === awareness.clientID) {
      const cur = awareness.meta.get(clientID)!
      awareness.meta.set(clientID, { clock: cur.clock + 1, lastUpdated: awareness._now() })
    }
    removed.push(clientID)
  }
  if (removed.length > 0) {
    awareness.emit('change', [{ added: [], updated: [], removed }, origin])
    awareness.emit('update', [{ added: [], updated: [], removed }, origin])
  }
}

/**
 * The update that carries the current state and clock of `clients` (a
 * removed client as `null`), in y-protocols' wire format.
 *
 * @param states - where to read states from instead of `awareness.states`.
 * @throws {InvalidArgumentError} for a client `awareness` has no clock
 * for, more than `MAX_AWARENESS_ENTRIES` clients, or a state over
 * `MAX_AWARENESS_STATE_BYTES`.
 */
export const encodeAwarenessUpdate = (
  awareness: Awareness,
  clients: readonly number[],
  states: Map<number, AwarenessState> = awareness.states
): Uint8Array => {
  const entries: AwarenessEntry[] = clients.map(clientID => {
    const meta = awareness.meta.get(clientID)
    if (meta === undefined) throw new InvalidArgumentError(`awareness knows no client ${clientID}`)
    return { clientID, clock: meta.clock, state: states.get(clientID) ?? null }
  })
  return encodeAwarenessEntries(entries)
}

/**
 * Applies an update from a peer, with y-protocols' rules: a client's entry
 * wins over what is known when its clock is higher, or when it is `null`
 * with the same clock (another peer saw the client leave). A peer cannot
 * remove the local state: its clock is bumped instead (reported as removed
 * in the events) and the next broadcast re-announces it.
 *
 * @throws {DecodeError} if `update` does not decode; then nothing changes
 * and no event fires.
 */
export const applyAwarenessUpdate = (awareness: Awareness, update: Uint8Array, origin: unknown): void => {
  applyAwarenessEntries(awareness, decodeAwarenessUpdate(update), origin)
}

/**
 * {@link applyAwarenessUpdate} for entries already decoded (a hub that
 * checked them first). Returns whether any entry was applied (an `update`
 * event fired): false when every entry was stale.
 */
export const applyAwarenessEntries = (awareness: Awareness, entries: readonly AwarenessEntry[], origin: unknown): boolean => {
  const timestamp = awareness._now()
  const added: number[] = []
  const updated: number[] = []
  const filteredUpdated: number[] = []
  const removed: number[] = []
  const { states, meta } = awareness
  for (const entry of entries) {
    const { clientID, state } = entry
    let clock = entry.clock
    const clientMeta = meta.get(clientID)
    const prevState = states.get(clientID)
    const currClock = clientMeta === undefined ? 0 : clientMeta.clock
    if (currClock < clock || (currClock === clock && state === null && states.has(clientID))) {
      if (state === null) {
        // never let a remote peer remove the local state: outbid its clock instead
        if (clientID === awareness.clientID && awareness.getLocalState() !== null) clock++
        else states.delete(clientID)
      } else {
        states.set(clientID, state)
      }
      meta.set(clientID, { clock, lastUpdated: timestamp })
      if (clientMeta === undefined && state !== null) {
        added.push(clientID)
      } else if (clientMeta !== undefined && state === null) {
        removed.push(clientID)
      } else if (state !== null) {
        if (!equalityDeep(state, prevState)) filteredUpdated.push(clientID)
        updated.push(clientID)
      }
    }
  }
  if (added.length > 0 || filteredUpdated.length > 0 || removed.length > 0) {
    awareness.emit('change', [{ added, updated: filteredUpdated, removed }, origin])
  }
  if (added.length > 0 || updated.length > 0 || removed.length > 0) {
    awareness.emit('update', [{ added, updated, removed }, origin])
    return true
  }
  return false
}

export {
  type AwarenessEntry,
  type AwarenessState,
  decodeAwarenessUpdate,
  encodeAwarenessEntries,
  MAX_AWARENESS_ENTRIES,
  MAX_AWARENESS_STATE_BYTES,
  modifyAwarenessUpdate
} from './awareness-codec.js'

/**
 * Calls `awareness.checkTimeouts()` every `timeoutMs / 10` on `clock` (this
 * client's state is renewed, states that timed out go) until the returned
 * function is called. What every provider that holds an awareness runs.
 */
export const watchAwarenessTimeouts = (awareness: Awareness, clock: Clock): (() => void) => {
  let timer: TimerHandle | undefined
  const schedule = (): void => {
    timer = clock.setTimeout(() => { awareness.checkTimeouts(); schedule() }, awareness.timeoutMs / 10)
  }
  schedule()
  return () => { if (timer !== undefined) clock.clearTimeout(timer); timer = undefined }
}
