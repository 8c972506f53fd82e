/**
 * Embedded PostgreSQL: an `SqlClient` over PGlite, so the PostgreSQL store runs unchanged on it.
 *
 * PGlite has a single connection, so every statement takes the connection exclusively, and a transaction keeps it
 * until it ends: no other fiber's query can run inside an open transaction (real isolation, not interleaving).
 */
import type { PGlite } from "@electric-sql/pglite"
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient, type SqlConnection } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Stream } from "effect"
import { accessSync, constants, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describeFileError, makeDirectories } from "./directories.js"

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

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as { code?: string }).code === "EPERM"
  }
}

/**
 * The data directory, created and writable, and held by this process alone: PGlite has no lock of its own, and two
 * processes on one directory each see only their own writes and lose the other's. A lock left by a process that is
 * gone is taken over.
 */
const claimDataDir = (dataDir: string) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        try {
          makeDirectories(dataDir)
          accessSync(dataDir, constants.W_OK)
        } catch (error) {
          throw new Error(`cannot use the data directory ${dataDir}: ${describeFileError(error)}`)
        }
        const lockFile = join(dataDir, "authsome.lock")
        for (;;) {
          try {
            writeFileSync(lockFile, String(process.pid), { flag: "wx" })
            return lockFile
          } catch (error) {
            if ((error as { code?: string }).code !== "EEXIST") {
              throw new Error(`cannot lock the data directory ${dataDir}: ${describeFileError(error)}`)
            }
            const holder = Number(readFileSync(lockFile, "utf8").trim())
            if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isRunning(holder)) {
              throw new Error(`the data directory ${dataDir} is in use by process ${holder} (another authsome?)`)
            }
            rmSync(lockFile, { force: true })
          }
        }
      },
      catch: (error) => new SqlError({ cause: error, message: (error as Error).message }),
    }),
    (lockFile) => Effect.sync(() => rmSync(lockFile, { force: true })),
  )

export const makePgliteClient = (options: PgliteOptions = {}) =>
  Effect.gen(function* () {
    if (options.dataDir) yield* claimDataDir(options.dataDir)
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          // Loaded here, not at import: compiling it is ~20 ms of every start-up, also on PostgreSQL.
          const { PGlite } = await import("@electric-sql/pglite")
          const db = new PGlite(options.dataDir)
          await db.waitReady
          return db
        },
        catch: (cause) =>
          new SqlError({
            cause,
            message: `cannot open the embedded database${options.dataDir ? ` in ${options.dataDir}` : ""}: ${describeFileError(cause)}`,
          }),
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
