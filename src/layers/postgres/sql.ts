/**
 * Shared plumbing of the PostgreSQL store:
 * - table descriptors (column list, SQL types for casts and decoding, snake_case <-> camelCase mapping);
 * - the one place where an `SqlError` becomes a typed error (unique violations) or a defect;
 * - small runners for the usual result shapes (rows, optional row, required row, changed?, count, page).
 *
 * The SQL is plain PostgreSQL so it runs unchanged on node-postgres and PGlite. The client is used without name
 * transforms: column names are written in snake_case and rows are mapped here.
 */
import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import type { Row } from "@effect/sql/SqlConnection"
import { type Fragment, type Statement, unsafeFragment } from "@effect/sql/Statement"
import { Effect, Option, Predicate, type Schema, SchemaAST as AST, String as Str } from "effect"
import { Conflict, NotFound, SlugTaken, StoreUnavailable } from "../../domain/errors.js"
import { type Page, type PageRequest, toPage } from "../../services/store/common.js"
import { PgPool, PgPoolMode, PgReplica } from "../pg.js"
import type pg from "pg"

export type { Fragment, Row }

export type Client = SqlClient.SqlClient

/** A column of an outer query, where a statement builder takes a value or a column. */
export const column = (name: string): Fragment => unsafeFragment(name)

/** The client every store uses: the user's, with its name transforms switched off. */
export const client = Effect.map(SqlClient.SqlClient, (sql) => sql.withoutTransforms())

/** Whether statements reach PostgreSQL through a transaction pooler (`AUTHSOME_DB_POOL_MODE=transaction`). */
export const behindTransactionPooler = Effect.map(
  Effect.serviceOption(PgPoolMode),
  (mode) => Option.getOrElse(mode, () => "session") === "transaction",
)

/**
 * A statement for the hottest reads: prepared (parsed and planned once per connection) and run straight on the `pg`
 * pool when `Pg.layer` shares one and the caller is not inside a transaction; otherwise `fallback` runs through the
 * `SqlClient` as usual (another pool, PGlite, or a transaction's connection). Behind a transaction-mode pooler
 * (`PgPoolMode` "transaction") it stays on the pool but unnamed: a named statement would be prepared on one server
 * connection and looked for on another.
 */
export const preparedRead = <Args extends ReadonlyArray<unknown>>(
  name: string,
  statement: (...args: Args) => Statement<Row>,
  placeholders: Args,
) =>
  Effect.gen(function* () {
    const pool = yield* Effect.serviceOption(PgPool)
    const named = !(yield* behindTransactionPooler)
    const [text] = statement(...placeholders).compile()
    const viaPool = (shared: pg.Pool, values: Args) =>
      Effect.async<ReadonlyArray<Row>, SqlError>((resume) => {
        const query = named ? { name, text, values: [...values] } : { text, values: [...values] }
        shared.query(query, (error, result) =>
          resume(
            error
              ? Effect.fail(new SqlError({ cause: error, message: "Failed to execute statement" }))
              : Effect.succeed(result.rows),
          ),
        )
      })
    return (...args: Args): Effect.Effect<ReadonlyArray<Row>, SqlError> =>
      Option.isNone(pool)
        ? statement(...args)
        : Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (transaction) =>
            Option.isSome(transaction) ? statement(...args) : viaPool(pool.value, args),
          )
  })

/**
 * The runner of lag-tolerant reads (lists, searches, audit queries, stats, exports):
 * `onReplica((sql) => sql\`SELECT ...\`.pipe(Sql.all(Table)))` runs on the read replica when `Pg.replicaLayer` provides
 * one that is streaming within its allowed lag and the caller is not inside a transaction; otherwise on the primary.
 * A read that fails on the replica (connection lost, a query cancelled by recovery) runs again on the primary, and
 * reads stay there until the replica's next check finds it healthy. Never for session validation, a read that follows
 * a write of the same request, rate limits or lockout: those read the primary (the plain `sql`).
 */
export const replicaReads = Effect.gen(function* () {
  const primary = yield* client
  const replica = yield* Effect.serviceOption(PgReplica)
  return <A, E, R>(read: (sql: Client) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    if (Option.isNone(replica)) return read(primary)
    const { usable, failed } = replica.value
    return Effect.gen(function* () {
      const transaction = yield* Effect.serviceOption(SqlClient.TransactionConnection)
      const target = Option.isSome(transaction) ? Option.none() : yield* usable
      if (Option.isNone(target)) return yield* read(primary)
      return yield* read(target.value).pipe(
        Effect.catchSomeDefect((defect) =>
          defect instanceof StoreUnavailable || defect instanceof SqlError
            ? Option.some(Effect.zipRight(failed("a read failed"), read(primary)))
            : Option.none(),
        ),
      )
    })
  }
})

