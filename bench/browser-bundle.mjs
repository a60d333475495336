// What the Chromium benches share: Debian's Chromium and its flags (see
// /work/shared/TOOLCHAIN.md), and the bundling of a page's ES module: `aegis-replication[/x]`
// is the built dist/ (one copy of the core), every other import is resolved
// from node_modules for the browser and inlined; `cjs` maps CommonJS-only
// packages (specifier → file) to wrap as ES modules.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { rollup } from 'rollup'
import { nodeResolve } from '@rollup/plugin-node-resolve'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

export const CHROMIUM = '/usr/bin/chromium'
/** Flags every bench passes; the last keeps Chromium from calling an update service at start-up. */
export const CHROMIUM_BASE_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--component-updater=url-source=http://127.0.0.1:9/'
]
const ENTRY = '\0bench-page-entry'

/**
 * Resolves to `{ code, modules }`: the bundle and the ids of the modules in
 * it. Throws if it holds anything from src/, or, with `core`, if it lacks
 * the built dist/index.js (one copy of the core, the shipped one).
 */
export const bundleForBrowser = async (code, { cjs = {}, core = false } = {}) => {
  const bundled = await rollup({
    input: ENTRY,
    plugins: [
      {
        name: 'bench-page',
        resolveId (id) {
          if (id === ENTRY) return id
          if (id === 'aegis-replication') return join(ROOT, 'dist/index.js')
          if (id.startsWith('aegis-replication/')) return join(ROOT, `dist/${id.slice('aegis-replication/'.length)}.js`)
          if (id in cjs) return `\0cjs:${id}`
          return null
        },
        async load (id) {
          if (id === ENTRY) return code
          if (id.startsWith('\0cjs:')) {
            const src = await readFile(cjs[id.slice(5)], 'utf8')
            return `const module = { exports: {} }; const exports = module.exports;\n${src}\nexport default module.exports;\n`
          }
          return null
        }
      },
      nodeResolve({ browser: true, exportConditions: ['browser', 'import', 'default'], rootDir: ROOT })
    ],
    onwarn: (w) => {
      if (w.code === 'UNRESOLVED_IMPORT') throw new Error(`cannot resolve '${w.exporter}'`)
    }
  })
  try {
    const { output } = await bundled.generate({ format: 'es', inlineDynamicImports: true })
    const modules = Object.keys(output[0].modules)
    if (core && !modules.includes(join(ROOT, 'dist/index.js'))) throw new Error('benchmark verification failed: the aegis bundle lacks dist/index.js')
    if (modules.some((m) => m.includes('/src/') && !m.includes('node_modules'))) throw new Error('benchmark verification failed: the bundle holds a src/ module')
    return { code: output[0].code, modules }
  } finally {
    await bundled.close()
  }
}
