/**
 * athanor: a SQLAlchemy-style engine, connection pool and unit-of-work
 * session for TypeScript, on Kysely.
 *
 * ```ts
 * import { createEngine, sessionmaker } from 'athanor'
 *
 * const engine = createEngine<DB>('postgresql://app@localhost/app', { poolSize: 10 })
 * const Session = sessionmaker({ bind: engine })
 * await Session.begin(async (session) => { session.add(new Author({ name: 'Ada' })) })
 * ```
 *
 * This is the only public entry: everything public is exported here.
 */
export * from './pool/index.js'
export * from './engine/index.js'
export * from './session/index.js'
export * from './migrate/index.js'