// --- tables ------------------------------------------------------------------------------------------------------

/** The PostgreSQL type of a column, as in the migrations; `jsonb` and `text[]` get casts, `bigint` is decoded. */
export type ColumnType = "text" | "boolean" | "integer" | "bigint" | "timestamptz" | "jsonb" | "text[]"

/** Every field of the row model, with its column's type (the mapped type makes forgetting a field a type error). */
export type Columns<A> = { readonly [K in keyof A]-?: ColumnType }

export interface Table<A> {
  readonly name: string
  readonly columns: Columns<A>
  /** `id, app_id, ...`: the explicit column list for SELECT and RETURNING. */
  readonly select: Fragment
  /** `alias.id AS prefixid, ...`: the column list of one side of a join, renamed so the sides cannot clash. */
  readonly selectAs: (alias: string, prefix: string) => Fragment
  /** snake_case row -> model. */
  readonly decode: (row: Row) => A
  /**
   * Decoder of a row selected as one JSON value (`to_jsonb(alias)`): one column instead of one per field, which
   * the driver parses several times faster; timestamps arrive as ISO strings.
   */
  readonly decodeJson: (row: Row) => A
}

const decodeValue = (type: ColumnType, value: unknown): unknown =>
  // int8 arrives as a string from node-postgres and as a number from PGlite.
  type === "bigint" && value !== null && value !== undefined ? Number(value) : value

const decodeJsonValue = (type: ColumnType, value: unknown): unknown =>
  value === null || value === undefined
    ? null
    : type === "timestamptz"
      ? new Date(value as string)
      : type === "bigint"
        ? Number(value)
        : value

export const defineTable = <A>(name: string, columns: Columns<A>): Table<A> => {
  const fields = (Object.keys(columns) as Array<keyof A & string>).map((key) => ({
    key,
    column: Str.camelToSnake(key),
    type: columns[key],
  }))
  const decode = (row: Row): A => {
    const out: Record<string, unknown> = {}
    for (const field of fields) out[field.key] = decodeValue(field.type, row[field.column])
    return out as A
  }
  return {
    name,
    columns,
    select: unsafeFragment(fields.map((field) => field.column).join(", ")),
    selectAs: (alias, prefix) =>
      unsafeFragment(fields.map((field) => `${alias}.${field.column} AS ${prefix}${field.column}`).join(", ")),
    decode,
    decodeJson: (row) => {
      const out: Record<string, unknown> = {}
      for (const field of fields) out[field.key] = decodeJsonValue(field.type, row[field.column])
      return out as A
    },
  }
}

const columnOf = <A>(table: Table<A>, key: string): ColumnType | undefined =>
  Object.hasOwn(table.columns, key) ? (table.columns as Record<string, ColumnType>)[key] : undefined

const castOf: Record<ColumnType, string> = {
  text: "",
  boolean: "",
  integer: "",
  bigint: "",
  timestamptz: "",
  jsonb: "::jsonb",
  "text[]": "::text[]",
}

/** The parameter value as the drivers take it (JSON text for jsonb; SQL NULL stays NULL). */
const paramOf = (type: ColumnType, value: unknown): unknown =>
  type === "jsonb" ? (value === null || value === undefined ? null : JSON.stringify(value)) : (value ?? null)

/** One bound parameter with the cast its column needs (the same rules as the inserts). */
const bind = (sql: Client, type: ColumnType, value: unknown): Fragment =>
  sql`${paramOf(type, value)}${sql.literal(castOf[type])}`

const insertTemplates = new WeakMap<object, Map<number, TemplateStringsArray>>()

/**
 * The literal parts of `INSERT INTO table (every column) VALUES (?, ?::jsonb, ...), (...)` for a row count, built
 * once: one template call per insert is far cheaper than a fragment per value joined with `csv`.
 */
const insertTemplate = <A>(table: Table<A>, keys: ReadonlyArray<keyof A & string>, count: number) => {
  const byCount = insertTemplates.get(table) ?? new Map<number, TemplateStringsArray>()
  insertTemplates.set(table, byCount)
  const cached = byCount.get(count)
  if (cached) return cached
  const columns = keys.map((key) => Str.camelToSnake(key)).join(", ")
  const parts: Array<string> = [`INSERT INTO ${table.name} (${columns}) VALUES (`]
  for (let row = 0; row < count; row++) {
    keys.forEach((key, i) => {
      const cast = castOf[table.columns[key]]
      const last = i === keys.length - 1
      parts.push(last ? (row === count - 1 ? `${cast})` : `${cast}), (`) : `${cast}, `)
    })
  }
  const template = Object.assign(parts, { raw: parts }) as unknown as TemplateStringsArray
  byCount.set(count, template)
  return template
}

