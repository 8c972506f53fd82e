import { Context, type Effect } from "effect"
import type { InvalidMigrationGroups, MigrationFailed } from "../../migrations/runner.js"
import type { AppliedMigration, MigrationGroup, MigrationStatus } from "../../migrations/types.js"

/**
 * The store's lifecycle and transactions (migrate, ping, and close by scope).
 * `migrate` runs the core group plus `extraGroups` (plugins) in one transaction; the memory store has nothing to
 * migrate and reports nothing applied.
 */
export interface StoreShape {
  readonly migrate: (
    ...extraGroups: ReadonlyArray<MigrationGroup>
  ) => Effect.Effect<ReadonlyArray<AppliedMigration>, MigrationFailed | InvalidMigrationGroups>
  readonly migrationStatus: (
    ...extraGroups: ReadonlyArray<MigrationGroup>
  ) => Effect.Effect<ReadonlyArray<MigrationStatus>, InvalidMigrationGroups>
  /** True when the database answers. */
  readonly ping: Effect.Effect<boolean>
  /**
   * Runs `effect` as one transaction over every store: all its writes commit together or not at all (a failure or
   * defect rolls back). Nested calls join the outer transaction.
   */
  readonly transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}
export class Store extends Context.Tag("authsome/Store")<Store, StoreShape>() {}
