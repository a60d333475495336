import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (p: string): string => fileURLToPath(new URL(`./src/${p}`, import.meta.url))

export default defineConfig({
  resolve: {
    // examples and tests import the package by name, as users do
    alias: [
      { find: /^aegis-replication$/, replacement: src('index.ts') },
      { find: /^aegis-replication\/transport$/, replacement: src('transport/index.ts') },
      { find: /^aegis-replication\/testing$/, replacement: src('testing/index.ts') },
      { find: /^aegis-replication\/sync$/, replacement: src('sync/index.ts') }
    ]
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
