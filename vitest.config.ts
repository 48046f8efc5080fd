import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    // pg must never have to queue a statement behind a running one (athanor queues them).
    setupFiles: ['test/support/no-driver-queueing-warning.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Server suites share one PostgreSQL and one MariaDB; each file uses its own tables.
    fileParallelism: true,
    maxWorkers: 2,
  },
})
