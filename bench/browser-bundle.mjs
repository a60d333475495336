// Bundles a page's ES module for the Chromium benches: `aegis-replication[/x]`
// is the built dist/ (one copy of the core), every other import is resolved
// from node_modules for the browser and inlined; `cjs` maps CommonJS-only
// packages (specifier → file) to wrap as ES modules.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { rollup } from 'rollup'
import { nodeResolve } from '@rollup/plugin-node-resolve'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const ENTRY = '\0bench-page-entry'

/** Resolves to `{ code, modules }`: the bundle and the ids of the modules in it. */
export const bundleForBrowser = async (code, { cjs = {} } = {}) => {
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
    return { code: output[0].code, modules: Object.keys(output[0].modules) }
  } finally {
    await bundled.close()
  }
}
