import { ddl, type MigrationGroup } from "../../plugin/store.js"

export const mfaMigrations: MigrationGroup = {
  name: "authsome-mfa",
  migrations: [
    ddl(1, "create_mfa_enrollments_and_recovery_codes", [
      `CREATE TABLE authsome_mfa_enrollments (
        id text NOT NULL,
        app_id text NOT NULL,
        user_id text NOT NULL,
        method text NOT NULL,
        secret text NOT NULL,
        verified boolean NOT NULL DEFAULT false,
        last_used_step bigint,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        CONSTRAINT authsome_mfa_enrollments_pkey PRIMARY KEY (id),
        CONSTRAINT authsome_mfa_enrollments_app_id_fkey FOREIGN KEY (app_id)
          REFERENCES authsome_apps (id) ON DELETE CASCADE,
        CONSTRAINT authsome_mfa_enrollments_user_id_fkey FOREIGN KEY (user_id)
          REFERENCES authsome_users (id) ON DELETE CASCADE,
        CONSTRAINT authsome_mfa_enrollments_user_method_key UNIQUE (user_id, method)
      )`,
      `CREATE INDEX authsome_mfa_enrollments_app_id_idx ON authsome_mfa_enrollments (app_id)`,
      `CREATE TABLE authsome_mfa_recovery_codes (
        id text NOT NULL,
        app_id text NOT NULL,
        user_id text NOT NULL,
        code_hash text NOT NULL,
        used_at timestamptz,
        created_at timestamptz NOT NULL,
        CONSTRAINT authsome_mfa_recovery_codes_pkey PRIMARY KEY (id),
        CONSTRAINT authsome_mfa_recovery_codes_app_id_fkey FOREIGN KEY (app_id)
          REFERENCES authsome_apps (id) ON DELETE CASCADE,
        CONSTRAINT authsome_mfa_recovery_codes_user_id_fkey FOREIGN KEY (user_id)
          REFERENCES authsome_users (id) ON DELETE CASCADE
      )`,
      `CREATE INDEX authsome_mfa_recovery_codes_user_idx ON authsome_mfa_recovery_codes (user_id, code_hash)`,
      `CREATE INDEX authsome_mfa_recovery_codes_app_id_idx ON authsome_mfa_recovery_codes (app_id)`,
    ]),
    ddl(2, "create_mfa_tickets", [
      `CREATE TABLE authsome_mfa_tickets (
        ticket_hash text NOT NULL,
        app_id text NOT NULL,
        user_id text NOT NULL,
        attempts integer NOT NULL,
        consumed_at timestamptz,
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL,
        CONSTRAINT authsome_mfa_tickets_pkey PRIMARY KEY (ticket_hash),
        CONSTRAINT authsome_mfa_tickets_app_id_fkey FOREIGN KEY (app_id)
          REFERENCES authsome_apps (id) ON DELETE CASCADE,
        CONSTRAINT authsome_mfa_tickets_user_id_fkey FOREIGN KEY (user_id)
          REFERENCES authsome_users (id) ON DELETE CASCADE
      )`,
      `CREATE INDEX authsome_mfa_tickets_app_id_idx ON authsome_mfa_tickets (app_id)`,
      `CREATE INDEX authsome_mfa_tickets_user_id_idx ON authsome_mfa_tickets (user_id)`,
      `CREATE INDEX authsome_mfa_tickets_expires_at_idx ON authsome_mfa_tickets (expires_at)`,
    ]),
  ],
}
