import { stripOuterParens } from '../engine/dialects/sql-literals.js'
import type { DialectName } from '../engine/types.js'
import { resolveForeignKey } from '../session/column.js'
import { renderServerDefault } from '../session/ddl.js'
import type { MetaData } from '../session/metadata.js'
import { sqlDialect } from '../session/sql-dialect.js'
import type { AnyTable, TableColumn } from '../session/table.js'
import type { DdlStrategies } from './dialect-support.js'
import { constraintNames } from './diff.js'
import { invertOperation, type Operation } from './operations.js'
import { migrationSupport } from './support-registry.js'

/**
 * What {@link generateMigration} writes into a file.
 *
 * ```ts
 * const text = generateMigration({ revision: 'a1b2c3d4e5f6', parent: null, message: 'init', dialect: 'sqlite', operations, target: metadata, current: reflected })
 * ```
 */
export interface GenerateMigrationOptions {
  readonly revision: string
  readonly parent: string | null
  readonly message: string
  readonly dialect: DialectName
  /** From {@link diff}: the `up` operations; `down` is their inverse. */
  readonly operations: readonly Operation[]
  /** The models (the state after `up`), for tables SQLite rebuilds. */
  readonly target: MetaData
  /** The database as reflected (the state before `up`), for tables SQLite rebuilds back in `down`. */
  readonly current: MetaData
  /** Written into the header. Default now. */
  readonly createdAt?: Date
  /** `'ts'` (default) or `'js'` (ESM with JSDoc types). */
  readonly language?: 'ts' | 'js'
}

/** A rendering step: one operation, or a SQLite table rebuild that stands for all of one table's. */
type Step = { readonly op: Operation } | { readonly rebuild: AnyTable; readonly from: AnyTable }