/**
 * `INSERT INTO table (every column) VALUES (...), (...)`; `expressions` replace the values of some columns with SQL
 * (`{ deviceId: sql\`(SELECT id FROM device)\` }`, a column of a text type).
 */
export const insertInto = <A>(
  sql: Client,
  table: Table<A>,
  rows: ReadonlyArray<A>,
  expressions: Partial<Record<keyof A & string, Fragment>> = {},
): Fragment => {
  const keys = Object.keys(table.columns) as Array<keyof A & string>
  const params = rows.flatMap((row) => keys.map((key) => expressions[key] ?? paramOf(table.columns[key], row[key])))
  return sql(insertTemplate(table, keys, rows.length), ...params)
}

/**
 * `col = $1, other = $2::jsonb`: assignments for the fields present in `values` (a patch plus e.g. `updatedAt`).
 * Keys that are not columns of the table are ignored, so a patch object can never inject SQL.
 */
export const assignments = <A>(sql: Client, table: Table<A>, values: Partial<A>): Fragment =>
  sql.csv(
    Object.entries(values).flatMap(([key, value]) => {
      const type = columnOf(table, key)
      return type === undefined || value === undefined
        ? []
        : [sql`${sql.literal(Str.camelToSnake(key))} = ${bind(sql, type, value)}`]
    }),
  )

/** `col = EXCLUDED.col, ...` for an upsert's `DO UPDATE SET`. */
export const fromExcluded = <A>(...keys: ReadonlyArray<keyof A & string>): Fragment =>
  unsafeFragment(
    keys
      .map(Str.camelToSnake)
      .map((column) => `${column} = EXCLUDED.${column}`)
      .join(", "),
  )

/** `AND`s the given conditions, skipping the absent ones (`1=1` when none). */
export const where = (sql: Client, conditions: ReadonlyArray<Fragment | undefined>): Fragment =>
  sql.and(conditions.filter(Predicate.isNotUndefined))

/** Escapes LIKE metacharacters so `value` matches literally inside a `LIKE ... ESCAPE '\'` pattern. */
export const escapeLike = (value: string): string => value.replace(/[\\%_]/g, (char) => `\\${char}`)

// --- errors -----------------------------------------------------------------------------------------------------

const causeOf = (
  error: SqlError,
): { readonly code?: unknown; readonly constraint?: unknown; readonly severity?: unknown } =>
  Predicate.isObject(error.cause) ? (error.cause as { code?: unknown; constraint?: unknown; severity?: unknown }) : {}

/**
 * The database could not be reached or would not serve (as opposed to a statement it rejected): no connection could
 * be had; the socket failed (Node's `E...` codes, TLS); the server ended the session (a FATAL or PANIC report: it
 * is shutting down, not accepting connections, out of connection slots, ...); or SQLSTATE class 08 (connection
 * exception), 57P (operator intervention) or 53300 (too many connections).
 */
const isConnectionFailure = (error: SqlError): boolean => {
  if (error.message.startsWith("Failed to acquire connection") || error.message === "Connection error") return true
  const { code, severity } = causeOf(error)
  if (severity === "FATAL" || severity === "PANIC") return true
  // Driver errors about the socket carry no SQLSTATE.
  if (typeof code !== "string") return true
  return (
    /^E[A-Z0-9_]+$/.test(code) ||
    /^ERR_(SSL|TLS)_/.test(code) ||
    code.startsWith("08") ||
    code.startsWith("57P") ||
    code === "53300" ||
    // read_only_sql_transaction: the address reaches a standby not yet promoted (a failover in progress).
    code === "25006"
  )
}

/** An SqlError as a defect: `StoreUnavailable` when the database is unreachable, the error itself otherwise. */
export const sqlDefect = (error: SqlError): Effect.Effect<never> =>
  Effect.die(isConnectionFailure(error) ? new StoreUnavailable({ cause: error }) : error)

/** Turns every remaining `SqlError` into a defect; typed errors mapped before pass through. */
export const dieOnSqlError = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, SqlError>, R> =>
  Effect.catchAll(self, (error) =>
    error instanceof SqlError ? sqlDefect(error) : Effect.fail(error as Exclude<E, SqlError>),
  )

