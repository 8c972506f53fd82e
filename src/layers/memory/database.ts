/**
 * The memory store's tables: a Map of immutable rows per table, one Map per unique index, and an undo journal.
 *
 * Every write goes through here, so the schema's rules hold for every store: primary keys and unique indexes
 * (partial ones included) reject duplicates with the error PostgreSQL's would map to, foreign keys must point at an
 * existing row, and deleting a row applies each referencing foreign key's ON DELETE action (CASCADE or SET NULL).
 * All methods are synchronous and fail by throwing; `Engine` turns that into typed failures and rolls back.
 *
 * The core tables (`schema.ts`) are known from the start; a plugin adds its own with `register` (a `MemoryTable`
 * descriptor, see `table`), and then reads and writes them through the same methods.
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
  type UniqueIndex,
} from "./schema.js"

type AnyRow = Readonly<Record<string, unknown>>

/** A plugin's table: its name and definition (primary key, unique indexes named `Index`, foreign keys). */
export interface MemoryTable<Row, Index extends string = never> {
  readonly name: string
  readonly definition: TableDef<Row> & { readonly unique: Readonly<Record<Index, UniqueIndex<Row>>> }
}

/** Declares a plugin table: `table<MyRow>()("myRows", { entity, primaryKey, unique, foreignKeys })`. */
export const table =
  <Row>() =>
  <Index extends string = never>(
    name: string,
    definition: TableDef<Row> & { readonly unique: Readonly<Record<Index, UniqueIndex<Row>>> },
  ): MemoryTable<Row, Index> => ({ name, definition })

/** A core table by name, or a plugin table by descriptor. */
export type TableRef = TableName | MemoryTable<any, any>
export type RowOf<T extends TableRef> = T extends TableName
  ? Tables[T]
  : T extends MemoryTable<infer Row, any>
    ? Row
    : never
export type IndexOf<T extends TableRef> = T extends TableName
  ? IndexName<T>
  : T extends MemoryTable<any, infer Index>
    ? Index
    : never

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
  readonly table: string
  readonly key: string
  /** The row before the change; `undefined` when the change inserted it. */
  readonly before: AnyRow | undefined
}

const keyOf = (parts: KeyParts): string => parts.join("\u0000")
const indexId = (table: string, index: string) => `${table}.${index}`
const nameOf = (table: TableRef): string => (typeof table === "string" ? table : table.name)

export class Database {
  private readonly definitions = new Map<string, TableDef<AnyRow>>()
  private readonly tables = new Map<string, Map<string, AnyRow>>()
  /** Unique index (`table.index`) → indexed key → primary key of the row holding it. */
  private readonly indexes = new Map<string, Map<string, string>>()
  /** For each table, the foreign keys pointing at it. */
  private readonly referencesTo = new Map<
    string,
    Array<{ readonly table: string; readonly foreignKey: ForeignKey<AnyRow> }>
  >()
  private readonly journal: Array<Change> = []

  constructor() {
    for (const [name, definition] of Object.entries(schema))
      this.define(name, definition as unknown as TableDef<AnyRow>)
  }

  /** Adds a plugin's table (once; registering it again is a no-op). Its foreign keys must name known tables. */
  register(table: MemoryTable<any, any>): void {
    if (!this.definitions.has(table.name)) this.define(table.name, table.definition as TableDef<AnyRow>)
  }

  private define(name: string, definition: TableDef<AnyRow>): void {
    this.definitions.set(name, definition)
    this.tables.set(name, new Map())
    for (const index of Object.keys(definition.unique)) this.indexes.set(indexId(name, index), new Map())
    if (!this.referencesTo.has(name)) this.referencesTo.set(name, [])
    for (const foreignKey of definition.foreignKeys) {
      if (!this.referencesTo.has(foreignKey.references)) this.referencesTo.set(foreignKey.references, [])
      this.referencesTo.get(foreignKey.references)!.push({ table: name, foreignKey })
    }
  }

  private definition(table: string): TableDef<AnyRow> {
    const found = this.definitions.get(table)
    if (found === undefined) throw new Error(`no table ${table} (a plugin table must be registered first)`)
    return found
  }

  // --- reads (rows are frozen; callers copy what they hand out) -------------------------------------------------

  find<T extends TableRef>(table: T, ...primaryKey: KeyParts): RowOf<T> | undefined {
    return this.rowsOf(nameOf(table)).get(keyOf(primaryKey)) as RowOf<T> | undefined
  }

  /** The row, or `NotFound` naming the table's entity. */
  get<T extends TableRef>(table: T, ...primaryKey: KeyParts): RowOf<T> {
    return this.find(table, ...primaryKey) ?? this.notFound(nameOf(table))
  }

  /** The row holding `key` in a unique index (rows a partial index leaves out are never found). */
  findBy<T extends TableRef>(table: T, index: IndexOf<T>, ...key: KeyParts): RowOf<T> | undefined {
    const name = nameOf(table)
    const primaryKey = this.index(name, index).get(keyOf(key))
    return primaryKey === undefined ? undefined : (this.rowsOf(name).get(primaryKey) as RowOf<T>)
  }

  getBy<T extends TableRef>(table: T, index: IndexOf<T>, ...key: KeyParts): RowOf<T> {
    return this.findBy(table, index, ...key) ?? this.notFound(nameOf(table))
  }

