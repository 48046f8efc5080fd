import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Server suites share one PostgreSQL and one MariaDB; each file uses its own tables.
    fileParallelism: true,
    maxWorkers: 2,
  },
})