/**
 * Maps unique violations (SQLSTATE 23505) by constraint name to a typed error; `toError` returning `undefined`
 * leaves the SqlError in place (it then becomes a defect in the runner).
 */
export const onUniqueViolation =
  <E2>(toError: (constraint: string) => E2 | undefined) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | E2, R> =>
    Effect.catchAll(self, (error): Effect.Effect<never, E | E2> => {
      if (!(error instanceof SqlError) || causeOf(error).code !== "23505") return Effect.fail(error)
      const constraint = causeOf(error).constraint
      const mapped = toError(typeof constraint === "string" ? constraint : "")
      return mapped === undefined ? Effect.fail(error) : Effect.fail(mapped)
    })

/** Readable messages for the uniqueness constraints that surface as `Conflict`. */
const conflictMessages: Record<string, string> = {
  authsome_apps_publishable_key_key: "publishable key already in use",
  authsome_environments_default_key: "the app already has a default environment",
  authsome_members_org_user_key: "user is already a member of the organization",
  authsome_team_members_pkey: "user is already a member of the team",
  authsome_permissions_role_key: "the role already has this permission",
  authsome_user_roles_key: "the role is already assigned to the user",
  authsome_mfa_enrollments_user_method_key: "the user is already enrolled in this MFA method",
  authsome_passkeys_credential_id_key: "passkey credential already registered",
  authsome_oauth_connections_provider_user_key: "provider account already linked",
}

/** A unique violation as `Conflict`, with a readable message. */
export const conflict = (constraint: string): Conflict =>
  new Conflict({
    message:
      conflictMessages[constraint] ??
      (constraint.endsWith("_pkey") ? "a row with this id already exists" : `duplicate value (${constraint})`),
  })

/** `SlugTaken` for every `*_slug_key` constraint (slugs are unique per app or per organization). */
export const slugTaken = (constraint: string): SlugTaken | undefined =>
  constraint.endsWith("_slug_key") ? new SlugTaken() : undefined

// --- runners: decode rows and make every SqlError left over a defect ----------------------------------------------

type Rows<E, R> = Effect.Effect<ReadonlyArray<Row>, E, R>

/** All rows, decoded. */
export const all =
  <A>(table: Table<A>) =>
  <E, R>(self: Rows<E, R>): Effect.Effect<ReadonlyArray<A>, Exclude<E, SqlError>, R> =>
    dieOnSqlError(Effect.map(self, (rows) => rows.map((row) => table.decode(row))))

/** The first row, if any. */
export const maybe =
  <A>(table: Table<A>) =>
  <E, R>(self: Rows<E, R>): Effect.Effect<Option.Option<A>, Exclude<E, SqlError>, R> =>
    dieOnSqlError(Effect.map(self, (rows) => Option.map(Option.fromNullable(rows[0]), table.decode)))

/** The first row, or `NotFound(entity)`. */
export const one =
  <A>(table: Table<A>, entity: string) =>
  <E, R>(self: Rows<E, R>): Effect.Effect<A, Exclude<E, SqlError> | NotFound, R> =>
    dieOnSqlError(
      Effect.flatMap(self, (rows) =>
        rows[0] === undefined ? Effect.fail(new NotFound({ entity })) : Effect.succeed(table.decode(rows[0])),
      ),
    )

/** The row an INSERT/UPSERT ... RETURNING gave back (always one; none would be a bug, so a defect). */
export const returned =
  <A>(table: Table<A>) =>
  <E, R>(self: Rows<E, R>): Effect.Effect<A, Exclude<E, SqlError>, R> =>
    dieOnSqlError(
      Effect.flatMap(self, (rows) =>
        rows[0] === undefined
          ? Effect.dieMessage(`no row returned from ${table.name}`)
          : Effect.succeed(table.decode(rows[0])),
      ),
    )

/** Whether the statement returned a row (`... RETURNING 1` on an UPDATE/DELETE: did it change anything?). */
export const changed = <E, R>(self: Rows<E, R>): Effect.Effect<boolean, Exclude<E, SqlError>, R> =>
  dieOnSqlError(Effect.map(self, (rows) => rows.length > 0))

/** `NotFound(entity)` unless the statement returned a row. */
export const found =
  (entity: string) =>
  <E, R>(self: Rows<E, R>): Effect.Effect<void, Exclude<E, SqlError> | NotFound, R> =>
    dieOnSqlError(
      Effect.flatMap(self, (rows) => (rows.length > 0 ? Effect.void : Effect.fail(new NotFound({ entity })))),
    )

