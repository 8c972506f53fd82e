/**
 * `authsome/postgres`: the PostgreSQL store, the pooled connection layers, and the embedded database (PGlite).
 *
 * `Pg.layerConfig({ url: Config.redacted("DATABASE_URL") })` provides the `SqlClient` and the `PgPool` beside it
 * (the store's prepared-statement fast path for session checks runs on that pool; with a bare
 * `PgClient.layerConfig` the store still works, without the fast path).
 */
export { PostgresStore } from "./layers/postgres/index.js"
export * as Pg from "./layers/pg.js"
export * as Embedded from "./layers/pglite.js"
export { StoreBackend, type StoreBackendShape } from "./layers/backend.js"
