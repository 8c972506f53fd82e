import { ddl, type MigrationGroup } from "../../plugin/store.js"

export const socialMigrations: MigrationGroup = {
  name: "authsome-social",
  migrations: [
    ddl(1, "create_oauth_connections", [
      `CREATE TABLE authsome_oauth_connections (
        id text NOT NULL,
        app_id text NOT NULL,
        user_id text NOT NULL,
        provider text NOT NULL,
        provider_user_id text NOT NULL,
        email text,
        access_token text,
        refresh_token text,
        expires_at timestamptz,
        scope text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        CONSTRAINT authsome_oauth_connections_pkey PRIMARY KEY (id),
        CONSTRAINT authsome_oauth_connections_app_id_fkey FOREIGN KEY (app_id)
          REFERENCES authsome_apps (id) ON DELETE CASCADE,
        CONSTRAINT authsome_oauth_connections_user_id_fkey FOREIGN KEY (user_id)
          REFERENCES authsome_users (id) ON DELETE CASCADE,
        CONSTRAINT authsome_oauth_connections_provider_user_key UNIQUE (app_id, provider, provider_user_id)
      )`,
      `CREATE INDEX authsome_oauth_connections_user_id_idx ON authsome_oauth_connections (user_id)`,
    ]),
    ddl(2, "create_oauth_states", [
      `CREATE TABLE authsome_oauth_states (
        state_hash text NOT NULL,
        app_id text NOT NULL,
        env_id text NOT NULL,
        provider text NOT NULL,
        code_verifier text NOT NULL,
        nonce text NOT NULL,
        redirect_url text NOT NULL,
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL,
        CONSTRAINT authsome_oauth_states_pkey PRIMARY KEY (state_hash),
        CONSTRAINT authsome_oauth_states_app_id_fkey FOREIGN KEY (app_id)
          REFERENCES authsome_apps (id) ON DELETE CASCADE,
        CONSTRAINT authsome_oauth_states_env_id_fkey FOREIGN KEY (env_id)
          REFERENCES authsome_environments (id) ON DELETE CASCADE
      )`,
      `CREATE INDEX authsome_oauth_states_app_id_idx ON authsome_oauth_states (app_id)`,
      `CREATE INDEX authsome_oauth_states_env_id_idx ON authsome_oauth_states (env_id)`,
      `CREATE INDEX authsome_oauth_states_expires_at_idx ON authsome_oauth_states (expires_at)`,
    ]),
  ],
}
