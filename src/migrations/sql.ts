import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Migration } from "./types.js"

/**
 * A migration made of plain DDL statements, sent as one unprepared (simple-protocol) query: one round trip for the
 * whole migration instead of one per statement, which is most of the start-up time on an empty database.
 */
export const ddl = (version: number, name: string, statements: ReadonlyArray<string>): Migration => ({
  version,
  name,
  up: Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(statements.join(";\n")).unprepared),
  statements,
})
