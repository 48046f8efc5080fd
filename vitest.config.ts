import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    // pg must never have to queue a statement behind a running one (athanor queues them).
    setupFiles: ['test/support/no-driver-queueing-warning.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    // Set-ups start PGlite (WebAssembly: seconds on a quiet machine, tens of
    // seconds on a loaded one), private PostgreSQL clusters and real servers'
    // tables. A hook that hangs still fails; it only takes longer to say so.
    hookTimeout: 180_000,
    expect: {
      // expect.poll waits for progress (a server-side count, an event); it is
      // never a speed assertion, so it waits as long as a busy machine needs.
      poll: { timeout: 15_000 },
    },
    // Server suites share one PostgreSQL and one MariaDB; each file uses its own tables.
    fileParallelism: true,
    maxWorkers: 2,
  },
})
