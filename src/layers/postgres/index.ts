/**
 * The PostgreSQL store: every store service over the user's `SqlClient` (node-postgres via `@effect/sql-pg`, or
 * PGlite), plus the `Store` lifecycle (migrations, ping, transactions).
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { coreMigrations } from "../../migrations/core.js"
import { migrationStatus, runMigrations } from "../../migrations/runner.js"
import type { StoreServices } from "../../services/store/index.js"
import { Store } from "../../services/store/store.js"
import { StoreBackend } from "../backend.js"
import { identityLayer } from "./identity.js"
import { organizationsLayer } from "./organizations.js"
import { platformLayer } from "./platform.js"
import * as Sql from "./sql.js"
import { tenancyLayer } from "./tenancy.js"

const makeStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  const provideClient = Effect.provideService(SqlClient.SqlClient, sql)
  return Store.of({
    // Failures of the lock or the tracking table are infrastructure failures (defects), not typed errors.
    migrate: (...extraGroups) =>
      runMigrations([coreMigrations, ...extraGroups]).pipe(Effect.catchTag("SqlError", Sql.sqlDefect), provideClient),
    migrationStatus: (...extraGroups) =>
      migrationStatus([coreMigrations, ...extraGroups]).pipe(Effect.catchTag("SqlError", Sql.sqlDefect), provideClient),
    ping: sql`SELECT 1`.pipe(
      Effect.as(true),
      Effect.catchAllCause(() => Effect.succeed(false)),
    ),
    transaction: Sql.transaction(sql),
  })
})

export const PostgresStore: {
  /** Every core store, `Store`, and the backend plugins build their stores on, over the `SqlClient` in context. */
  readonly layer: Layer.Layer<StoreServices | StoreBackend, never, SqlClient.SqlClient>
} = {
  layer: Layer.mergeAll(
    Layer.effect(Store, makeStore),
    Layer.effect(
      StoreBackend,
      Effect.map(Sql.client, (sql) => ({ kind: "sql" as const, sql })),
    ),
    tenancyLayer,
    identityLayer,
    organizationsLayer,
    platformLayer,
  ),
}
