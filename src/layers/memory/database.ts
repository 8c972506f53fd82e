/**
 * The memory store's tables: a Map of immutable rows per table, one Map per unique index, and an undo journal.
 *
 * Every write goes through here, so the schema's rules hold for every store: primary keys and unique indexes
 * (partial ones included) reject duplicates with the error PostgreSQL's would map to, foreign keys must point at an
 * existing row, and deleting a row applies each referencing foreign key's ON DELETE action (CASCADE or SET NULL).
 * All methods are synchronous and fail by throwing; `Engine` turns that into typed failures and rolls back.
 */
import { Conflict, NotFound } from "../../domain/errors.js"
import {
  type ForeignKey,
  type IndexName,
  type KeyParts,
  schema,
  type TableDef,
  type TableName,
  type Tables,
} from "./schema.js"

type AnyRow = Readonly<Record<string, unknown>>

/** A foreign key that points at a missing row: a defect, as PostgreSQL's foreign-key violation is. */
export class ForeignKeyViolation extends Error {
  override readonly name = "ForeignKeyViolation"
}

/** The errors thrown by a constraint (primary key, unique index, foreign key), which abort a PostgreSQL transaction. */
const constraintViolations = new WeakSet<object>()
const violation = <E extends object>(error: E): E => {
  constraintViolations.add(error)
  return error
}
export const isConstraintViolation = (error: unknown): boolean =>
  typeof error === "object" && error !== null && constraintViolations.has(error)

interface Change {
  readonly table: TableName
  readonly key: string
  /** The row before the change; `undefined` when the change inserted it. */
  readonly before: AnyRow | undefined
}

const tableNames = Object.keys(schema) as ReadonlyArray<TableName>
const definition = (table: TableName) => schema[table] as unknown as TableDef<AnyRow>
const keyOf = (parts: KeyParts): string => parts.join("\u0000")
const indexId = (table: TableName, index: string) => `${table}.${index}`

/** For each table, the foreign keys pointing at it. */
const referencesTo = new Map<TableName, Array<{ readonly table: TableName; readonly foreignKey: ForeignKey<AnyRow> }>>(
  tableNames.map((name) => [name, []]),
)
for (const table of tableNames) {
  for (const foreignKey of definition(table).foreignKeys) {
    referencesTo.get(foreignKey.references)!.push({ table, foreignKey })
  }
}

export class Database {
  private readonly tables = new Map<TableName, Map<string, AnyRow>>(tableNames.map((name) => [name, new Map()]))
  /** Unique index (`table.index`) → indexed key → primary key of the row holding it. */
  private readonly indexes = new Map<string, Map<string, string>>(
    tableNames.flatMap((table) =>
      Object.keys(definition(table).unique).map((index) => [indexId(table, index), new Map()]),
    ),
  )
  private readonly journal: Array<Change> = []

  // --- reads (rows are frozen; callers copy what they hand out) -------------------------------------------------

  find<K extends TableName>(table: K, ...primaryKey: KeyParts): Tables[K] | undefined {
    return this.rowsOf(table).get(keyOf(primaryKey)) as Tables[K] | undefined
  }

  /** The row, or `NotFound` naming the table's entity. */
  get<K extends TableName>(table: K, ...primaryKey: KeyParts): Tables[K] {
    return this.find(table, ...primaryKey) ?? notFound(table)
  }

  /** The row holding `key` in a unique index (rows a partial index leaves out are never found). */
  findBy<K extends TableName>(table: K, index: IndexName<K>, ...key: KeyParts): Tables[K] | undefined {
    const primaryKey = this.index(table, index).get(keyOf(key))
    return primaryKey === undefined ? undefined : (this.rowsOf(table).get(primaryKey) as Tables[K])
  }

  getBy<K extends TableName>(table: K, index: IndexName<K>, ...key: KeyParts): Tables[K] {
    return this.findBy(table, index, ...key) ?? notFound(table)
  }

  select<K extends TableName>(table: K, where: (row: Tables[K]) => boolean = () => true): Array<Tables[K]> {
    const rows: Array<Tables[K]> = []
    for (const row of this.rowsOf(table).values()) if (where(row as Tables[K])) rows.push(row as Tables[K])
    return rows
  }

  count<K extends TableName>(table: K, where: (row: Tables[K]) => boolean): number {
    return this.select(table, where).length
  }

  // --- writes ---------------------------------------------------------------------------------------------------

  insert<K extends TableName>(table: K, row: Tables[K]): Tables[K] {
    const stored = freeze(row)
    const key = this.primaryKey(table, stored)
    if (this.rowsOf(table).has(key)) throw violation(new Conflict({ message: `duplicate ${definition(table).entity}` }))
    this.checkUnique(table, key, stored)
    this.checkReferences(table, stored, undefined)
    this.write(table, key, stored)
    return stored as Tables[K]
  }

  /** Applies `changes` to the stored version of `row` (its primary key cannot change) and returns the new row. */
  update<K extends TableName>(table: K, row: Tables[K], changes: Partial<Tables[K]>): Tables[K] {
    const key = this.primaryKey(table, row as AnyRow)
    const current = this.rowsOf(table).get(key)
    if (current === undefined) throw new Error(`update of a missing ${definition(table).entity}`)
    const next = freeze({ ...current, ...changes })
    if (this.primaryKey(table, next) !== key) throw new Error(`update changes the primary key of ${table}`)
    this.checkUnique(table, key, next)
    this.checkReferences(table, next, current)
    this.write(table, key, next)
    return next as Tables[K]
  }

