/** The memory store's lifecycle: its schema is always current, it always answers, and transactions are the engine's. */
import { Effect } from "effect"
import { coreMigrations } from "../../migrations/core.js"
import { InvalidMigrationGroups } from "../../migrations/runner.js"
import type { MigrationGroup, MigrationStatus } from "../../migrations/types.js"
import type { StoreShape } from "../../services/store/store.js"
import type { Engine } from "./engine.js"

/** Rejects what the PostgreSQL runner rejects (duplicate groups, bad or duplicate versions), so both stores agree. */
const validate = (groups: ReadonlyArray<MigrationGroup>): Effect.Effect<void, InvalidMigrationGroups> => {
  const names = new Set<string>()
  for (const group of groups) {
    if (names.has(group.name)) return new InvalidMigrationGroups({ message: `duplicate group ${group.name}` })
    names.add(group.name)
    const versions = new Set<number>()
    for (const { version } of group.migrations) {
      if (!Number.isInteger(version) || version <= 0 || versions.has(version)) {
        return new InvalidMigrationGroups({ message: `invalid or duplicate version ${version} in group ${group.name}` })
      }
      versions.add(version)
    }
  }
  return Effect.void
}

/** `schemaCreatedAt`: when the layer was built, which is when every table came into being. */
export const makeStore = ({ transaction }: Engine, schemaCreatedAt: Date): StoreShape => ({
  // Nothing is ever pending: the tables exist as soon as the layer does.
  migrate: (...extraGroups) => Effect.as(validate([coreMigrations, ...extraGroups]), []),
  migrationStatus: (...extraGroups) => {
    const groups = [coreMigrations, ...extraGroups]
    return Effect.as(
      validate(groups),
      groups.flatMap((group) =>
        [...group.migrations]
          .sort((a, b) => a.version - b.version)
          .map(
            ({ version, name }): MigrationStatus => ({ group: group.name, version, name, appliedAt: schemaCreatedAt }),
          ),
      ),
    )
  },
  ping: Effect.succeed(true),
  transaction,
})
