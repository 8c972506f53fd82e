import { mfaMigrations } from "../plugins/mfa/migrations.js"
import { passkeyMigrations } from "../plugins/passkey/migrations.js"
import { passwordMigrations } from "../plugins/password/migrations.js"
import { socialMigrations } from "../plugins/social/migrations.js"
import { coreMigrations } from "./core.js"

export { coreMigrations } from "./core.js"
export { InvalidMigrationGroups, MigrationFailed, migrationStatus, runMigrations } from "./runner.js"
export type { AppliedMigration, Migration, MigrationGroup, MigrationStatus } from "./types.js"

/** Every group this package ships: the core and each plugin that owns tables. */
export const allMigrationGroups = [
  coreMigrations,
  passwordMigrations,
  mfaMigrations,
  passkeyMigrations,
  socialMigrations,
] as const
