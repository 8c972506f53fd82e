/**
 * Which storage the store layer runs on, for stores that are not the core's: a plugin implements its stores once per
 * backend (SQL over the `SqlClient`, and the memory engine) and picks the one this tag names.
 */
import type { SqlClient } from "@effect/sql"
import { Context } from "effect"
import type { Engine } from "./memory/engine.js"

export type StoreBackendShape =
  | { readonly kind: "sql"; readonly sql: SqlClient.SqlClient }
  | { readonly kind: "memory"; readonly engine: Engine }

export class StoreBackend extends Context.Tag("authsome/StoreBackend")<StoreBackend, StoreBackendShape>() {}
