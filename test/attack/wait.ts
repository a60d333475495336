/** Polling with a generous deadline (the machine may be loaded): never sleep-then-assert. */
import { until } from '../support/net.js'

/** `cond` polled until it holds (generous deadline: the machine may be loaded). */
export const waitFor = async (cond: () => boolean | Promise<boolean>, what: string | (() => string), ms = 30_000): Promise<void> => {
  if (typeof what === 'string') { await until(cond, what, ms, 10); return }
  try {
    await until(cond, '', ms, 10)
  } catch (err) {
    if (err instanceof Error && err.message === 'timed out waiting for ') throw new Error(`timed out waiting for ${what()}`)
    throw err
  }
}
