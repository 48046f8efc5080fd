/**
 * Imported first by pgbouncer-sessions.test.ts: the session suites it then
 * imports run on one target, PostgreSQL through PgBouncer (transaction pooling).
 */
import type { Target } from '../session/helpers.js'
import { PGBOUNCER_URL, runPgbouncer, withPooler } from '../support/servers.js'

// Named 'postgresql': the suites' PostgreSQL-specific expectations hold through the pooler too.
const targets: readonly Target[] = [{ name: 'postgresql', url: withPooler(PGBOUNCER_URL, 'transaction'), run: runPgbouncer }]
;(globalThis as { athanorSessionTargets?: readonly Target[] }).athanorSessionTargets = targets
