// ESM bundles and one .d.ts per subpath export (see package.json "exports").
// lib0 stays external: it is a dependency, shared with the app's other code.
import typescript from '@rollup/plugin-typescript'
import { dts } from 'rollup-plugin-dts'

const entries = {
  index: 'src/index.ts',
  transport: 'src/transport/index.ts',
  testing: 'src/testing/index.ts',
  sync: 'src/sync/index.ts'
}
const external = (id) => id === 'lib0' || id.startsWith('lib0/')

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
    plugins: [typescript({ tsconfig: './tsconfig.json', declaration: false, declarationMap: false, sourceMap: true, outDir: 'dist', rootDir: 'src' })],
    treeshake: { moduleSideEffects: false }
  },
  {
    // one build for all entries: types used by several entries (Doc, errors)
    // live in shared chunks, so they are the same type everywhere
    input: entries,
    external,
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].d.ts', chunkFileNames: 'chunks/[name]-[hash].d.ts' },
    plugins: [dts({ tsconfig: './tsconfig.json' })]
  }
]
