// (f) Bundle size: the core entry (dist/index.js) bundled for the browser with
// lib0 inlined, minified with terser and compressed (gzip -9, brotli), next to
// Yjs; tree-shaken single imports; Loro and Automerge as JS glue + .wasm.
// The aegis bundles are imported and exercised before their size counts.
//
//   node bench/size.bench.mjs   (or from bench/run.mjs: `size`)
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { brotliCompress, brotliCompressSync, gzipSync, constants as zlibConstants } from 'node:zlib'
import { rollup } from 'rollup'
import { nodeResolve } from '@rollup/plugin-node-resolve'
import terser from '@rollup/plugin-terser'
import { bytes, check, fmt, table, versionOf } from './util.mjs'
import { QUICK, suiteMain } from './harness.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DIST = join(ROOT, 'dist/index.js')
const ENTRY = '\0size-bench-entry'

const gz = (buf) => gzipSync(buf, { level: 9 }).length
const br = (buf) => brotliCompressSync(buf).length // quality 11 (Node's default)
/** Brotli off the main thread: quality 11 takes ~10 s per 3.6 MB wasm, so both run in the thread pool. */
// (BENCH_QUICK: quality 4, to check the bench quickly; the figure is then not the published one)
const brAsync = async (buf) => (await promisify(brotliCompress)(buf, QUICK ? { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4 } } : {})).length

/**
 * The entry as a virtual module, `.wasm` imports left external, and every
 * `.wasm` file a bundled module names (by import or `new URL(…)`) recorded.
 */
