/**
 * The awareness wire format, byte for byte the one of y-protocols'
 * `awareness.js`, with a decoder that checks everything before anything is
 * applied:
 *
 * ```
 * varUint count
 * count × ( varUint clientID  varUint clock  varString JSON.stringify(state) )
 * ```
 *
 * A removed client's state is the JSON text `null`. A message holds at most
 * {@link MAX_AWARENESS_ENTRIES} entries and each state at most
 * {@link MAX_AWARENESS_STATE_BYTES} bytes of UTF-8; the decoder refuses
 * bigger ones and the encoder will not write them.
 *
 * @example
 * ```ts
 * import { decodeAwarenessUpdate, encodeAwarenessEntries } from './awareness-codec.js'
 * const bytes = encodeAwarenessEntries([{ clientID: 7, clock: 1, state: { user: 'ann' } }])
 * decodeAwarenessUpdate(bytes) // [{ clientID: 7, clock: 1, state: { user: 'ann' } }]
 * ```
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError, InvalidArgumentError } from '../errors.js'
import { type Decoder, decodeWith, readCount, readString, readVarUint } from '../codec/reader.js'

/** Most entries (clients) one awareness update may carry. */
export const MAX_AWARENESS_ENTRIES = 10_000

/** Most UTF-8 bytes of one state's JSON text: 64 KiB. */
export const MAX_AWARENESS_STATE_BYTES = 64 * 1024

/**
 * One client's presence: a JSON object (`{ user, cursor, … }`). Remote
 * states are untrusted JSON; check fields before using them.
 */
export type AwarenessState = { [field: string]: unknown }

/** One entry of an awareness update. `state` is `null` for a client that left. */
export interface AwarenessEntry {
  clientID: number
  clock: number
  state: AwarenessState | null
}

// the shortest entry: clientID (1) + clock (1) + length (1) + '{}' (2)
const MIN_ENTRY_BYTES = 5

const utf8 = /* @__PURE__ */ (() => new TextEncoder())()

const readSafeUint = (d: Decoder, what: string): number => {
  const n = readVarUint(d, what)
  if (!Number.isSafeInteger(n)) throw new DecodeError(`${what} ${n} is not a safe integer`)
  return n
}

const readState = (d: Decoder): AwarenessState | null => {
  const start = d.pos
  const len = readVarUint(d, 'state length')
  if (len > MAX_AWARENESS_STATE_BYTES) {
    throw new DecodeError(`a state of ${len} bytes is over the limit of ${MAX_AWARENESS_STATE_BYTES}`)
  }
  d.pos = start
  const text = readString(d, 'state')
  let state: unknown
  try {
    state = JSON.parse(text)
  } catch (err) {
    throw new DecodeError('a state is not valid JSON', { cause: err })
  }
  if (state !== null && (typeof state !== 'object' || Array.isArray(state))) {
    throw new DecodeError(`a state must be a JSON object or null, got ${Array.isArray(state) ? 'an array' : typeof state}`)
  }
  return state as AwarenessState | null
}

/**
 * Decodes a whole awareness update.
 *
 * @throws {DecodeError} on truncated or trailing bytes, a count or state over
 * the limits, invalid UTF-8 or JSON, or a state that is neither an object
 * nor `null`.
 */
export const decodeAwarenessUpdate = (update: Uint8Array): AwarenessEntry[] =>
  decodeWith('awareness update', update, d => {
    const n = readCount(d, 'entry count', MIN_ENTRY_BYTES)
    if (n > MAX_AWARENESS_ENTRIES) throw new DecodeError(`${n} entries is over the limit of ${MAX_AWARENESS_ENTRIES}`)
    const entries: AwarenessEntry[] = new Array(n)
    for (let i = 0; i < n; i++) {
      const clientID = readSafeUint(d, 'clientID')
      const clock = readSafeUint(d, 'clock')
      entries[i] = { clientID, clock, state: readState(d) }
    }
    return entries
  })

/**
 * The wire JSON of a state, checked so every peer can decode it.
 *
 * @throws {InvalidArgumentError} if `state` is not a plain JSON object or
 * `null`, or its JSON is over {@link MAX_AWARENESS_STATE_BYTES}.
 */
export const stateToJson = (state: AwarenessState | null): string => {
  if (state === null) return 'null'
  if (typeof state !== 'object' || Array.isArray(state)) {
    throw new InvalidArgumentError(`an awareness state must be an object or null, got ${Array.isArray(state) ? 'an array' : typeof state}`)
  }
  let json: string | undefined
  try {
    json = JSON.stringify(state)
  } catch (err) {
    throw new InvalidArgumentError(`an awareness state must be JSON-serializable: ${(err as Error)?.message ?? String(err)}`)
  }
  if (typeof json !== 'string' || json[0] !== '{') {
    throw new InvalidArgumentError('an awareness state must serialize to a JSON object')
  }
  // a UTF-16 code unit takes at most 3 UTF-8 bytes: measure only when it may matter
  if (json.length * 3 > MAX_AWARENESS_STATE_BYTES && utf8.encode(json).length > MAX_AWARENESS_STATE_BYTES) {
    throw new InvalidArgumentError(`an awareness state's JSON is over the limit of ${MAX_AWARENESS_STATE_BYTES} bytes`)
  }
  return json
}

const checkUint = (n: number, what: string): void => {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${what} must be a non-negative safe integer, got ${n}`)
}

/**
 * Encodes entries in the y-protocols wire format.
 *
 * @throws {InvalidArgumentError} for more than {@link MAX_AWARENESS_ENTRIES}
 * entries, ids or clocks that are not non-negative safe integers, or a state
 * {@link stateToJson} refuses.
 */
export const encodeAwarenessEntries = (entries: readonly AwarenessEntry[]): Uint8Array => {
  if (entries.length > MAX_AWARENESS_ENTRIES) {
    throw new InvalidArgumentError(`${entries.length} entries is over the limit of ${MAX_AWARENESS_ENTRIES}: send several updates`)
  }
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, entries.length)
  for (const { clientID, clock, state } of entries) {
    checkUint(clientID, 'a clientID')
    checkUint(clock, 'a clock')
    encoding.writeVarUint(e, clientID)
    encoding.writeVarUint(e, clock)
    encoding.writeVarString(e, stateToJson(state))
  }
  return encoding.toUint8Array(e)
}

/**
 * Rewrites the states of an awareness update (as y-protocols'
 * `modifyAwarenessUpdate`): a hub can, say, overwrite the `user` field with
 * the authenticated user so clients cannot pose as each other. `modify` also
 * receives the entry's client id.
 *
 * @throws {DecodeError} if `update` does not decode; nothing is called then.
 * @throws {InvalidArgumentError} if `modify` returns something
 * {@link stateToJson} refuses.
 */
export const modifyAwarenessUpdate = (
  update: Uint8Array,
  modify: (state: AwarenessState | null, clientID: number) => AwarenessState | null
): Uint8Array => {
  const entries = decodeAwarenessUpdate(update)
  for (const entry of entries) entry.state = modify(entry.state, entry.clientID)
  return encodeAwarenessEntries(entries)
}
