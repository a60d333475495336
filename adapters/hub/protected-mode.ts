/**
 * Protected mode (as in Redis): a hub reachable from other machines does
 * not start without an `auth` hook unless told `allowAnonymous`.
 *
 * @module
 */
import type { AddressInfo } from 'node:net'
import { isLoopback } from './origin.js'

/** The hub's options cannot work together, or are unsafe without an explicit opt-in. */
export class HubConfigError extends Error {
  static override name = 'HubConfigError'
  constructor (message: string) {
    super(message)
    this.name = 'HubConfigError'
  }
}

/** What {@link checkProtectedMode} weighs. */
export interface ProtectedModeInput {
  host: string
  hasAuth: boolean
  allowAnonymous: boolean
  /** `HubOptions.server`: judged by its address when it already listens, else as not loopback. */
  server?: { listening: boolean, address: () => AddressInfo | string | null }
}

/**
 * Throws {@link HubConfigError} when the hub would serve other machines
 * without auth. With `server`, a server already listening on a loopback
 * address passes; any other (not yet listening, or on another interface)
 * needs `auth` or `allowAnonymous`, since the hub cannot know where it
 * will listen.
 */
export const checkProtectedMode = ({ host, hasAuth, allowAnonymous, server }: ProtectedModeInput): void => {
  if (hasAuth || allowAnonymous) return
  let where: string
  if (server !== undefined) {
    const a = server.listening ? server.address() : null
    if (a !== null && typeof a === 'object' && isLoopback(a.address)) return
    where = a === null ? 'an HTTP server that is not listening yet (its interface is unknown)' : `an HTTP server on ${typeof a === 'string' ? a : a.address}`
  } else {
    if (isLoopback(host)) return
    where = `${host}, which is not a loopback address`
  }
  throw new HubConfigError(
    `protected mode: the hub would accept anyone on ${where}, and no auth is configured. ` +
    'Configure auth (aegis-hub --auth-jwt-secret-file FILE or --auth-jwks-url URL; createHub({ auth }) with a hook), ' +
    'or run it open on purpose with --allow-anonymous (createHub({ allowAnonymous: true })), ' +
    'or listen on 127.0.0.1.'
  )
}