  select<T extends TableRef>(table: T, where: (row: RowOf<T>) => boolean = () => true): Array<RowOf<T>> {
    const rows: Array<RowOf<T>> = []
    for (const row of this.rowsOf(nameOf(table)).values()) if (where(row as RowOf<T>)) rows.push(row as RowOf<T>)
    return rows
  }

  count<T extends TableRef>(table: T, where: (row: RowOf<T>) => boolean): number {
    return this.select(table, where).length
  }

  // --- writes ---------------------------------------------------------------------------------------------------

  insert<T extends TableRef>(ref: T, row: RowOf<T>): RowOf<T> {
    const table = nameOf(ref)
    const stored = freeze(row as AnyRow)
    const key = this.primaryKey(table, stored)
    if (this.rowsOf(table).has(key)) {
      throw violation(new Conflict({ message: `duplicate ${this.definition(table).entity}` }))
    }
    this.checkUnique(table, key, stored)
    this.checkReferences(table, stored, undefined)
    this.write(table, key, stored)
    return stored as RowOf<T>
  }

  /** Applies `changes` to the stored version of `row` (its primary key cannot change) and returns the new row. */
  update<T extends TableRef>(ref: T, row: RowOf<T>, changes: Partial<RowOf<T>>): RowOf<T> {
    const table = nameOf(ref)
    const key = this.primaryKey(table, row as AnyRow)
    const current = this.rowsOf(table).get(key)
    if (current === undefined) throw new Error(`update of a missing ${this.definition(table).entity}`)
    const next = freeze({ ...current, ...changes })
    if (this.primaryKey(table, next) !== key) throw new Error(`update changes the primary key of ${table}`)
    this.checkUnique(table, key, next)
    this.checkReferences(table, next, current)
    this.write(table, key, next)
    return next as RowOf<T>
  }

  /**
   * `INSERT ... ON CONFLICT (target) DO UPDATE`: inserts `row`, or, when a row already holds its primary key or its
   * key in the unique index `target`, applies `onConflict(existing)` to that row instead.
   */
  upsert<T extends TableRef>(
    ref: T,
    target: IndexOf<T> | "primaryKey",
    row: RowOf<T>,
    onConflict: (existing: RowOf<T>) => Partial<RowOf<T>>,
  ): RowOf<T> {
    const table = nameOf(ref)
    const key =
      target === "primaryKey" ? this.primaryKey(table, row as AnyRow) : this.uniqueKey(table, target, row as AnyRow)
    const holder = key === undefined ? undefined : target === "primaryKey" ? key : this.index(table, target).get(key)
    const existing = holder === undefined ? undefined : (this.rowsOf(table).get(holder) as RowOf<T> | undefined)
    return existing === undefined ? this.insert(ref, row) : this.update(ref, existing, onConflict(existing))
  }

  /** Deletes the row and applies ON DELETE of every foreign key referencing it. */
  delete<T extends TableRef>(ref: T, row: RowOf<T>): void {
    const table = nameOf(ref)
    this.deleteCascading(table, [this.primaryKey(table, row as AnyRow)])
  }

  /** Deletes every matching row (with cascades) and returns how many matched. */
  deleteWhere<T extends TableRef>(ref: T, where: (row: RowOf<T>) => boolean): number {
    const table = nameOf(ref)
    const rows = this.select(ref, where)
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

  private rowsOf(table: string): Map<string, AnyRow> {
    return this.tables.get(table)!
  }

  private index(table: string, index: string): Map<string, string> {
    const entries = this.indexes.get(indexId(table, index))
    if (entries === undefined) throw new Error(`no unique index ${index} on ${table}`)
    return entries
  }

  private primaryKey(table: string, row: AnyRow): string {
    return keyOf(this.definition(table).primaryKey(row))
  }

  /** The row's key in a unique index; `undefined` when the index leaves the row out. */
  private uniqueKey(table: string, index: string, row: AnyRow): string | undefined {
    const parts = this.definition(table).unique[index]?.key(row)
    return parts === undefined ? undefined : keyOf(parts)
  }

  private checkUnique(table: string, key: string, row: AnyRow): void {
    for (const [name, index] of Object.entries(this.definition(table).unique)) {
      const indexed = index.key(row)
      if (indexed === undefined) continue
      const holder = this.index(table, name).get(keyOf(indexed))
      if (holder !== undefined && holder !== key) throw violation(index.violation())
    }
  }

  /** Checks the foreign keys that are set and, on update, changed (PostgreSQL skips unchanged ones too). */
  private checkReferences(table: string, row: AnyRow, previous: AnyRow | undefined): void {
    for (const { column, references } of this.definition(table).foreignKeys) {
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
  private deleteCascading(table: string, keys: Iterable<string>): void {
    const rows = this.rowsOf(table)
    const deleted = new Set([...keys].filter((key) => rows.has(key)))
    for (const key of deleted) this.write(table, key, undefined)
    if (deleted.size === 0) return
    for (const { table: child, foreignKey } of this.referencesTo.get(table) ?? []) {
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

  private notFound(table: string): never {
    throw new NotFound({ entity: this.definition(table).entity })
  }

  /** Replaces (or removes, with `undefined`) one row, keeping the unique indexes in step. */
  private write(table: string, key: string, next: AnyRow | undefined, journaled = true): void {
    const rows = this.rowsOf(table)
    const before = rows.get(key)
    if (journaled) this.journal.push({ table, key, before })
    for (const [name, index] of Object.entries(this.definition(table).unique)) {
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

/** A private, frozen copy: callers can neither change what is stored nor be changed by it. */
const freeze = <A>(row: A): A => Object.freeze(structuredClone(row))