const sizePlugin = (code, wasm) => ({
  name: 'size-bench',
  resolveId (id, importer) {
    if (id === ENTRY) return ENTRY
    if (id.endsWith('.wasm')) {
      if (importer !== undefined && !importer.startsWith('\0')) wasm.add(resolve(dirname(importer), id))
      return { id, external: true }
    }
    return null
  },
  load (id) { return id === ENTRY ? code : null },
  transform (src, id) {
    if (id.startsWith('\0')) return null
    for (const m of src.matchAll(/["'](\.{1,2}\/[\w./-]+\.wasm)["']/g)) wasm.add(resolve(dirname(id), m[1]))
    return null
  }
})

/** Bundles `code` (an ES module) for the browser, minified; returns the output and its sizes. */
const build = async (code) => {
  const wasm = new Set()
  const warnings = []
  const bundle = await rollup({
    input: ENTRY,
    plugins: [
      sizePlugin(code, wasm),
      nodeResolve({ browser: true, exportConditions: ['browser', 'import', 'default'], rootDir: ROOT })
    ],
    onwarn: (w) => {
      // an unresolved import would be left external: the size would leave it out
      if (w.code === 'UNRESOLVED_IMPORT') throw new Error(`cannot resolve '${w.exporter}'`)
      warnings.push(w.code)
    }
  })
  try {
    const { output } = await bundle.generate({ format: 'es', inlineDynamicImports: true, plugins: [terser()] })
    const js = Buffer.from(output[0].code)
    // modules that contribute code (moduleIds also lists tree-shaken ones)
    const modules = Object.values(output[0].modules).filter((m) => m.renderedLength > 0).length
    return { js, min: js.length, gzip: gz(js), brotli: br(js), modules, wasm: [...wasm], warnings }
  } finally {
    await bundle.close()
  }
}

/** Sizes of the shipped .wasm files (raw, gzip -9, brotli). */
const wasmSizes = async (files) => {
  const found = files.filter((f) => existsSync(f))
  const bufs = found.map((f) => readFileSync(f))
  const sum = (xs) => xs.reduce((a, b) => a + b, 0)
  return {
    files: found.map((f) => f.slice(f.lastIndexOf('node_modules/') + 'node_modules/'.length)),
    raw: sum(bufs.map((b) => b.length)),
    gzip: sum(bufs.map(gz)),
    brotli: sum(await Promise.all(bufs.map(brAsync)))
  }
}

/** Two replicas of the bundled `Doc` converge after one update each way. */
const checkDocSync = (Doc, what) => {
  check(typeof Doc === 'function', `${what}: Doc is exported`)
  const alice = new Doc({ replicaId: 'alice' })
  const bob = new Doc({ replicaId: 'bob' })
  let updates = 0
  alice.on('update', (u) => { updates++; bob.applyUpdate(u) })
  bob.on('update', (u) => { updates++; alice.applyUpdate(u) })
  alice.transact(() => {
    alice.map('tasks').map('t1').register('title').set('Write the docs')
    alice.map('tasks').map('t1').counter('votes').increment()
  })
  bob.map('tasks').map('t1').counter('votes').increment(2)
  const a = JSON.stringify(alice.toJSON())
  check(updates >= 2, `${what}: updates were emitted`)
  check(a === JSON.stringify(bob.toJSON()), `${what}: replicas converge (${a} vs ${JSON.stringify(bob.toJSON())})`)
  check(alice.toJSON().tasks?.t1?.votes === 3, `${what}: counter merged to 3 (${a})`)
}

/**
 * Runs the bundle-size benchmark; returns `{ markdown, results }`, `markdown`
 * being the `## (f) Bundle size (minified + gzipped)` section of bench/RESULTS.md.
 *
 * @param {any} _lib the built module namespace (unused: the bench bundles dist/index.js itself)
 * @param {{ log?: (...a: any[]) => void, dist?: string }} [options]
 */
export async function run (_lib, { log = console.log, dist = DIST } = {}) {
  if (!existsSync(dist)) {
    log('[size] dist/index.js is missing: building it with `npx rollup -c`')
    execFileSync('npx', ['rollup', '-c'], { cwd: ROOT, stdio: 'ignore' })
  }
  const core = JSON.stringify(resolve(dist))
  const tmp = mkdtempSync(join(tmpdir(), 'aegis-size-'))
  try {
    // --- Loro and Automerge: JS glue + the .wasm they ship (never fail the whole bench)
    const wasmLib = async (entry) => {
      try {
        const b = await build(entry)
        check(b.wasm.length > 0, `no .wasm file found for ${entry}`)
        return { js: b, wasm: await wasmSizes(b.wasm) }
      } catch (err) {
        log(`[size] ${entry}: ${err.message}`)
        return { error: String(err.message ?? err).split('\n')[0] }
      }
    }
    // started first: their wasm compresses in the thread pool while the rest builds
    const loroP = wasmLib("export * from 'loro-crdt'")
    const automergeP = wasmLib("export * from '@automerge/automerge'")

    // --- aegis: everything, and single named imports (tree-shaking)
    // (all five JS bundles at once: terser runs in worker threads)
    const [everything, docOnly, ringOnly, yEverything, yDoc] = await Promise.all([
      build(`export * from ${core}`),
      build(`export { Doc } from ${core}`),
      build(`export { HashRing } from ${core}`),
      build("export * from 'yjs'"),
      build("export { Doc } from 'yjs'")
    ])

    // --- the bundles work: import them and use them
    const load = async (name, b) => {
      const file = join(tmp, `${name}.mjs`)
      writeFileSync(file, b.js)
      return import(pathToFileURL(file).href)
    }
    const all = await load('everything', everything)
    checkDocSync(all.Doc, 'everything bundle')
    check(typeof all.HashRing === 'function' && typeof all.xxh64 === 'function', 'everything bundle exports HashRing and xxh64')
    checkDocSync((await load('doc-only', docOnly)).Doc, 'Doc-only bundle')
    const { HashRing } = await load('ring-only', ringOnly)
    const r = new HashRing()
    for (const n of ['a', 'b', 'c']) r.addNode(n)
    check(new Set(Array.from({ length: 100 }, (_, i) => r.getNode(`k${i}`))).size === 3, 'HashRing-only bundle spreads keys over its 3 nodes')
    check(docOnly.gzip < everything.gzip, 'Doc-only bundle is smaller than everything')
    check(ringOnly.gzip < 0.25 * everything.gzip, 'HashRing-only bundle is under 25 % of everything')

    // --- Yjs
    const Y = await load('yjs-everything', yEverything)
    {
      const d1 = new Y.Doc()
      const d2 = new Y.Doc()
      d1.getMap('m').set('k', 1)
      Y.applyUpdate(d2, Y.encodeStateAsUpdate(d1))
      check(d2.getMap('m').get('k') === 1, 'Yjs bundle syncs')
    }

    const loro = await loroP
    const automerge = await automergeP

    const strip = ({ js, ...rest }) => rest
    const results = {
      aegis: { everything: strip(everything), docOnly: strip(docOnly), hashRingOnly: strip(ringOnly) },
      yjs: { everything: strip(yEverything), docOnly: strip(yDoc) },
      loro: loro.error ? loro : { js: strip(loro.js), wasm: loro.wasm },
      automerge: automerge.error ? automerge : { js: strip(automerge.js), wasm: automerge.wasm },
      ratioToYjs: { everything: everything.gzip / yEverything.gzip, docOnly: docOnly.gzip / yDoc.gzip }
    }

    const kb = (n) => `${fmt(n / 1024, 1)} KiB`
    const row = (label, b) => [label, bytes(b.min), bytes(b.gzip), kb(b.gzip), bytes(b.brotli), fmt(b.modules)]
    const wasmRow = (label, x, note) => x.error
      ? [`${label} ${note}`, 'n/a', 'n/a', 'n/a', 'n/a', `n/a: ${x.error}`]
      : [`${label} ${note}`, `${bytes(x.js.min)} + ${bytes(x.wasm.raw)} wasm`,
          `${bytes(x.js.gzip)} + ${bytes(x.wasm.gzip)}`, kb(x.js.gzip + x.wasm.gzip),
          `${bytes(x.js.brotli)} + ${bytes(x.wasm.brotli)}`, fmt(x.js.modules)]
    const wasmNote = (name, x) => x.error
      ? `${name}: n/a (${x.error}).`
      : `${name}: JS glue bundled by rollup (wasm imports left external) plus \`${x.wasm.files.join('`, `')}\`.`
    const times = (a, b) => `${fmt(a / b, 2)}×`
    const markdown = [
      '## (f) Bundle size (minified + gzipped)',
      '',
      `Each entry is bundled by rollup ${versionOf('rollup')} for the browser (\`@rollup/plugin-node-resolve\`, conditions \`browser\`, \`import\`, \`default\`; lib0 and every other dependency inlined), minified by terser with its defaults, then compressed with gzip -9 and brotli (quality 11). "Everything" is \`export * from '<entry>'\`; \`{ Doc }\` and \`{ HashRing }\` are single named imports, i.e. what tree-shaking leaves. The three aegis bundles were imported in Node and exercised (two \`Doc\`s synced and converged; a \`HashRing\` spread keys) before their sizes counted; so was the Yjs bundle.`,
      '',
      table(['bundle', 'minified', 'gzip', 'gzip, total', 'brotli', 'modules'], [
        row('**aegis-replication**, everything', everything),
        row('aegis-replication, `{ Doc }`', docOnly),
        row('aegis-replication, `{ HashRing }`', ringOnly),
        row(`Yjs ${versionOf('yjs')}, everything`, yEverything),
        row(`Yjs ${versionOf('yjs')}, \`{ Doc }\``, yDoc),
        wasmRow(`Loro ${versionOf('loro-crdt')}`, loro, 'JS + wasm¹'),
        wasmRow(`Automerge ${versionOf('@automerge/automerge')}`, automerge, 'JS + wasm¹')
      ]),
      '',
      `¹ ${wasmNote('Loro', loro)} ${wasmNote('Automerge', automerge)} The wasm is fetched and compiled separately from the JS, so its size is shown as a second term.`,
      '',
      `Conclusion: the whole core entry of aegis-replication is ${kb(everything.gzip)} gzipped, ${times(everything.gzip, yEverything.gzip)} Yjs's ${kb(yEverything.gzip)}; \`{ Doc }\` alone is ${times(docOnly.gzip, yDoc.gzip)} Yjs's \`{ Doc }\`${[loro.error ? null : `Loro (JS + wasm) is ${fmt((loro.js.gzip + loro.wasm.gzip) / everything.gzip, 0)}×`, automerge.error ? null : `Automerge ${fmt((automerge.js.gzip + automerge.wasm.gzip) / everything.gzip, 0)}×`].filter(Boolean).map((x, i, a) => (i === 0 ? '; ' : ' and ') + x).join('')}${loro.error && automerge.error ? '' : ' the size of ours'}.`
    ].join('\n')
    return { markdown, results }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

// sizes, not timings: every bundle is built in one fresh process
export const title = '(f) bundle size'
export const jobs = () => [{ contender: 'all' }]
export const measure = (_job, { log }) => run(undefined, { log })
export const render = (outs) => outs[0].result.markdown
await suiteMain(import.meta.url, { jobs, measure, render })
