/** Helpers for the tests that run hubs on 127.0.0.1. */
import { createServer } from 'node:net'

/** A TCP port free on 127.0.0.1 right now (for hubs that must know each other's URLs before they start). */
export const freePort = async (): Promise<number> => await new Promise((resolve, reject) => {
  const s = createServer()
  s.once('error', reject)
  s.listen(0, '127.0.0.1', () => {
    const port = (s.address() as { port: number }).port
    s.close(() => resolve(port))
  })
})

/** Polls `cond` every `everyMs` until it holds; throws naming `what` after `ms`. */
export const until = async (cond: () => boolean | Promise<boolean>, what: string, ms: number, everyMs = 10): Promise<void> => {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}
