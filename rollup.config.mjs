// ESM bundles and one .d.ts per subpath export (see package.json "exports").
// lib0 stays external: it is a dependency, shared with the app's other code.
import typescript from '@rollup/plugin-typescript'
import { dts } from 'rollup-plugin-dts'

const entries = {
  index: 'src/index.ts',
  transport: 'src/transport/index.ts',
  testing: 'src/testing/index.ts'
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
  ...Object.entries(entries).map(([name, input]) => ({
    input,
    external,
    output: { file: `dist/${name}.d.ts`, format: 'es' },
    plugins: [dts({ tsconfig: './tsconfig.json' })]
  }))
]
