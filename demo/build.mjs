// What `npm start` needs, built straight from the TypeScript sources with
// esbuild (types are stripped, not checked: that is `npm run typecheck`'s
// job), and only when stale:
//
// - the hub: adapters/hub → .aegis-build/hub.mjs (Node, dependencies left
//   to node_modules);
// - the demo app: demo/src/main.ts and demo/src/sync-worker.ts →
//   demo/dist/{app,sync-worker}.js (shared chunks in demo/dist/chunks/),
//   demo/public/* copied beside them, and sw.js given the list of shell
//   files and a version (a hash of their contents), so every build the
//   browser sees is a new cache.
//
// `aegis-replication` and `aegis-replication/<name>` resolve to
// src/<name>/index.ts or adapters/<name>/index.ts, as in vitest.config.ts.
// A step is skipped when every output is newer than every source. The
// package itself (dist/, with .d.ts) is `npm run build`'s (rollup), which
// npm start does not need.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

export const root = fileURLToPath(new URL('..', import.meta.url))
/** Where the hub's bundle goes (not served). */
export const cacheDir = join(root, '.aegis-build')
/** The hub's bundle: `createHub` and the rest of `aegis-replication/hub`. */
export const hubEntry = join(cacheDir, 'hub.mjs')
/** The demo app, served by the hub. */
export const demoDir = join(root, 'demo/dist')
const publicDir = join(root, 'demo/public')

/** Newest mtime under `paths` (files or directories), and the file it belongs to. */
const newest = (paths) => {
  let best = { time: 0, file: '' }
  const visit = (p) => {
    if (!existsSync(p)) return
    const st = statSync(p)
    if (st.isDirectory()) {
      for (const name of readdirSync(p)) if (name !== 'node_modules' && name !== 'dist') visit(join(p, name))
    } else if (st.mtimeMs > best.time) {
      best = { time: st.mtimeMs, file: p }
    }
  }
  for (const p of paths) visit(p)
  return best
}

/** Oldest mtime of `files`, or 0 (stale) if one is missing. */
const oldest = (files) => {
  let time = Infinity
  for (const f of files) {
    if (!existsSync(f)) return 0
    time = Math.min(time, statSync(f).mtimeMs)
  }
  return time
}

/** `aegis-replication[/<name>]` → its source entry; other bare imports external when `externals`. */
const packageSources = (externals) => ({
  name: 'aegis-replication-sources',
  setup (b) {
    b.onResolve({ filter: /^aegis-replication(\/[a-z-]+)?$/ }, ({ path }) => {
      if (path === 'aegis-replication') return { path: join(root, 'src/index.ts') }
      const name = path.slice('aegis-replication/'.length)
      const file = [join(root, `src/${name}/index.ts`), join(root, `adapters/${name}/index.ts`)].find(f => existsSync(f))
      return file === undefined ? { errors: [{ text: `${path}: no src/${name}/index.ts or adapters/${name}/index.ts` }] } : { path: file }
    })
    if (externals) b.onResolve({ filter: /^[^./]/ }, ({ path }) => ({ path, external: true }))
  }
})

const common = { bundle: true, format: 'esm', target: 'es2022', logLevel: 'silent', legalComments: 'none', absWorkingDir: root }

/** Bundles `aegis-replication/hub` for Node into `outfile`. */
export const buildHub = async ({ outfile = hubEntry } = {}) => {
  await build({
    ...common,
    entryPoints: [join(root, 'adapters/hub/index.ts')],
    outfile,
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    plugins: [packageSources(true)]
  })
}

/** The shell files' list and version go into sw.js (see demo/public/sw.js). */
const writeServiceWorker = (outDir, chunks) => {
  const files = readdirSync(publicDir).filter(f => f !== 'sw.js').sort()
  const hash = createHash('sha256')
  for (const f of files) hash.update(f).update(readFileSync(join(publicDir, f)))
  for (const f of chunks) hash.update(f).update(readFileSync(join(outDir, f)))
  const list = ['./', ...files, ...chunks]
  const sw = readFileSync(join(publicDir, 'sw.js'), 'utf8')
    .replace("'__VERSION__'", JSON.stringify(hash.digest('hex').slice(0, 16)))
    .replace('__SHELL__', JSON.stringify(list))
  for (const f of files) writeFileSync(join(outDir, f), readFileSync(join(publicDir, f)))
  writeFileSync(join(outDir, 'sw.js'), sw)
}

/**
 * Builds the demo app into `outDir`: into a sibling directory first, which
 * then replaces `outDir` (so a hub serving it never sees half a build, and
 * no chunk of an older build lingers).
 */
export const buildDemo = async ({ outDir = demoDir } = {}) => {
  const next = `${outDir}.next`
  rmSync(next, { recursive: true, force: true })
  mkdirSync(next, { recursive: true })
  try {
    const result = await build({
      ...common,
      // the page's app, and the SharedWorker that owns IndexedDB and the socket (they share chunks)
      entryPoints: { app: join(root, 'demo/src/main.ts'), 'sync-worker': join(root, 'demo/src/sync-worker.ts') },
      outdir: next,
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      platform: 'browser',
      minify: true,
      sourcemap: true,
      metafile: true,
      plugins: [packageSources(false)]
    })
    const chunks = Object.keys(result.metafile.outputs)
      .map(f => relative(next, join(root, f)).split('\\').join('/'))
      .filter(f => f.endsWith('.js'))
      .sort()
    writeServiceWorker(next, chunks)
    rmSync(outDir, { recursive: true, force: true })
    renameSync(next, outDir)
  } finally {
    rmSync(next, { recursive: true, force: true })
  }
}

const sources = ['src', 'adapters', 'package.json', 'tsconfig.json', 'demo/build.mjs'].map(p => join(root, p))

const steps = () => [
  {
    name: 'the hub → .aegis-build/',
    run: () => buildHub(),
    sources,
    outputs: [hubEntry]
  },
  {
    name: 'the demo app → demo/dist/',
    run: () => buildDemo(),
    sources: [...sources, join(root, 'demo/src'), publicDir],
    outputs: ['index.html', 'app.js', 'sync-worker.js', 'sw.js', 'app.css', 'manifest.webmanifest'].map(f => join(demoDir, f))
  }
]

/**
 * Builds the stale steps (both at once: esbuild takes about a second each).
 * `force`: build everything. `out`: where the progress lines go.
 */
export const ensureBuilt = async ({ force = false, out = process.stdout } = {}) => {
  await Promise.all(steps().map(async (step) => {
    const src = newest(step.sources)
    const built = oldest(step.outputs)
    if (!force && built > src.time) {
      out.write(`✓ ${step.name} is up to date\n`)
      return
    }
    const why = force ? 'asked to' : built === 0 ? 'not built yet' : `${relative(root, src.file)} changed`
    out.write(`• building ${step.name} (${why})\n`)
    const t0 = Date.now()
    try {
      await step.run()
    } catch (err) {
      // esbuild's errors carry file:line in `errors`; its message alone is terse
      const details = (err.errors ?? []).map(e => `  ${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`).join('\n')
      throw new Error(`building ${step.name} failed${details === '' ? `: ${err.message}` : `:\n${details}`}`)
    }
    out.write(`✓ built ${step.name} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
  }))
}
