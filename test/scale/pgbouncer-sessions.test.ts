/**
 * The session suites through PgBouncer in `pool_mode = transaction`
 * (`?pgbouncer=transaction`): every Session, unit-of-work and commit promise
 * holds when each transaction may get another server connection.
 * (Their describe blocks say "postgresql": this file is the PgBouncer run.)
 */
import './session-targets-pgbouncer.js'
import '../session/session.test.js'
import '../session/commit-promises.test.js'
import '../session/flush-order.test.js'
import '../session/uow-fast-paths.test.js'
import '../session/column-types.test.js'
import '../session/values.test.js'
import '../session/schema.test.js'
import './session-targets-reset.js'
