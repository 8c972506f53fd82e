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
import * as Reactivity from "@effect/experimental/Reactivity"
import {
  Config,
  type ConfigError,
  Context,
  Duration,
  Effect,
  Layer,
  Option,
  Redacted,
  Ref,
  Schedule,
  Scope,
} from "effect"
import pg from "pg"
import { ReadReplica, type ReplicaState } from "../services/store/replica.js"
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

const makePool = (url: Redacted.Redacted<string>, options: PoolOptions, probe = true) => {
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
          if (probe) await pool.query("SELECT 1")
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

export interface ReplicaOptions extends PoolOptions {
  /** Lag past which reads go back to the primary (default 10 s). */
  readonly maxLag?: Duration.DurationInput
  /** How often the replica's lag is measured (default 1 s). */
  readonly checkInterval?: Duration.DurationInput
}

export const defaultReplica = { maxLag: Duration.seconds(10), checkInterval: Duration.seconds(1) } as const

/** The read replica's client, while lag-tolerant reads may use it (see `Sql.replicaReads`). */
export interface ReplicaConnection {
  /** The replica's client when it is streaming within the allowed lag; none otherwise. */
  readonly usable: Effect.Effect<Option.Option<SqlClient.SqlClient>>
  /** A read failed on it: reads go to the primary until the next check finds it healthy. */
  readonly failed: (reason: string) => Effect.Effect<void>
}

export class PgReplica extends Context.Tag("authsome/PgReplica")<PgReplica, ReplicaConnection>() {}

/**
 * A streaming replica's lag, as an upper bound: 0 when it has replayed everything the primary had written just before
 * (`$1`, the primary's WAL position), else the age of the last transaction it replayed (nothing older is missing).
 * Without the primary's position (no `PgPool` beside it, or the primary unreachable): 0 while its WAL receiver runs
 * and it has replayed all it received. `recovery` false means it has been promoted: it no longer follows the primary.
 */
const lagQuery = `SELECT pg_is_in_recovery() AS recovery,
  CASE WHEN $1::pg_lsn IS NOT NULL AND pg_last_wal_replay_lsn() >= $1::pg_lsn THEN 0
       WHEN $1::pg_lsn IS NULL AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver)
            AND pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
       ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8 AS lag`

/**
 * A read replica (`AUTHSOME_DATABASE_REPLICA_URL`) for `layer`'s primary: `PgReplica` for the store's lag-tolerant
 * reads and `ReadReplica` for `/health`. Give it the primary (`Layer.provideMerge(Pg.layer(...))`) so that its lag is
 * measured against the primary's WAL position; merged beside it, it trusts the replica's own view (a replica cut off
 * from its primary then looks current until its WAL receiver gives up). It never fails to build: its pool is opened by the first check that reaches
 * it (every `checkInterval`), and until a check finds it streaming within `maxLag`, and whenever it is unreachable,
 * every read goes to the primary.
 */
export const replicaLayer = (
  url: string | Redacted.Redacted<string>,
  options: ReplicaOptions = {},
): Layer.Layer<PgReplica | ReadReplica> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const maxLag = Duration.toSeconds(options.maxLag ?? defaultReplica.maxLag)
      const interval = options.checkInterval ?? defaultReplica.checkInterval
      const state = yield* Ref.make<ReplicaState>({ _tag: "Unavailable", reason: "not reached yet" })
      const connection = yield* Ref.make<Option.Option<{ readonly pool: pg.Pool; readonly sql: SqlClient.SqlClient }>>(
        Option.none(),
      )
      const scope = yield* Effect.scope
      const primary = yield* Effect.serviceOption(PgPool)
      const primaryPosition = Option.match(primary, {
        onNone: () => Effect.succeed(null),
        onSome: (pool) =>
          Effect.tryPromise(() => pool.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn")).pipe(
            Effect.timeout(Duration.seconds(2)),
            Effect.map(({ rows: [row] }) => row?.lsn ?? null),
            Effect.orElseSucceed(() => null),
          ),
      })
      // Opening the pool connects once (libpq's sslmode=prefer/allow decide by a trial connection): done by the
      // checks, so a replica that is down at start-up delays nothing.
      const connect = Effect.gen(function* () {
        const pool = yield* makePool(typeof url === "string" ? Redacted.make(url) : url, options, false)
        // Unlike `PgClient.make`, `fromPool` does not connect.
        const sql = yield* PgClient.fromPool({ acquire: Effect.succeed(pool), applicationName: "authsome" }).pipe(
          Effect.provide(Reactivity.layer),
        )
        // The store writes snake_case SQL and maps rows itself (as with the primary's `Sql.client`).
        const opened = { pool, sql: sql.withoutTransforms() }
        yield* Ref.set(connection, Option.some(opened))
        return opened
      }).pipe(Scope.extend(scope))
      const measure = (pool: pg.Pool, position: string | null) =>
        Effect.tryPromise(() => pool.query<{ recovery: boolean; lag: number }>(lagQuery, [position])).pipe(
          Effect.timeout(Duration.seconds(2)),
          Effect.map(({ rows: [row] }): ReplicaState => {
            if (row === undefined || !row.recovery) return { _tag: "Unavailable", reason: "not in recovery" }
            const lagSeconds = Number(row.lag)
            return lagSeconds <= maxLag ? { _tag: "Streaming", lagSeconds } : { _tag: "Behind", lagSeconds }
          }),
        )
      const check = Ref.get(connection).pipe(
        Effect.flatMap(Option.match({ onNone: () => connect, onSome: Effect.succeed })),
        Effect.flatMap(({ pool }) => Effect.flatMap(primaryPosition, (position) => measure(pool, position))),
        Effect.catchAll(() => Effect.succeed<ReplicaState>({ _tag: "Unavailable", reason: "unreachable" })),
        Effect.flatMap((next) => Ref.set(state, next)),
      )
      yield* Effect.forkScoped(Effect.repeat(check, Schedule.spaced(interval)))
      return Context.make(PgReplica, {
        usable: Effect.zipWith(Ref.get(state), Ref.get(connection), (current, opened) =>
          current._tag === "Streaming" ? Option.map(opened, ({ sql }) => sql) : Option.none(),
        ),
        failed: (reason) => Ref.set(state, { _tag: "Unavailable", reason }),
      }).pipe(Context.add(ReadReplica, { state: Ref.get(state) }))
    }),
  )
