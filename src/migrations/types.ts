import type { SqlClient } from "@effect/sql"
import type { Effect } from "effect"

/** One forward-only schema change. Versions are ordered within their group. */
export interface Migration {
  readonly version: number
  readonly name: string
  readonly up: Effect.Effect<unknown, unknown, SqlClient.SqlClient>
  /**
   * `up` as plain SQL statements, when it is only that (`ddl` sets it): the runner may send them in one query with
   * the other pending migrations'.
   */
  readonly statements?: ReadonlyArray<string>
}

/** An ordered list of migrations owned by the core (`authsome`) or by one plugin (`authsome-<plugin>`). */
export interface MigrationGroup {
  readonly name: string
  readonly migrations: ReadonlyArray<Migration>
}

export interface MigrationStatus {
  readonly group: string
  readonly version: number
  readonly name: string
  /** `null` while pending. */
  readonly appliedAt: Date | null
}

export interface AppliedMigration {
  readonly group: string
  readonly version: number
  readonly name: string
}