/** The `count` column of the first row (int8 or int4, from either driver). */
export const count = <E, R>(self: Rows<E, R>): Effect.Effect<number, Exclude<E, SqlError>, R> =>
  dieOnSqlError(Effect.map(self, (rows) => Number(rows[0]?.count ?? 0)))

/** Runs the statement for its effect. */
export const exec = <E, R>(self: Rows<E, R>): Effect.Effect<void, Exclude<E, SqlError>, R> =>
  dieOnSqlError(Effect.asVoid(self))

/**
 * One page of `table` by cursor: `conditions AND id < cursor ORDER BY id DESC LIMIT limit + 1`, cut by `toPage`.
 * Every paged table has an `(app_id | parent, id DESC)` index for this.
 */
export const listPage = <A extends { readonly id: string }>(
  sql: Client,
  table: Table<A>,
  conditions: ReadonlyArray<Fragment | undefined>,
  page: PageRequest,
): Effect.Effect<Page<A>> =>
  sql`SELECT ${table.select} FROM ${sql.literal(table.name)}
      WHERE ${where(sql, [...conditions, page.cursor === undefined ? undefined : sql`id < ${page.cursor}`])}
      ORDER BY id DESC LIMIT ${page.limit + 1}`.pipe(
    all(table),
    Effect.map((rows) => toPage(rows, page.limit)),
  )

// --- transactions -------------------------------------------------------------------------------------------------

/** Carries the body's own failures through `withTransaction`, so only the transaction's SqlErrors become defects. */
class BodyFailure<E> {
  constructor(readonly error: E) {}
}

/**
 * `sql.withTransaction` without `SqlError` in the signature: the body's failures (and defects) roll back and pass
 * through unchanged; BEGIN/connection failures are defects. Nested calls become savepoints of the outer transaction.
 * A failed COMMIT or ROLLBACK (`@effect/sql` makes them raw `SqlError` defects) is classified like any other: the
 * connection lost at COMMIT (a failover) is `StoreUnavailable`, so the caller answers 503, not 500.
 */
export const transaction =
  (sql: Client) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    sql.withTransaction(Effect.mapError(effect, (error) => new BodyFailure(error))).pipe(
      Effect.catchAll((error) => (error instanceof BodyFailure ? Effect.fail(error.error as E) : sqlDefect(error))),
      Effect.catchSomeDefect((defect) => (defect instanceof SqlError ? Option.some(sqlDefect(defect)) : Option.none())),
    )

// --- tables from the row schemas ------------------------------------------------------------------------------------

/** A field's column type, read from its schema: what the migrations declare for that kind of value. */
const columnTypeOf = (ast: AST.AST): ColumnType | undefined => {
  switch (ast._tag) {
    case "Refinement":
      return columnTypeOf(ast.from)
    case "Transformation":
      return columnTypeOf(ast.to)
    case "Union": {
      const types = new Set(
        ast.types.filter((member) => !(member._tag === "Literal" && member.literal === null)).map(columnTypeOf),
      )
      return types.size === 1 ? [...types][0] : "jsonb"
    }
    case "Literal":
      return typeof ast.literal === "boolean" ? "boolean" : typeof ast.literal === "number" ? "integer" : "text"
    case "StringKeyword":
    case "TemplateLiteral":
      return "text"
    case "BooleanKeyword":
      return "boolean"
    case "NumberKeyword":
      return "integer"
    case "Declaration":
      return AST.getIdentifierAnnotation(ast).pipe(Option.getOrUndefined) === "DateFromSelf" ? "timestamptz" : "jsonb"
    case "TupleType":
      return ast.elements.length === 0 && ast.rest.length === 1 && columnTypeOf(ast.rest[0]!.type) === "text"
        ? "text[]"
        : "jsonb"
    default:
      return "jsonb"
  }
}

/**
 * The table of a row schema: one column per field, its type read from the field's schema (strings, ids and string
 * literals are `text`, booleans `boolean`, numbers `integer`, dates `timestamptz`, string arrays `text[]`, anything
 * else `jsonb`); `overrides` names the columns the schema cannot tell apart (a `bigint` counter).
 */
export const tableOf = <A, I>(
  name: string,
  schema: Schema.Schema<A, I>,
  overrides: Partial<Columns<A>> = {},
): Table<A> => {
  const columns: Record<string, ColumnType> = {}
  for (const property of AST.getPropertySignatures(schema.ast)) {
    const key = String(property.name)
    columns[key] = (overrides as Record<string, ColumnType>)[key] ?? columnTypeOf(property.type) ?? "jsonb"
  }
  return defineTable(name, columns as Columns<A>)
}
