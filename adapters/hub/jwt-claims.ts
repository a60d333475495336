/**
 * What a verified JWT lets its bearer do in a room: the claims
 * {@link createJwtAuth} reads once jose has checked the signature, `exp`,
 * `nbf`, `iss` and `aud`.
 *
 * ```json
 * { "sub": "alice", "exp": 1767225600,
 *   "rooms": { "board:42": "write", "board:*": "read", "@kv": "read" } }
 * ```
 * or, for one room (or one prefix), `{ "room": "board:42", "access": "write", "exp": … }`.
 *
 * - A key is a room name, or a prefix ending in `*` (`"board:*"` covers
 *   every room whose name starts with `board:`; `"*"` covers every room).
 * - The most specific grant decides: the exact name, else the longest
 *   matching prefix; between equally specific grants `write` wins.
 * - The KV is the room {@link KV_AUTH_ROOM} (`@kv`): only a grant that names
 *   it exactly reaches it, never a prefix, so `"*": "write"` does not open
 *   the cluster's KV.
 * - A value other than `"read"` or `"write"` grants nothing.
 *
 * @module
 */
import { KV_AUTH_ROOM } from 'aegis-replication/sync'

/** The access a grant gives. */
export type Access = 'read' | 'write'

type Grant = readonly [pattern: string, access: Access]

const isAccess = (v: unknown): v is Access => v === 'read' || v === 'write'

/** Every well-formed grant in the claims; anything else is ignored. */
const grants = (claims: Record<string, unknown>): Grant[] => {
  const out: Grant[] = []
  const rooms = claims.rooms
  if (typeof rooms === 'object' && rooms !== null && !Array.isArray(rooms)) {
    for (const [pattern, access] of Object.entries(rooms)) if (isAccess(access)) out.push([pattern, access])
  }
  if (typeof claims.room === 'string' && isAccess(claims.access)) out.push([claims.room, claims.access])
  return out
}

/** How specifically `pattern` names `room`: -1 no match, else a larger number for a closer match. */
const specificity = (pattern: string, room: string): number => {
  if (pattern === room) return Number.MAX_SAFE_INTEGER
  if (room === KV_AUTH_ROOM || !pattern.endsWith('*')) return -1
  const prefix = pattern.slice(0, -1)
  return room.startsWith(prefix) ? prefix.length : -1
}

/** The access the claims give in `room`, or `'deny'`. */
export const accessFromClaims = (claims: Record<string, unknown>, room: string): Access | 'deny' => {
  let best = -1
  let access: Access | 'deny' = 'deny'
  for (const [pattern, a] of grants(claims)) {
    const s = specificity(pattern, room)
    if (s < 0 || s < best) continue
    access = s > best || a === 'write' ? a : access
    best = s
  }
  return access
}
