// ESM bundles and one .d.ts per subpath export (see package.json "exports").
// Dependencies stay external (shared with the app's other code), and so does
// the package itself: adapters import the core through 'aegis-replication',
// so an app that uses several entry points has one copy of the core.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import typescript from '@rollup/plugin-typescript'
import { dts } from 'rollup-plugin-dts'

const entries = {
  index: 'src/index.ts',
  transport: 'src/transport/index.ts',
  testing: 'src/testing/index.ts',
  sync: 'src/sync/index.ts',
  config: 'src/config/index.ts'
}
// entries of the core that are their own subpath
for (const name of ['raft', 'cluster', 'transaction']) {
  if (existsSync(`src/${name}/index.ts`)) entries[name] = `src/${name}/index.ts`
}
// every adapters/<name>/index.ts is the entry `aegis-replication/<name>`
for (const name of existsSync('adapters') ? readdirSync('adapters') : []) {
  if (existsSync(`adapters/${name}/index.ts`)) entries[name] = `adapters/${name}/index.ts`
}
// every runtime dependency (and optional peer dependency) of package.json, and the package itself
const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'))
const DEPENDENCIES = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {}), 'aegis-replication']
const external = (id) => id.startsWith('node:') || DEPENDENCIES.some(d => id === d || id.startsWith(`${d}/`))

export default [
  {
    input: entries,
    external,
    output: {
      dir: 'dist',
      format: 'es',
      entryFileNames: '[name].js',
      chunkFileNames: 'chunks/[name]-[hash].js',
      sourcemap: true
    },
    plugins: [typescript({ tsconfig: './tsconfig.build.json', declaration: false, declarationMap: false, sourceMap: true, outDir: 'dist', rootDir: '.' })],
    treeshake: { moduleSideEffects: false }
  },
  {
    // one build for all entries: types used by several entries (Doc, errors)
    // live in shared chunks, so they are the same type everywhere
    input: entries,
    external,
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].d.ts', chunkFileNames: 'chunks/[name]-[hash].d.ts' },
    plugins: [dts({ tsconfig: './tsconfig.build.json' })]
  }
]
