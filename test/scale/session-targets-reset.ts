/** Imported last by pgbouncer-sessions.test.ts: later files get the usual session targets. */
delete (globalThis as { athanorSessionTargets?: unknown }).athanorSessionTargets
