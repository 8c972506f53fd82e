/**
 * PostgreSQL connections from `DATABASE_URL`, with the default pool: 25 open, 5 idle, 5-minute lifetime.
 * URLs take the usual forms (`?sslmode=disable`, `?sslmode=require&sslrootcert=/path/ca.pem`); the TLS parameters
 * mean what they mean to libpq (see `pg-connection.ts`), the rest is parsed by `pg`.
 *
 * The layer owns the `pg` pool and shares it as `PgPool` next to the `SqlClient`, so the store can run its hottest
 * read (session by token) as a prepared statement straight on the pool.
 *
 * Behind a pooler in transaction mode (PgBouncer before 1.21, RDS Proxy, Supabase's and Neon's poolers), a named
 * prepared statement lives on one server connection while the next query may get another: `poolMode: "transaction"`
 * turns them off (the fast path then sends the same query unnamed, parsed per call). Nothing else here holds session
 * state: advisory locks are `pg_advisory_xact_lock`, no `SET` runs outside a transaction, and nothing `LISTEN`s.
 */
import { SqlError } from "@effect/sql/SqlError"
import type { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Config, type ConfigError, Context, Duration, Effect, Layer, Redacted } from "effect"
import pg from "pg"
import { connectionOptions, describeConnectionFailure } from "./pg-connection.js"

export interface PoolOptions {
  readonly maxConnections?: number
  readonly minConnections?: number
  readonly connectionLifetime?: Duration.DurationInput
  readonly connectTimeout?: Duration.DurationInput
  /**
   * `"session"` (the default: a direct connection, or a pooler in session mode) or `"transaction"` (a pooler that
   * may hand each transaction another server connection): no named prepared statements.
   */
  readonly poolMode?: PoolMode
}

export type PoolMode = "session" | "transaction"

export const defaultPool = {
  maxConnections: 25,
  minConnections: 5,
  connectionLifetime: Duration.minutes(5),
  connectTimeout: Duration.seconds(5),
} as const

/** The `pg` pool behind the `SqlClient` of `layer`. */
export class PgPool extends Context.Tag("authsome/PgPool")<PgPool, pg.Pool>() {}

/** How the connections of `PgPool` are pooled beyond this process (see `PoolOptions.poolMode`). */
export class PgPoolMode extends Context.Tag("authsome/PgPoolMode")<PgPoolMode, PoolMode>() {}

const makePool = (url: Redacted.Redacted<string>, options: PoolOptions) => {
  const max = options.maxConnections ?? defaultPool.maxConnections
  const connectTimeout = Duration.decode(options.connectTimeout ?? defaultPool.connectTimeout)
  return Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const pool = new pg.Pool({
          ...(await connectionOptions(Redacted.value(url), {
            connectionTimeoutMillis: Duration.toMillis(connectTimeout),
          })),
          max,
          min: Math.min(options.minConnections ?? defaultPool.minConnections, max),
          maxLifetimeSeconds: Duration.toSeconds(options.connectionLifetime ?? defaultPool.connectionLifetime),
          connectionTimeoutMillis: Duration.toMillis(connectTimeout),
          application_name: "authsome",
        })
        // Errors of idle clients surface on the next query; without a listener they would crash the process.
        pool.on("error", () => {})
        try {
          await pool.query("SELECT 1")
        } catch (error) {
          await pool.end()
          throw error
        }
        return pool
      },
      catch: (cause) => new SqlError({ cause, message: describeConnectionFailure(cause, Redacted.value(url)) }),
    }),
    (pool) => Effect.promise(() => pool.end()).pipe(Effect.timeoutOption(Duration.seconds(5))),
  )
}

export const layer = (
  url: string | Redacted.Redacted<string>,
  options: PoolOptions = {},
): Layer.Layer<PgPool | PgPoolMode | PgClient.PgClient | SqlClient.SqlClient, SqlError> => {
  const pool = Layer.merge(
    Layer.scoped(PgPool, makePool(typeof url === "string" ? Redacted.make(url) : url, options)),
    Layer.succeed(PgPoolMode, options.poolMode ?? "session"),
  )
  const client = Layer.unwrapEffect(
    Effect.map(PgPool, (shared) =>
      PgClient.layerFromPool({ acquire: Effect.succeed(shared), applicationName: "authsome" }),
    ),
  )
  return Layer.provideMerge(client, pool)
}

/**
 * `layer` from `Config`s, like `PgClient.layerConfig`:
 * `Pg.layerConfig({ url: Config.redacted("DATABASE_URL"), maxConnections: Config.succeed(25) })`.
 * Unlike a bare `PgClient.layerConfig`, it provides the `PgPool` the store's prepared-statement fast path runs on.
 */
export const layerConfig = (
  config: Config.Config.Wrap<{
    readonly url: Redacted.Redacted<string>
    readonly maxConnections?: number | undefined
    readonly minConnections?: number | undefined
    readonly poolMode?: PoolMode | undefined
  }>,
): Layer.Layer<PgPool | PgPoolMode | PgClient.PgClient | SqlClient.SqlClient, SqlError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.map(Config.unwrap(config), ({ url, maxConnections, minConnections, poolMode }) =>
      layer(url, {
        ...(maxConnections === undefined ? {} : { maxConnections }),
        ...(minConnections === undefined ? {} : { minConnections }),
        ...(poolMode === undefined ? {} : { poolMode }),
      }),
    ),
  )
