/**
 * "Reserve a unique board name": a claim CRDTs cannot make (two offline
 * users could both take the name), so it goes through the hub's Raft KV
 * as one compare-and-set: key `board-name/<name>` from absent to this
 * board's id. Exactly one of two racing boards wins; the other is told
 * which board holds the name.
 *
 * @module
 */
import type { KvClient } from './connect.js'

/** Longest name; names are lower case letters, digits and dashes. */
export const MAX_RESERVED_NAME = 40

export type Reservation =
  | { ok: true, name: string }
  /** `holder`: the board holding the name, when it could be read. */
  | { ok: false, name: string, reason: 'taken', holder: string | undefined }
  | { ok: false, name: string, reason: 'invalid', message: string }

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** The name as stored: lower case, spaces as dashes; or an error message. */
export const normalizeName = (raw: string): string | { message: string } => {
  const name = raw.trim().toLowerCase().replace(/\s+/g, '-')
  if (name === '') return { message: 'type a name first' }
  if (name.length > MAX_RESERVED_NAME) return { message: `at most ${MAX_RESERVED_NAME} characters` }
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) return { message: 'letters, digits and dashes only' }
  return name
}

export const reservationKey = (name: string): string => `board-name/${name}`

/**
 * Claims `raw` for `board`. Reserving a name this board already holds
 * succeeds again (the compare-and-set is idempotent for the holder).
 */
export const reserveBoardName = async (kv: KvClient, raw: string, board: string): Promise<Reservation> => {
  const name = normalizeName(raw)
  if (typeof name !== 'string') return { ok: false, name: raw, reason: 'invalid', message: name.message }
  const key = reservationKey(name)
  const mine = encoder.encode(board)
  if (await kv.cas(key, null, mine)) return { ok: true, name }
  const holder = await kv.get(key)
  if (holder !== null && decoder.decode(holder) === board) return { ok: true, name }
  return { ok: false, name, reason: 'taken', holder: holder === null ? undefined : decoder.decode(holder) }
}

/**
 * Whether the hub serving `hubUrl` runs a Raft group (its `/metrics.json` has a
 * `raft` section): `'yes'`, `'no'`, or `'unknown'` when it cannot be asked
 * (offline, or a hub on another origin).
 */
export const hubHasRaft = async (hubUrl: string): Promise<'yes' | 'no' | 'unknown'> => {
  try {
    const url = new URL('/metrics.json', hubUrl.replace(/^ws/, 'http'))
    if (url.origin !== location.origin) return 'unknown'
    const res = await fetch(url, { cache: 'no-store' })
    if (!res.ok) return 'unknown'
    const metrics = await res.json() as { raft?: unknown }
    return metrics.raft !== undefined && metrics.raft !== null ? 'yes' : 'no'
  } catch {
    return 'unknown'
  }
}
