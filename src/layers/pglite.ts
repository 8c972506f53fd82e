/**
 * Embedded PostgreSQL: an `SqlClient` over PGlite, so the PostgreSQL store runs unchanged on it.
 *
 * PGlite has a single connection, so every statement takes the connection exclusively, and a transaction keeps it
 * until it ends: no other fiber's query can run inside an open transaction (real isolation, not interleaving).
 */
import { PGlite } from "@electric-sql/pglite"
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient, type SqlConnection } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Stream } from "effect"
import { mkdirSync } from "node:fs"

export interface PgliteOptions {
  /** Directory holding the data; omitted = in memory (gone when the layer closes). */
  readonly dataDir?: string | undefined
}

const sqlError = (cause: unknown) => new SqlError({ cause, message: "Failed to execute statement" })

const makeConnection = (db: PGlite): SqlConnection.Connection => {
  const run = (sql: string, params: ReadonlyArray<unknown>) =>
    Effect.tryPromise({
      try: () => db.query<Record<string, unknown>>(sql, params as Array<unknown>),
      catch: sqlError,
    })
  const rows = (sql: string, params: ReadonlyArray<unknown>) => Effect.map(run(sql, params), (r) => r.rows)
  return {
    execute: (sql, params, transformRows) =>
      transformRows ? Effect.map(rows(sql, params), transformRows) : rows(sql, params),
    executeRaw: run,
    executeStream: (sql, params, transformRows) =>
      Stream.fromIterableEffect(transformRows ? Effect.map(rows(sql, params), transformRows) : rows(sql, params)),
    executeValues: (sql, params) =>
      Effect.tryPromise({
        try: () => db.query<Array<unknown>>(sql, params as Array<unknown>, { rowMode: "array" }),
        catch: sqlError,
      }).pipe(Effect.map((r) => r.rows)),
    // Unprepared statements may hold several commands (BEGIN/COMMIT too), which only `exec` accepts.
    executeUnprepared: (sql, params, transformRows) =>
      params.length > 0
        ? transformRows
          ? Effect.map(rows(sql, params), transformRows)
          : rows(sql, params)
        : Effect.tryPromise({ try: () => db.exec(sql), catch: sqlError }).pipe(
            Effect.map((results) => (results.at(-1)?.rows ?? []) as Array<Record<string, unknown>>),
          ),
  }
}

export const makePgliteClient = (options: PgliteOptions = {}) =>
  Effect.gen(function* () {
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          if (options.dataDir) mkdirSync(options.dataDir, { recursive: true })
          const db = new PGlite(options.dataDir)
          await db.waitReady
          return db
        },
        catch: (cause) => new SqlError({ cause, message: "Failed to open the embedded database" }),
      }),
      (db) => Effect.promise(() => db.close()).pipe(Effect.ignore),
    )
    const connection = makeConnection(db)
    const lock = yield* Effect.makeSemaphore(1)
    const exclusive = Effect.as(
      Effect.acquireRelease(lock.take(1), () => lock.release(1)),
      connection,
    )
    return yield* SqlClient.make({
      acquirer: exclusive,
      transactionAcquirer: exclusive,
      compiler: PgClient.makeCompiler(),
      spanAttributes: [["db.system.name", "postgresql"]],
    })
  })

/** An `SqlClient` backed by PGlite; closing the layer closes the database. */
export const layer = (options: PgliteOptions = {}): Layer.Layer<SqlClient.SqlClient, SqlError> =>
  Layer.scoped(SqlClient.SqlClient, makePgliteClient(options)).pipe(Layer.provide(Reactivity.layer))
