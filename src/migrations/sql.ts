import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Migration } from "./types.js"

/** A migration made of plain DDL statements, run one after another (the extended protocol takes one at a time). */
export const ddl = (version: number, name: string, statements: ReadonlyArray<string>): Migration => ({
  version,
  name,
  up: Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.forEach(statements, (statement) => sql.unsafe(statement), { discard: true }),
  ),
})
