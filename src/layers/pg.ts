/**
 * PostgreSQL connections from `DATABASE_URL`, with the seed's pool defaults: 25 open, 5 idle, 5-minute lifetime.
 * URLs take the seed's forms (`?sslmode=disable`, `?sslmode=require&sslrootcert=/path/ca.pem`), parsed by `pg`.
 */
import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Config, type ConfigError, Duration, Layer, Redacted } from "effect"

export interface PoolOptions {
  readonly maxConnections?: number
  readonly minConnections?: number
  readonly connectionLifetime?: Duration.DurationInput
  readonly connectTimeout?: Duration.DurationInput
}

export const defaultPool = {
  maxConnections: 25,
  minConnections: 5,
  connectionLifetime: Duration.minutes(5),
  connectTimeout: Duration.seconds(5),
} as const

export const layer = (
  url: string | Redacted.Redacted<string>,
  options: PoolOptions = {},
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError> =>
  PgClient.layer({
    url: typeof url === "string" ? Redacted.make(url) : url,
    maxConnections: options.maxConnections ?? defaultPool.maxConnections,
    minConnections: Math.min(
      options.minConnections ?? defaultPool.minConnections,
      options.maxConnections ?? defaultPool.maxConnections,
    ),
    connectionTTL: Duration.decode(options.connectionLifetime ?? defaultPool.connectionLifetime),
    connectTimeout: Duration.decode(options.connectTimeout ?? defaultPool.connectTimeout),
    applicationName: "authsome",
  })

/** `DATABASE_URL` and `AUTHSOME_DB_MAX_CONNECTIONS` from the environment. */
export const layerFromEnv: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError | ConfigError.ConfigError> =
  Layer.unwrapEffect(
    Config.all({
      url: Config.redacted("DATABASE_URL"),
      max: Config.integer("AUTHSOME_DB_MAX_CONNECTIONS").pipe(Config.withDefault(defaultPool.maxConnections)),
    }).pipe(Config.map(({ url, max }) => layer(url, { maxConnections: max }))),
  )