const str = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
const tpl = (s: string) => s.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${')
const strList = (xs: readonly string[]) => `[${xs.map(str).join(', ')}]`

class Renderer {
  readonly ddl: DdlStrategies
  usesRebuild = false

  constructor(readonly dialect: DialectName) {
    this.ddl = migrationSupport(dialect).ddl
  }

  type(col: TableColumn): string {
    return `sql\`${tpl(sqlDialect(this.dialect).columnType(col))}\``
  }

  /** `.notNull().defaultTo(...)`, and the generated-key modifiers. */
  modifiers(col: TableColumn, inPlaceAdd: boolean): string[] {
    const mods: string[] = []
    if (col.autoIncrement) {
      if (this.ddl.identity === 'generatedByDefaultAsIdentity') mods.push('notNull()', 'generatedByDefaultAsIdentity()')
      else if (this.ddl.identity === 'autoIncrement') mods.push('notNull()', 'autoIncrement()')
      else mods.push('primaryKey()', 'autoIncrement()')
      return mods
    }
    if (!col.nullable) mods.push('notNull()')
    let def = renderServerDefault(col, this.dialect)
    if (def !== undefined && inPlaceAdd && this.ddl.addColumnLiteralDefaultOnly) def = stripOuterParens(def)
    if (def !== undefined) mods.push(`defaultTo(sql\`${tpl(def)}\`)`)
    return mods
  }

  column(col: TableColumn, inPlaceAdd = false): string {
    const mods = this.modifiers(col, inPlaceAdd)
    return `${str(col.name)}, ${this.type(col)}${mods.length > 0 ? `, (col) => col.${mods.join('.')}` : ''}`
  }

  fkActions(onDelete?: string, onUpdate?: string): string {
    const parts = [onDelete && `onDelete(${str(onDelete)})`, onUpdate && `onUpdate(${str(onUpdate)})`].filter(Boolean)
    return parts.length > 0 ? `, (fk) => fk.${parts.join('.')}` : ''
  }

  /** `db.schema.createTable(<nameExpr>)...` without `.execute()`, one builder call a line. */
  createTable(t: AnyTable, nameExpr: string, indent: string): string {
    const lines = [`db.schema`, `.createTable(${nameExpr})`]
    for (const col of t.columnList) lines.push(`.addColumn(${this.column(col)})`)
    const rowid = this.ddl.identity === 'rowidAutoIncrement' && t.columnList.some((c) => c.autoIncrement)
    if (!rowid) lines.push(`.addPrimaryKeyConstraint(${str(constraintNames.primaryKey(t.name))}, ${strList(t.primaryKey)})`)
    const uniques = [...t.columnList.filter((c) => c.unique).map((c) => [c.name]), ...t.uniqueConstraints]
    for (const u of uniques) lines.push(`.addUniqueConstraint(${str(constraintNames.unique(t.name, u))}, ${strList(u)})`)
    for (const col of t.columnList) {
      if (!col.references) continue
      const ref = resolveForeignKey(col.references, t.name)
      lines.push(
        `.addForeignKeyConstraint(${str(constraintNames.foreignKey(t.name, col.name))}, ${strList([col.name])}, ${str(ref.table)}, ${strList([ref.column])}${this.fkActions(col.references.onDelete, col.references.onUpdate)})`,
      )
    }
    return lines.join(`\n${indent}  `)
  }

  createIndex(table: string, name: string, columns: readonly string[]): string {
    return `await db.schema.createIndex(${str(name)}).on(${str(table)}).columns(${strList(columns)}).execute()`
  }

  dropIndex(table: string, name: string): string {
    return `await db.schema.dropIndex(${str(name)})${this.ddl.dropIndexOnTable ? `.on(${str(table)})` : ''}.execute()`
  }

  alterTable(table: string, rest: string): string {
    return `await db.schema.alterTable(${str(table)}).${rest}.execute()`
  }

  step(step: Step): string[] {
    if ('rebuild' in step) return this.rebuild(step.rebuild, step.from)
    const op = step.op
    switch (op.kind) {
      case 'createTable':
        return [
          `await ${this.createTable(op.table, str(op.table.name), '  ')}`,
          `  .execute()`,
          ...op.table.indexes.map((ix) => this.createIndex(op.table.name, constraintNames.index(op.table.name, ix), ix)),
        ]
      case 'dropTable':
        return [`await db.schema.dropTable(${str(op.table.name)}).execute()`]
      case 'addColumn': {
        const out: string[] = []
        if (op.possibleRenameOf) {
          out.push(
            `// "${op.possibleRenameOf}" is dropped from "${op.table}" with the same type: if this is a rename, replace`,
            `// this add and that drop with .renameColumn(${str(op.possibleRenameOf)}, ${str(op.column.name)}) to keep the data.`,
          )
        }
        if (!op.column.nullable && op.column.serverDefault === undefined && !op.column.autoIncrement) {
          out.push(`// NOT NULL without a server default: this fails if "${op.table}" has rows.`)
        }
        out.push(this.alterTable(op.table, `addColumn(${this.column(op.column, true)})`))
        return out
      }
      case 'dropColumn':
        return [this.alterTable(op.table, `dropColumn(${str(op.column.name)})`)]
      case 'alterColumn': {
        const col = op.to
        // MySQL restates the whole column.
        if (this.ddl.alterColumn === 'modifyColumn') return [this.alterTable(op.table, `modifyColumn(${this.column(col)})`)]
        const parts: string[] = []
        const q = sqlDialect(this.dialect).quote(col.name)
        const type = sqlDialect(this.dialect).columnType(col)
        if (op.changes.includes('type')) parts.push(`alterColumn(${str(col.name)}, (col) => col.setDataType(sql\`${tpl(`${type} USING ${q}::${type}`)}\`))`)
        if (op.changes.includes('nullable')) parts.push(`alterColumn(${str(col.name)}, (col) => col.${col.nullable ? 'dropNotNull' : 'setNotNull'}())`)
        if (op.changes.includes('serverDefault')) {
          const def = renderServerDefault(col, this.dialect)
          parts.push(`alterColumn(${str(col.name)}, (col) => col.${def === undefined ? 'dropDefault()' : `setDefault(sql\`${tpl(def)}\`)`})`)
        }
        return [this.alterTable(op.table, parts.join('.'))]
      }
      case 'createIndex':
        return [this.createIndex(op.table, op.name, op.columns)]
      case 'dropIndex':
        return [this.dropIndex(op.table, op.name)]
      case 'addUnique':
        return [this.alterTable(op.table, `addUniqueConstraint(${str(op.name)}, ${strList(op.columns)})`)]
      case 'dropUnique':
        return [this.ddl.dropUniqueAsIndex ? this.dropIndex(op.table, op.name) : this.alterTable(op.table, `dropConstraint(${str(op.name)})`)]
      case 'addForeignKey':
        return [
          this.alterTable(
            op.table,
            `addForeignKeyConstraint(${str(op.name)}, ${strList([op.column])}, ${str(op.target.table)}, ${strList([op.target.column])}${this.fkActions(op.onDelete, op.onUpdate)})`,
          ),
        ]
      case 'dropForeignKey':
        return [
          this.alterTable(op.table, `dropConstraint(${str(op.name)})`),
          ...(this.ddl.foreignKeyIndex && op.ownIndex
            ? [`// InnoDB made this index for the foreign key and keeps it after the key is dropped.`, this.dropIndex(op.table, op.ownIndex)]
            : []),
        ]
    }
  }

  rebuild(t: AnyTable, from: AnyTable): string[] {
    this.usesRebuild = true
    const copy = t.columnList.filter((c) => from.column(c.name)).map((c) => c.name)
    const lost = from.columnList.filter((c) => !t.column(c.name)).map((c) => c.name)
    return [
      `// SQLite cannot ALTER this: the table is rebuilt (create, copy, drop, rename), foreign keys checked after.`,
      ...(lost.length > 0 ? [`// Dropped with the rebuild: ${lost.join(', ')}.`] : []),
      `await rebuildTable(db, {`,
      `  table: ${str(t.name)},`,
      `  create: (name) =>`,
      `    ${this.createTable(t, 'name', '    ')},`,
      `  copy: ${strList(copy)},`,
      `  indexes: [${t.indexes.map((ix) => `{ name: ${str(constraintNames.index(t.name, ix))}, columns: ${strList(ix)} }`).join(', ')}],`,
      `})`,
    ]
  }

  /** Whether SQLite can do `op` in place; otherwise its table is rebuilt. */
  inPlace(op: Operation): boolean {
    if (this.ddl.alterConstraints !== 'rebuild') return true
    switch (op.kind) {
      case 'createTable':
      case 'dropTable':
      case 'createIndex':
      case 'dropIndex':
        return true
      case 'addColumn': {
        const c = op.column
        if (c.primaryKey || c.unique || c.autoIncrement) return false
        const def = renderServerDefault(c, this.dialect)
        const literal = def === undefined || !/[()]/.test(stripOuterParens(def))
        return literal && (c.nullable || def !== undefined)
      }
      default:
        return false
    }
  }

  /** Steps for one direction: SQLite tables needing a rebuild become one step each, in place of their operations. */
  plan(ops: readonly Operation[], after: MetaData, before: MetaData): Step[] {
    const rebuilt = new Set<string>()
    for (const op of ops) if (!this.inPlace(op)) rebuilt.add(tableOf(op))
    const steps: Step[] = []
    let placed = false
    for (const op of ops) {
      if (rebuilt.has(tableOf(op))) continue
      if (!placed && op.kind === 'dropTable') placed = this.placeRebuilds(steps, rebuilt, after, before)
      steps.push({ op })
    }
    if (!placed) this.placeRebuilds(steps, rebuilt, after, before)
    return steps
  }

  private placeRebuilds(steps: Step[], tables: ReadonlySet<string>, after: MetaData, before: MetaData): true {
    for (const name of tables) {
      const t = after.table(name)
      const from = before.table(name)
      if (t && from) steps.push({ rebuild: t, from })
    }
    return true
  }
}

function tableOf(op: Operation): string {
  return op.kind === 'createTable' || op.kind === 'dropTable' ? op.table.name : op.table
}

/**
 * The text of a TypeScript migration file for `operations` (from {@link diff}):
 * `up` applies them with Kysely's schema builder, `down` undoes them in
 * reverse. Written for one dialect; on SQLite, what `ALTER TABLE` cannot do is a
 * call to {@link rebuildTable}.
 *
 * ```ts
 * const ops = diff(metadata, reflected)
 * const text = generateMigration({ revision: newRevisionId(), parent: null, message: 'init', dialect: 'postgresql', operations: ops, target: metadata, current: reflected })
 * ```
 */
export function generateMigration(options: GenerateMigrationOptions): string {
  const r = new Renderer(options.dialect)
  const render = (steps: Step[]) => {
    const body = steps.flatMap((s) => r.step(s))
    return body.length === 0 ? ['  // nothing to do'] : body.map((line) => `  ${line}`)
  }
  const up = render(r.plan(options.operations, options.target, options.current))
  const inverse = options.operations.map(invertOperation).reverse()
  const down = render(r.plan(inverse, options.current, options.target))
  const createdAt = (options.createdAt ?? new Date()).toISOString()
  const ts = options.language !== 'js'
  const fn = (name: string) =>
    ts
      ? [`export async function ${name}({ db, sql }: MigrationContext): Promise<void> {`]
      : [`/** @param {import('athanor').MigrationContext} context */`, `export async function ${name}({ db, sql }) {`]
  const lines = [
    `/**`,
    ` * ${options.message.replace(/\*\//g, '* /')}`,
    ` *`,
    ` * Revision: ${options.revision}`,
    ` * Parent: ${options.parent ?? '(none)'}`,
    ` * Created: ${createdAt}`,
    ` * Generated for ${options.dialect} by \`athanor migrate revision --autogenerate\`: read it before you apply it.`,
    ` */`,
    ...(ts ? [`import type { MigrationContext } from 'athanor'`] : []),
    ...(r.usesRebuild ? [`import { rebuildTable } from 'athanor'`] : []),
    ``,
    `export const revision = ${str(options.revision)}`,
    `export const parent${ts ? ': string | null' : ''} = ${options.parent === null ? 'null' : str(options.parent)}`,
    `export const message = ${str(options.message)}`,
    ``,
    ...fn('up'),
    ...up,
    `}`,
    ``,
    ...fn('down'),
    ...down,
    `}`,
    ``,
  ]
  return lines.join('\n')
}
