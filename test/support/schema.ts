/** library.md §3: the core's tables, each plugin's, and the migrations' tracking table. */
import { coreMigrations } from "../../src/migrations/core.js"
import type { MigrationGroup } from "../../src/migrations/types.js"
import { mfaMigrations } from "../../src/plugins/mfa/migrations.js"
import { passkeyMigrations } from "../../src/plugins/passkey/migrations.js"
import { passwordMigrations } from "../../src/plugins/password/migrations.js"
import { socialMigrations } from "../../src/plugins/social/migrations.js"

export const coreTables = [
  "authsome_users",
  "authsome_sessions",
  "authsome_verifications",
  "authsome_password_resets",
  "authsome_apps",
  "authsome_organizations",
  "authsome_members",
  "authsome_invitations",
  "authsome_teams",
  "authsome_devices",
  "authsome_webhooks",
  "authsome_notifications",
  "authsome_api_keys",
  "authsome_environments",
  "authsome_form_configs",
  "authsome_branding_configs",
  "authsome_app_session_configs",
  "authsome_team_members",
  "authsome_roles",
  "authsome_permissions",
  "authsome_user_roles",
  "authsome_refresh_tokens",
  "authsome_webhook_deliveries",
  "authsome_audit_events",
  "authsome_rate_limits",
  // Derived from roles and permissions by triggers: each role's grants with its ancestors' (migration 16).
  "authsome_role_grants",
  "authsome_migrations",
]

/** Each plugin migration group's tables. */
export const pluginTables: Readonly<Record<string, ReadonlyArray<string>>> = {
  "authsome-password": ["authsome_password_hashes"],
  "authsome-mfa": ["authsome_mfa_enrollments", "authsome_mfa_recovery_codes", "authsome_mfa_tickets"],
  "authsome-passkey": ["authsome_passkeys", "authsome_passkey_challenges"],
  "authsome-social": ["authsome_oauth_connections", "authsome_oauth_states"],
}

/** Every group this repository ships. */
export const allMigrationGroups: ReadonlyArray<MigrationGroup> = [
  coreMigrations,
  passwordMigrations,
  mfaMigrations,
  passkeyMigrations,
  socialMigrations,
]

/** The tables after migrating the core and `groups`. */
export const tablesOf = (groups: ReadonlyArray<MigrationGroup>) =>
  [...coreTables, ...groups.flatMap((group) => pluginTables[group.name] ?? [])].sort()

export const expectedTables = tablesOf(allMigrationGroups)
