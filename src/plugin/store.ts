/**
 * What a plugin needs to own tables: its migration group (`ddl`), a store tag implemented once on SQL (the `Sql`
 * helpers over `SqlClient`, the same ones the core's PostgreSQL store uses) and once on the memory engine (a
 * registered `MemoryTable` plus the engine's `run`/`find`), and `storeLayer` to pick the implementation of the
 * backend in use. The store conformance suite takes a plugin's own suite the same way (`authsome/memory`).
 */
import { SqlClient } from "@effect/sql"
import { type Context, Effect, Layer } from "effect"
import { StoreBackend } from "../layers/backend.js"
import type { Engine } from "../layers/memory/engine.js"

export { StoreBackend } from "../layers/backend.js"
export { type MemoryTable, table as memoryTable } from "../layers/memory/database.js"
export type { Engine as MemoryEngine } from "../layers/memory/engine.js"
export { byTime, newestFirst, oldestFirst, paged, replacingAllBut, sorted } from "../layers/memory/query.js"
export { byId, cascade, conflict, ownedByApp, setNull, slugTaken } from "../layers/memory/schema.js"
export * as Sql from "../layers/postgres/sql.js"
export { ddl } from "../migrations/sql.js"
export type { Migration, MigrationGroup } from "../migrations/types.js"

export interface StoreImplementations<S> {
  /** The SQL implementation, over the store's `SqlClient` (PostgreSQL or the embedded PGlite). */
  readonly sql: Effect.Effect<S, never, SqlClient.SqlClient>
  /** The memory implementation, over the memory store's engine (register the plugin's tables first). */
  readonly memory: (engine: Engine) => S
}

/** A plugin store's layer: the implementation for the backend the store layer runs on. */
export const storeLayer = <I, S>(tag: Context.Tag<I, S>, implementations: StoreImplementations<S>) =>
  Layer.effect(
    tag,
    Effect.flatMap(StoreBackend, (backend) =>
      backend.kind === "sql"
        ? Effect.provideService(implementations.sql, SqlClient.SqlClient, backend.sql)
        : Effect.sync(() => implementations.memory(backend.engine)),
    ),
  )
