/**
 * The setup both passes of the attack suite share (test/attack/hub-attacks.test.ts,
 * test/long/hub-attacks.long.ts): one `aegis-hub` process with the suite's
 * flags and a bystander on 127.0.0.2, started before the file's tests and
 * stopped after them, with the checkpoint and attack wrappers bound to them.
 */
import { afterAll, beforeAll } from 'vitest'
import { attack, Bystander, checkpoint, NEW_FLAGS, RSS_BOUND_MB, spawnHub, type HubProcess } from './harness.js'
import { hubFlags, type AttackLimits } from './common.js'

/** The hub and bystander of one test file. */
export interface AttackSession {
  /** The hub process (once the file's `beforeAll` ran). */
  readonly hub: HubProcess
  /** Checks the hub is healthy and the bystander acknowledged after `label`. */
  after: (label: string) => Promise<void>
  /** Runs one attack on the hub, then its checks. */
  run: (label: string, fn: () => Promise<unknown>) => Promise<void>
}

/**
 * Starts the hub (limits `limits`) and the bystander before the file's tests
 * and stops them after; `name` and `details()` go into the lines it prints.
 */
export const useAttackHub = (name: string, limits: AttackLimits, details: () => string): AttackSession => {
  let hub: HubProcess | undefined
  let bystander: Bystander | undefined
  let acksAtStart = 0
  const started = (): HubProcess => {
    if (hub === undefined) throw new Error('the attack hub is not running')
    return hub
  }
  beforeAll(async () => {
    const { flags, newFlags } = hubFlags(limits)
    hub = await spawnHub(flags, newFlags)
    bystander = await Bystander.start(hub.url, '127.0.0.2')
    acksAtStart = bystander.ackCount
    console.log(`${name}: hub pid ${hub.pid} on port ${hub.port}, ${details()}, new flags ${NEW_FLAGS ? 'on' : 'off'}, RSS bound ${RSS_BOUND_MB} MB`)
  })
  afterAll(async () => {
    bystander?.stop()
    if (hub !== undefined) {
      console.log(`${name}: hub max RSS ${(hub.maxRssKb / 1024).toFixed(0)} MB, bystander acks ${(bystander?.ackCount ?? 0) - acksAtStart}`)
      await hub.stop()
    }
  })
  return {
    get hub () { return started() },
    after: async (label) => { await checkpoint(started(), bystander!, label) },
    run: async (label, fn) => { await attack(started(), label, fn) }
  }
}
