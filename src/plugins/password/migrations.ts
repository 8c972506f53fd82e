import { ddl, type MigrationGroup } from "../../plugin/store.js"

export const passwordMigrations: MigrationGroup = {
  name: "authsome-password",
  migrations: [
    ddl(1, "create_password_hashes", [
      `CREATE TABLE authsome_password_hashes (
        user_id text NOT NULL,
        app_id text NOT NULL,
        hash text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        CONSTRAINT authsome_password_hashes_pkey PRIMARY KEY (user_id),
        CONSTRAINT authsome_password_hashes_user_id_fkey FOREIGN KEY (user_id)
          REFERENCES authsome_users (id) ON DELETE CASCADE,
        CONSTRAINT authsome_password_hashes_app_id_fkey FOREIGN KEY (app_id)
          REFERENCES authsome_apps (id) ON DELETE CASCADE
      )`,
      `CREATE INDEX authsome_password_hashes_app_id_idx ON authsome_password_hashes (app_id)`,
    ]),
  ],
}
