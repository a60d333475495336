/**
 * Helpers of the last-writer-wins types (map values, registers).
 *
 * @module
 */
import type { ValueEntry } from '../containers.js'
import type { Newer } from './module.js'

/** Removes and returns the newest entry of `cs`. */
export const promote = (cs: ValueEntry[], newer: Newer): ValueEntry => {
  let best = 0
  for (let i = 1; i < cs.length; i++) if (newer(cs[i], cs[best])) best = i
  return cs.splice(best, 1)[0]
}

/** The largest timestamp of `entries` (0: none). */
export const maxTimeOf = (entries: readonly ValueEntry[]): number => {
  let t = 0
  for (let i = 0; i < entries.length; i++) if (entries[i].t > t) t = entries[i].t
  return t
}
