import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const root = (p: string): string => fileURLToPath(new URL(`./${p}`, import.meta.url))

/** `aegis-replication/<name>` is `src/<name>/index.ts` or `adapters/<name>/index.ts`, as in the build. */
const entry = (name: string): string =>
  existsSync(root(`src/${name}/index.ts`)) ? root(`src/${name}/index.ts`) : root(`adapters/${name}/index.ts`)

export default defineConfig({
  resolve: {
    // examples, tests and adapters import the package by name, as users do
    alias: [
      { find: /^aegis-replication$/, replacement: root('src/index.ts') },
      {
        find: /^aegis-replication\/([a-z-]+)$/,
        replacement: '$1',
        customResolver: (id: string) => entry(id)
      }
    ]
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
