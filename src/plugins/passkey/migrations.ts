import { ddl, type MigrationGroup } from "../../plugin/store.js"

export const passkeyMigrations: MigrationGroup = {
  name: "authsome-passkey",
  migrations: [
    ddl(1, "create_passkeys", [
      `CREATE TABLE authsome_passkeys (
        id text NOT NULL,
        app_id text NOT NULL,
        user_id text NOT NULL,
        name text NOT NULL,
        credential_id text NOT NULL,
        public_key text NOT NULL,
        counter bigint NOT NULL DEFAULT 0,
        transports text[] NOT NULL DEFAULT '{}',
        device_type text,
        backed_up boolean NOT NULL DEFAULT false,
        aaguid text,
        last_used_at timestamptz,
        created_at timestamptz NOT NULL,
        CONSTRAINT authsome_passkeys_pkey PRIMARY KEY (id),
        CONSTRAINT authsome_passkeys_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
        CONSTRAINT authsome_passkeys_user_id_fkey FOREIGN KEY (user_id) REFERENCES authsome_users (id) ON DELETE CASCADE,
        CONSTRAINT authsome_passkeys_credential_id_key UNIQUE (credential_id)
      )`,
      `CREATE INDEX authsome_passkeys_app_id_idx ON authsome_passkeys (app_id)`,
      `CREATE INDEX authsome_passkeys_user_id_idx ON authsome_passkeys (user_id)`,
    ]),
    ddl(2, "create_passkey_challenges", [
      `CREATE TABLE authsome_passkey_challenges (
        id text NOT NULL,
        app_id text NOT NULL,
        user_id text,
        kind text NOT NULL,
        challenge text NOT NULL,
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL,
        CONSTRAINT authsome_passkey_challenges_pkey PRIMARY KEY (id),
        CONSTRAINT authsome_passkey_challenges_app_id_fkey FOREIGN KEY (app_id)
          REFERENCES authsome_apps (id) ON DELETE CASCADE,
        CONSTRAINT authsome_passkey_challenges_user_id_fkey FOREIGN KEY (user_id)
          REFERENCES authsome_users (id) ON DELETE CASCADE,
        CONSTRAINT authsome_passkey_challenges_challenge_key UNIQUE (challenge),
        CONSTRAINT authsome_passkey_challenges_kind_check CHECK (kind IN ('registration', 'authentication'))
      )`,
      `CREATE INDEX authsome_passkey_challenges_app_id_idx ON authsome_passkey_challenges (app_id)`,
      `CREATE INDEX authsome_passkey_challenges_user_id_idx ON authsome_passkey_challenges (user_id)`,
      `CREATE INDEX authsome_passkey_challenges_expires_at_idx ON authsome_passkey_challenges (expires_at)`,
    ]),
  ],
}
