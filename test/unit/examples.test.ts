import { readFileSync, readdirSync } from 'node:fs'
import 'fake-indexeddb/auto' // the offline-app example runs in Node here; the real thing is tested in Chromium
import { describe, expect, it } from 'vitest'

const root = new URL('../../', import.meta.url)
const readme = readFileSync(new URL('README.md', root), 'utf8')
// examples/browser/ run in Chromium (test/browser/examples.browser.test.ts); all appear in the README
const examples = readdirSync(new URL('examples/', root), { recursive: true }).map(String).filter(f => f.endsWith('.ts'))

describe('README examples', () => {
  it('every example file appears verbatim in the README', () => {
    expect(examples.length).toBeGreaterThan(0)
    for (const f of examples) {
      const code = readFileSync(new URL(`examples/${f}`, root), 'utf8').trim()
      expect(readme, `examples/${f} is not in README.md verbatim`).toContain(code)
    }
  })

  it('quick-start runs and converges', async () => {
    const { result } = await import('../../examples/quick-start.js')
    expect(result).toEqual({ tasks: { t1: { tags: ['docs'], title: 'Write the docs', votes: 3 } }, title: 'Team board' })
  })

  it('offline-sync runs and converges', async () => {
    const { converged, notes } = await import('../../examples/offline-sync.js')
    expect(converged).toBe(true)
    expect(notes).toEqual({ n1: 'draft from the laptop', n2: 'idea from the phone' })
  })

  it('crdts example runs', async () => {
    const { basket, profile, concurrent, later } = await import('../../examples/crdts.js')
    expect(basket).toEqual([['milk'], ['milk']])
    expect(profile).toEqual([{ likes: 3, profile: { name: ['Ada'] } }, { likes: 3, profile: { name: ['Ada'] } }])
    expect(concurrent).toBe(true)
    expect(later).toBe(true)
  })

  it('hub example starts and stops a hub', async () => {
    const { url } = await import('../../examples/hub.js')
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
  })

  it('hub-jwt example: createJwtAuth grants by the most specific claim', async () => {
    const { access } = await import('../../examples/hub-jwt.js')
    expect(access).toEqual(['write', 'read', 'deny'])
  })

  it('offline-app example syncs two devices through a hub with IndexedDB persistence', async () => {
    const { board } = await import('../../examples/offline-app.js')
    expect(board).toEqual({ tasks: { t1: { title: 'Write the docs' }, 't1-votes': { up: 1 } } })
  })

  it('the replication.toml in the README parses', async () => {
    const { parseConfig } = await import('aegis-replication/config')
    const toml = /```toml\n([\s\S]*?)```/.exec(readme)?.[1]
    expect(toml).toBeDefined()
    const config = parseConfig(toml!)
    expect(config.hub.port).toBe(4444)
    expect(config.raft.electionTimeoutMax).toBe(300)
  })

  it('strong-consistency example: of two racing claims exactly one wins', async () => {
    const { claim } = await import('../../examples/strong-consistency.js')
    expect(claim).toEqual({ winners: 1, owner: true })
  })

  it('cross-tab example: a later tab catches up over BroadcastChannel', async () => {
    const { seen } = await import('../../examples/cross-tab.js')
    expect(seen).toEqual({ tasks: { t1: { title: 'Drafted offline in tab 1' } } })
  })

  it('hashing example runs', async () => {
    const { owner, replicas } = await import('../../examples/hashing.js')
    expect(typeof owner).toBe('string')
    expect(new Set(replicas).size).toBe(3)
  })
})
