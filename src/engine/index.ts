/**
 * The engine layer: URLs, dialects, Engine, Connection and the Kysely driver
 * on the pool.
 *
 * ```ts
 * import { createEngine } from './engine/index.js'
 * const engine = createEngine('sqlite://')
 * ```
 */
export { createEngine } from './create-engine.js'
export { DatabaseEngine } from './engine.js'
export { EngineConnection } from './connection.js'
export { EngineUrl, parseUrl, KNOWN_QUERY_PARAMETERS } from './url.js'
export type { UrlParts, RenderOptions } from './url.js'
export { ENGINE_OPTION_NAMES, ISOLATION_LEVELS, POOL_CLASS_NAMES, validateEngineOptions } from './options.js'
export { DEFAULT_PAGE_SIZE } from './insert-many.js'
export { observeStatements } from './statement-observer.js'
export type { StatementObserver, StatementEnd } from './statement-observer.js'
export type { LogFormat, LogEvent, LogRecord } from './echo.js'
export {
  UrlError,
  EngineOptionError,
  DriverNotInstalledError,
  DatabaseError,
  IntegrityError,
  DisconnectError,
  StatementTimeoutError,
  ConnectionClosedError,
  TransactionError,
  TransactionRolledBackError,
  InsertManyError,
  NotSupportedError,
  InvalidValueError,
  StatementTooLargeError,
  TlsUnavailableError,
  ConnectionBudgetError,
  TransactionPoolingError,
} from './errors.js'
export { budgetReport, DEFAULT_BUDGET_SHARE } from './connection-budget.js'
export { ReplicaRoutingEngine, createRoutingEngine } from './replicas/routing-engine.js'
export type { ReplicaRoutingOptions, ReplicaStatus, RoutingEngine, RoutingStatus } from './replicas/types.js'
export type { ConnectionBudgetOptions } from './connection-budget.js'
export type { DatabaseErrorDetails, IntegrityDetails, IntegrityKind } from './errors.js'
export type { EngineKyselyOptions } from './kysely-options.js'
export type {
  Connection,
  ConnectOptions,
  DialectCapabilities,
  DialectName,
  Engine,
  EngineOptions,
  InsertManyOptions,
  IsolationLevel,
  Logger,
  Transaction,
} from './types.js'
