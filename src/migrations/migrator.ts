/**
 * The `Migrator`: applies the core group and the given plugin groups through the store (`Store.migrate`: one
 * transaction under a cluster-wide advisory lock on PostgreSQL). `Migrator.layer(groups)` applies them while the
 * layer is built, so everything built on it (the services, then the HTTP layer and the port) starts after them.
 */
import { Context, Effect, Layer } from "effect"
import { Store } from "../services/store/store.js"
import type { InvalidMigrationGroups, MigrationFailed } from "./runner.js"
import type { AppliedMigration, MigrationGroup, MigrationStatus } from "./types.js"

export type MigrationError = MigrationFailed | InvalidMigrationGroups

export interface MigratorShape {
  /** The plugin groups this migrator runs besides the core group. */
  readonly groups: ReadonlyArray<MigrationGroup>
  /** Applies what is pending (idempotent) and returns what ran. */
  readonly migrate: Effect.Effect<ReadonlyArray<AppliedMigration>, MigrationError>
  /** Applied and pending migrations, changing nothing. */
  readonly status: Effect.Effect<ReadonlyArray<MigrationStatus>, InvalidMigrationGroups>
}

export class Migrator extends Context.Tag("authsome/Migrator")<Migrator, MigratorShape>() {
  /** The service for the core group plus `groups`; builds without migrating (for `migrate --status`). */
  static readonly make = (groups: ReadonlyArray<MigrationGroup>): Layer.Layer<Migrator, never, Store> =>
    Layer.effect(
      Migrator,
      Effect.map(Store, (store) => ({
        groups,
        migrate: store.migrate(...groups),
        status: store.migrationStatus(...groups),
      })),
    )

  /** `make`, then every pending migration applied before the layer is ready. */
  static readonly layer = (groups: ReadonlyArray<MigrationGroup>): Layer.Layer<Migrator, MigrationError, Store> =>
    Layer.effect(
      Migrator,
      Effect.flatMap(Migrator, (migrator) =>
        Effect.as(
          migrator.migrate.pipe(
            Effect.tap((applied) =>
              applied.length > 0 ? Effect.logInfo(`applied ${applied.length} migrations`) : Effect.void,
            ),
          ),
          migrator,
        ),
      ),
    ).pipe(Layer.provide(Migrator.make(groups)))
}
