import { defineConfig } from 'vitest/config'
import base from './vitest.config.ts'

/**
 * `npm run test:long`: the long attack and soak runs (test/long/*.long.ts),
 * which the default config (`test/**\/*.test.ts`) never picks up.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/long/**/*.long.ts'],
    testTimeout: 60 * 60_000,
    hookTimeout: 120_000
  }
})