  /**
   * `INSERT ... ON CONFLICT (target) DO UPDATE`: inserts `row`, or, when a row already holds its primary key or its
   * key in the unique index `target`, applies `onConflict(existing)` to that row instead.
   */
  upsert<K extends TableName>(
    table: K,
    target: IndexName<K> | "primaryKey",
    row: Tables[K],
    onConflict: (existing: Tables[K]) => Partial<Tables[K]>,
  ): Tables[K] {
    const key =
      target === "primaryKey" ? this.primaryKey(table, row as AnyRow) : this.uniqueKey(table, target, row as AnyRow)
    const holder = key === undefined ? undefined : target === "primaryKey" ? key : this.index(table, target).get(key)
    const existing = holder === undefined ? undefined : (this.rowsOf(table).get(holder) as Tables[K] | undefined)
    return existing === undefined ? this.insert(table, row) : this.update(table, existing, onConflict(existing))
  }

  /** Deletes the row and applies ON DELETE of every foreign key referencing it. */
  delete<K extends TableName>(table: K, row: Tables[K]): void {
    this.deleteCascading(table, [this.primaryKey(table, row as AnyRow)])
  }

  /** Deletes every matching row (with cascades) and returns how many matched. */
  deleteWhere<K extends TableName>(table: K, where: (row: Tables[K]) => boolean): number {
    const rows = this.select(table, where)
    this.deleteCascading(
      table,
      rows.map((row) => this.primaryKey(table, row as AnyRow)),
    )
    return rows.length
  }

  // --- savepoints: the journal records each row's previous version, so undoing is replaying it backwards --------

  savepoint(): number {
    return this.journal.length
  }

  rollbackTo(savepoint: number): void {
    while (this.journal.length > savepoint) {
      const change = this.journal.pop()!
      this.write(change.table, change.key, change.before, false)
    }
  }

  /** Forgets the journal once the outermost operation or transaction has succeeded. */
  commit(): void {
    this.journal.length = 0
  }

  // --- internals ------------------------------------------------------------------------------------------------

  private rowsOf(table: TableName): Map<string, AnyRow> {
    return this.tables.get(table)!
  }

  private index(table: TableName, index: string): Map<string, string> {
    const entries = this.indexes.get(indexId(table, index))
    if (entries === undefined) throw new Error(`no unique index ${index} on ${table}`)
    return entries
  }

  private primaryKey(table: TableName, row: AnyRow): string {
    return keyOf(definition(table).primaryKey(row))
  }

  /** The row's key in a unique index; `undefined` when the index leaves the row out. */
  private uniqueKey(table: TableName, index: string, row: AnyRow): string | undefined {
    const parts = definition(table).unique[index]?.key(row)
    return parts === undefined ? undefined : keyOf(parts)
  }

  private checkUnique(table: TableName, key: string, row: AnyRow): void {
    for (const [name, index] of Object.entries(definition(table).unique)) {
      const indexed = index.key(row)
      if (indexed === undefined) continue
      const holder = this.index(table, name).get(keyOf(indexed))
      if (holder !== undefined && holder !== key) throw violation(index.violation())
    }
  }

  /** Checks the foreign keys that are set and, on update, changed (PostgreSQL skips unchanged ones too). */
  private checkReferences(table: TableName, row: AnyRow, previous: AnyRow | undefined): void {
    for (const { column, references } of definition(table).foreignKeys) {
      const value = row[column]
      if (value === null || value === undefined || value === previous?.[column]) continue
      if (!this.rowsOf(references).has(value as string)) {
        throw violation(
          new ForeignKeyViolation(`${table}.${column} = ${String(value)} references no row of ${references}`),
        )
      }
    }
  }

  /**
   * Deletes the rows, then applies each foreign key referencing them, a table at a time as PostgreSQL's cascades do:
   * CASCADE deletes the referencing rows (recursively), SET NULL clears the column.
   */
  private deleteCascading(table: TableName, keys: Iterable<string>): void {
    const rows = this.rowsOf(table)
    const deleted = new Set([...keys].filter((key) => rows.has(key)))
    for (const key of deleted) this.write(table, key, undefined)
    if (deleted.size === 0) return
    for (const { table: child, foreignKey } of referencesTo.get(table)!) {
      // Read the referencing rows now: earlier actions of this delete may have removed or replaced some.
      const childRows = this.rowsOf(child)
      const referencing = [...childRows].filter(([, row]) => deleted.has(row[foreignKey.column] as string))
      if (foreignKey.onDelete === "cascade") {
        this.deleteCascading(
          child,
          referencing.map(([key]) => key),
        )
      } else {
        for (const [key, row] of referencing) this.write(child, key, freeze({ ...row, [foreignKey.column]: null }))
      }
    }
  }

  /** Replaces (or removes, with `undefined`) one row, keeping the unique indexes in step. */
  private write(table: TableName, key: string, next: AnyRow | undefined, journaled = true): void {
    const rows = this.rowsOf(table)
    const before = rows.get(key)
    if (journaled) this.journal.push({ table, key, before })
    for (const [name, index] of Object.entries(definition(table).unique)) {
      const entries = this.index(table, name)
      const old = before === undefined ? undefined : index.key(before)
      if (old !== undefined && entries.get(keyOf(old)) === key) entries.delete(keyOf(old))
      const fresh = next === undefined ? undefined : index.key(next)
      if (fresh !== undefined) entries.set(keyOf(fresh), key)
    }
    if (next === undefined) rows.delete(key)
    else rows.set(key, next)
  }
}

const notFound = (table: TableName): never => {
  throw new NotFound({ entity: definition(table).entity })
}

/** A private, frozen copy: callers can neither change what is stored nor be changed by it. */
const freeze = <A>(row: A): A => Object.freeze(structuredClone(row))
