/**
 * What `npm start` builds, with esbuild from the sources (demo/build.mjs),
 * into temporary directories (the real outputs are left alone): the hub
 * bundle imports and serves; the demo app has its entries, its shared
 * chunks and a service worker whose shell list names exactly the built
 * scripts. (How fast: see notes; the demo's browser test runs npm start.)
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { buildDemo, buildHub } from '../../demo/build.mjs'

const dirs: string[] = []
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })
const temp = async (): Promise<string> => {
  const d = await mkdtemp(join(tmpdir(), 'aegis-start-build-'))
  dirs.push(d)
  return d
}

/** Every file under `dir`, relative, with forward slashes. */
const files = async (dir: string, prefix = ''): Promise<string[]> => {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...await files(join(dir, e.name), `${prefix}${e.name}/`))
    else out.push(`${prefix}${e.name}`)
  }
  return out
}

describe('npm start build (esbuild)', () => {
  it('bundles the hub from the sources into one module that starts a hub', async () => {
    const dir = await temp()
    const outfile = join(dir, 'hub.mjs')
    await buildHub({ outfile })
    const code = await readFile(outfile, 'utf8')
    expect(code).not.toMatch(/from ["']aegis-replication/) // the package's own imports are bundled
    const { createHub } = await import(pathToFileURL(outfile).href) as typeof import('aegis-replication/hub')
    const hub = await createHub({ port: 0, dataDir: join(dir, 'data'), logger: { debug () {}, info () {}, warn () {}, error () {} } })
    try {
      const res = await fetch(`http://127.0.0.1:${hub.port}/healthz`)
      expect(res.status).toBeLessThan(500)
    } finally {
      await hub.close()
    }
  })

  it('builds the demo: entries, shared chunks, public files, and a service worker listing exactly the shell', async () => {
    const outDir = join(await temp(), 'dist')
    await buildDemo({ outDir })
    const built = await files(outDir)
    for (const f of ['index.html', 'app.js', 'sync-worker.js', 'sw.js', 'app.css', 'manifest.webmanifest', 'icon.svg']) expect(built).toContain(f)
    expect(existsSync(`${outDir}.next`)).toBe(false)
    const scripts = built.filter(f => f.endsWith('.js') && f !== 'sw.js')
    expect(scripts.some(f => f.startsWith('chunks/'))).toBe(true) // app and worker share chunks
    for (const f of scripts) expect(await readFile(join(outDir, f), 'utf8')).not.toMatch(/from\s*["']aegis-replication/)

    const sw = await readFile(join(outDir, 'sw.js'), 'utf8')
    const version = /const VERSION = "([0-9a-f]{16})"/.exec(sw)?.[1]
    expect(version).toBeDefined()
    const shell = JSON.parse(/const SHELL = (\[.*\])/.exec(sw)![1]) as string[]
    expect(shell[0]).toBe('./')
    expect(shell).not.toContain('sw.js')
    for (const f of shell.slice(1)) expect(built).toContain(f)
    expect([...scripts].sort()).toEqual(shell.filter(f => f.endsWith('.js')).sort())

    // the same sources give the same version; the worker is a new cache only when the shell changes
    const again = join(await temp(), 'dist')
    await buildDemo({ outDir: again })
    expect(await readFile(join(again, 'sw.js'), 'utf8')).toBe(sw)
  })
})
