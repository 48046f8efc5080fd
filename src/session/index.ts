export {
  Column,
  type ColumnKind,
  type ColumnRef,
  type ColumnSpec,
  type ForeignKeySpec,
  type ForeignKeyTarget,
  type ReferentialAction,
  bigint,
  bigserial,
  boolean,
  identity,
  integer,
  json,
  numeric,
  real,
  serial,
  text,
  timestamp,
  uuid,
  varchar,
  type BigintOptions,
  blob,
  bytea,
  date,
  doublePrecision,
  type EnumOptions,
  enumType,
  type JsonOptions,
  jsonb,
  smallint,
  time,
  timestamptz,
} from './column.js'
export {
  compileAddForeignKey,
  compileCreateIndexes,
  compileCreateTable,
  compileDropForeignKey,
  compileDropTable,
  foreignKeyName,
} from './ddl.js'
export {
  DependencyCycleError,
  DetachedInstanceError,
  ExpiredAttributeError,
  FlushError,
  InvalidRequestError,
  MappingError,
  ObjectNotFoundError,
  RelationshipNotLoadedError,
  SessionClosedError,
  StaleDataError,
} from './errors.js'
export type { SessionEventName, SessionListener } from './events.js'
export { type DatabaseOf, type DdlBind, MetaData } from './metadata.js'
export { type ModelClass, Model, type RelationshipMap, relate } from './mapper.js'
export {
  type ManyToManyOptions,
  manyToMany,
  manyToOne,
  oneToMany,
  type RelationshipKind,
  type RelationshipOptions,
  type RelationshipSpec,
} from './relationship.js'
export { type ScopedSession, scopedSession } from './scoped-session.js'
export { compileResetSequences, resetSequences } from './sequences.js'
export type { Awaitable } from './awaitable.js'
export { DEFAULT_STREAM_BATCH, type StreamOptions } from './stream.js'
export {
  type ModelDB,
  type NestedTransaction,
  objectState,
  type QueryOptions,
  Session,
  type SessionOptions,
} from './session.js'
export { type SessionFactory, sessionmaker } from './sessionmaker.js'
export {
  type ColumnsShape,
  type KyselyTableOf,
  type RowOf,
  Table,
  type TableColumn,
  type TableOptions,
  table,
  type ValueOf,
} from './table.js'
