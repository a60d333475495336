// The demo's build: demo/src/main.ts → demo/dist/app.js (one ES module with
// the library and its dependencies inlined), demo/public/* copied beside it,
// and demo/public/sw.js given the list of shell files and a version (a hash
// of their contents), so every build the browser sees is a new cache.
//
// The app imports the package by name, as any app would; those imports
// resolve to the built package in dist/ (its public entry points), so run
// the root build (`rollup -c`) first. `npm start` does both, when stale.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { nodeResolve } from '@rollup/plugin-node-resolve'
import terser from '@rollup/plugin-terser'
import ts from 'typescript'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const publicDir = join(here, 'public')
export const outDir = join(here, 'dist')

/** `aegis-replication` and `aegis-replication/<entry>` → the built entry in dist/. */
const builtPackage = () => ({
  name: 'aegis-replication-dist',
  resolveId (id) {
    if (id !== 'aegis-replication' && !id.startsWith('aegis-replication/')) return null
    const entry = id === 'aegis-replication' ? 'index' : id.slice('aegis-replication/'.length)
    const file = join(root, 'dist', `${entry}.js`)
    if (!existsSync(file)) this.error(`${id}: ${file} is missing; build the package first (npx rollup -c)`)
    return file
  }
})

/**
 * TypeScript → JavaScript, one file at a time (types are `tsc -p
 * demo/tsconfig.json`'s business), and `./x.js` imports onto `./x.ts`.
 */
const transpile = () => ({
  name: 'demo-typescript',
  resolveId (id, importer) {
    if (importer === undefined || !importer.endsWith('.ts') || !id.startsWith('.') || !id.endsWith('.js')) return null
    const file = join(dirname(importer), id.slice(0, -3) + '.ts')
    return existsSync(file) ? file : null
  },
  transform (code, id) {
    if (!id.endsWith('.ts')) return null
    const out = ts.transpileModule(code, {
      fileName: id,
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, sourceMap: true, verbatimModuleSyntax: true }
    })
    return { code: out.outputText, map: out.sourceMapText }
  }
})

/**
 * `webrtc-adapter` (loaded lazily by the WebRTC provider) imports the
 * CommonJS package `sdp` as if it were ESM: wrap it in a module with a
 * default export.
 */
const sdpAsEsm = () => ({
  name: 'sdp-as-esm',
  resolveId: id => id === 'sdp' ? '\0sdp-esm' : null,
  load: id => id === '\0sdp-esm'
    ? `const module = { exports: {} };\n${readFileSync(join(root, 'node_modules/sdp/sdp.js'), 'utf8')}\nexport default module.exports;\n`
    : null
})

/** Copies demo/public/ and writes sw.js with the shell list and its version. */
const shell = () => ({
  name: 'demo-shell',
  generateBundle (_options, bundle) {
    const files = readdirSync(publicDir).filter(f => f !== 'sw.js').sort()
    for (const f of files) this.emitFile({ type: 'asset', fileName: f, source: readFileSync(join(publicDir, f)) })
    const chunks = Object.values(bundle).filter(o => o.type === 'chunk').map(o => o.fileName).sort()
    const hash = createHash('sha256')
    for (const f of files) hash.update(f).update(readFileSync(join(publicDir, f)))
    for (const f of chunks) hash.update(f).update(bundle[f].code)
    const list = ['./', ...files.filter(f => f !== 'sw.js'), ...chunks]
    const sw = readFileSync(join(publicDir, 'sw.js'), 'utf8')
      .replace("'__VERSION__'", JSON.stringify(hash.digest('hex').slice(0, 16)))
      .replace('__SHELL__', JSON.stringify(list))
    this.emitFile({ type: 'asset', fileName: 'sw.js', source: sw })
  }
})

export default {
  // the page's app, and the SharedWorker that owns IndexedDB and the socket (they share chunks)
  input: { app: join(here, 'src/main.ts'), 'sync-worker': join(here, 'src/sync-worker.ts') },
  output: {
    dir: outDir,
    format: 'es',
    entryFileNames: '[name].js',
    chunkFileNames: 'chunks/[name]-[hash].js',
    sourcemap: true
  },
  plugins: [builtPackage(), transpile(), sdpAsEsm(), nodeResolve({ browser: true }), terser({ module: true }), shell()],
  onwarn (warning, warn) {
    if (warning.code === 'UNRESOLVED_IMPORT') throw new Error(`demo build: ${warning.message}`)
    warn(warning)
  }
}
