/**
 * The core migration group (`authsome`). Every app-owned table references `authsome_apps` with ON DELETE CASCADE,
 * every foreign key and lookup path has an index, and constraints are named so the stores map violations to errors.
 */
import { ddl } from "./sql.js"
import type { MigrationGroup } from "./types.js"

const tenancy = ddl(1, "create_apps_and_environments", [
  `CREATE TABLE authsome_apps (
    id text NOT NULL,
    name text NOT NULL,
    slug text NOT NULL,
    logo text,
    publishable_key text NOT NULL,
    is_platform boolean NOT NULL DEFAULT false,
    metadata jsonb,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT authsome_apps_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_apps_slug_key UNIQUE (slug),
    CONSTRAINT authsome_apps_publishable_key_key UNIQUE (publishable_key)
  )`,
  `CREATE TABLE authsome_environments (
    id text NOT NULL,
    app_id text NOT NULL,
    name text NOT NULL,
    slug text NOT NULL,
    type text NOT NULL,
    is_default boolean NOT NULL DEFAULT false,
    color text,
    description text,
    settings jsonb,
    cloned_from text,
    metadata jsonb,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT authsome_environments_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_environments_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_environments_cloned_from_fkey FOREIGN KEY (cloned_from)
      REFERENCES authsome_environments (id) ON DELETE SET NULL,
    CONSTRAINT authsome_environments_slug_key UNIQUE (app_id, slug),
    CONSTRAINT authsome_environments_type_check CHECK (type IN ('development', 'staging', 'production'))
  )`,
  `CREATE UNIQUE INDEX authsome_environments_default_key ON authsome_environments (app_id) WHERE is_default`,
  `CREATE INDEX authsome_environments_cloned_from_idx ON authsome_environments (cloned_from)`,
  `CREATE TABLE authsome_app_session_configs (
    id text NOT NULL,
    app_id text NOT NULL,
    token_ttl_seconds integer,
    refresh_token_ttl_seconds integer,
    max_active_sessions integer,
    rotate_refresh_token boolean,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT authsome_app_session_configs_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_app_session_configs_app_id_fkey FOREIGN KEY (app_id)
      REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_app_session_configs_app_key UNIQUE (app_id)
  )`,
  `CREATE TABLE authsome_form_configs (
    id text NOT NULL,
    app_id text NOT NULL,
    form_type text NOT NULL,
    fields jsonb NOT NULL,
    active boolean NOT NULL DEFAULT true,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT authsome_form_configs_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_form_configs_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_form_configs_type_key UNIQUE (app_id, form_type)
  )`,
])

const identity = ddl(2, "create_users_devices_sessions", [
  `CREATE TABLE authsome_users (
    id text NOT NULL,
    app_id text NOT NULL,
    env_id text NOT NULL,
    email text NOT NULL,
    email_verified boolean NOT NULL DEFAULT false,
    first_name text,
    last_name text,
    image text,
    username text,
    phone text,
    banned boolean NOT NULL DEFAULT false,
    ban_reason text,
    ban_expires timestamptz,
    metadata jsonb,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz,
    CONSTRAINT authsome_users_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_users_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_users_env_id_fkey FOREIGN KEY (env_id) REFERENCES authsome_environments (id) ON DELETE CASCADE
  )`,
  `CREATE UNIQUE INDEX authsome_users_email_key ON authsome_users (app_id, env_id, email) WHERE deleted_at IS NULL`,
  `CREATE UNIQUE INDEX authsome_users_username_key ON authsome_users (app_id, env_id, lower(username))
    WHERE deleted_at IS NULL AND username IS NOT NULL`,
  `CREATE INDEX authsome_users_app_page_idx ON authsome_users (app_id, id DESC) WHERE deleted_at IS NULL`,
  `CREATE INDEX authsome_users_env_id_idx ON authsome_users (env_id)`,
  `CREATE TABLE authsome_devices (
    id text NOT NULL,
    app_id text NOT NULL,
    env_id text NOT NULL,
    user_id text NOT NULL,
    name text,
    type text NOT NULL,
    browser text,
    os text,
    ip_address text,
    fingerprint text NOT NULL,
    trusted boolean NOT NULL DEFAULT false,
    last_seen_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT authsome_devices_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_devices_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_devices_env_id_fkey FOREIGN KEY (env_id) REFERENCES authsome_environments (id) ON DELETE CASCADE,
    CONSTRAINT authsome_devices_user_id_fkey FOREIGN KEY (user_id) REFERENCES authsome_users (id) ON DELETE CASCADE,
    CONSTRAINT authsome_devices_fingerprint_key UNIQUE (user_id, fingerprint)
  )`,
  `CREATE INDEX authsome_devices_app_id_idx ON authsome_devices (app_id)`,
  `CREATE INDEX authsome_devices_env_id_idx ON authsome_devices (env_id)`,
  `CREATE TABLE authsome_sessions (
    id text NOT NULL,
    app_id text NOT NULL,
    env_id text NOT NULL,
    user_id text NOT NULL,
    org_id text,
    family_id text NOT NULL,
    token_hash text NOT NULL,
    refresh_token_hash text NOT NULL,
    ip_address text,
    user_agent text,
    device_id text,
    impersonated_by text,
    expires_at timestamptz NOT NULL,
    refresh_token_expires_at timestamptz NOT NULL,
    last_activity_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT authsome_sessions_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_sessions_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_sessions_env_id_fkey FOREIGN KEY (env_id) REFERENCES authsome_environments (id) ON DELETE CASCADE,
    CONSTRAINT authsome_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES authsome_users (id) ON DELETE CASCADE,
    CONSTRAINT authsome_sessions_device_id_fkey FOREIGN KEY (device_id) REFERENCES authsome_devices (id) ON DELETE SET NULL,
    CONSTRAINT authsome_sessions_impersonated_by_fkey FOREIGN KEY (impersonated_by)
      REFERENCES authsome_users (id) ON DELETE CASCADE,
    CONSTRAINT authsome_sessions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT authsome_sessions_refresh_token_hash_key UNIQUE (refresh_token_hash)
  )`,
  `CREATE INDEX authsome_sessions_user_id_idx ON authsome_sessions (user_id)`,
  `CREATE INDEX authsome_sessions_app_id_idx ON authsome_sessions (app_id)`,
  `CREATE INDEX authsome_sessions_env_id_idx ON authsome_sessions (env_id)`,
  `CREATE INDEX authsome_sessions_org_id_idx ON authsome_sessions (org_id)`,
  `CREATE INDEX authsome_sessions_family_id_idx ON authsome_sessions (family_id)`,
  `CREATE INDEX authsome_sessions_device_id_idx ON authsome_sessions (device_id)`,
  `CREATE INDEX authsome_sessions_impersonated_by_idx ON authsome_sessions (impersonated_by)`,
  `CREATE INDEX authsome_sessions_refresh_expiry_idx ON authsome_sessions (refresh_token_expires_at)`,
  `CREATE TABLE authsome_refresh_tokens (
    token_hash text NOT NULL,
    family_id text NOT NULL,
    app_id text NOT NULL,
    user_id text NOT NULL,
    reason text NOT NULL,
    revoked_at timestamptz NOT NULL,
    replayed_at timestamptz,
    CONSTRAINT authsome_refresh_tokens_pkey PRIMARY KEY (token_hash),
    CONSTRAINT authsome_refresh_tokens_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_refresh_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES authsome_users (id) ON DELETE CASCADE,
    CONSTRAINT authsome_refresh_tokens_reason_check CHECK (reason IN ('rotated', 'signout', 'family_revoked'))
  )`,
  `CREATE INDEX authsome_refresh_tokens_family_id_idx ON authsome_refresh_tokens (family_id)`,
  `CREATE INDEX authsome_refresh_tokens_app_id_idx ON authsome_refresh_tokens (app_id)`,
  `CREATE INDEX authsome_refresh_tokens_user_id_idx ON authsome_refresh_tokens (user_id)`,
  `CREATE INDEX authsome_refresh_tokens_revoked_at_idx ON authsome_refresh_tokens (revoked_at)`,
  `CREATE TABLE authsome_verifications (
    id text NOT NULL,
    app_id text NOT NULL,
    env_id text NOT NULL,
    user_id text,
    email text NOT NULL,
    kind text NOT NULL,
    code_hash text,
    token_hash text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL,
    consumed_at timestamptz,
    created_at timestamptz NOT NULL,
    CONSTRAINT authsome_verifications_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_verifications_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_verifications_env_id_fkey FOREIGN KEY (env_id)
      REFERENCES authsome_environments (id) ON DELETE CASCADE,
    CONSTRAINT authsome_verifications_user_id_fkey FOREIGN KEY (user_id) REFERENCES authsome_users (id) ON DELETE CASCADE,
    CONSTRAINT authsome_verifications_token_hash_key UNIQUE (token_hash),
    CONSTRAINT authsome_verifications_kind_check CHECK (kind IN ('email', 'magic_link'))
  )`,
  `CREATE INDEX authsome_verifications_lookup_idx ON authsome_verifications (app_id, env_id, email, kind, id DESC)`,
  `CREATE INDEX authsome_verifications_env_id_idx ON authsome_verifications (env_id)`,
  `CREATE INDEX authsome_verifications_user_id_idx ON authsome_verifications (user_id)`,
  `CREATE INDEX authsome_verifications_expires_at_idx ON authsome_verifications (expires_at)`,
  `CREATE TABLE authsome_password_resets (
    id text NOT NULL,
    app_id text NOT NULL,
    env_id text NOT NULL,
    user_id text NOT NULL,
    token_hash text NOT NULL,
    expires_at timestamptz NOT NULL,
    consumed_at timestamptz,
    created_at timestamptz NOT NULL,
    CONSTRAINT authsome_password_resets_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_password_resets_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_password_resets_env_id_fkey FOREIGN KEY (env_id)
      REFERENCES authsome_environments (id) ON DELETE CASCADE,
    CONSTRAINT authsome_password_resets_user_id_fkey FOREIGN KEY (user_id)
      REFERENCES authsome_users (id) ON DELETE CASCADE,
    CONSTRAINT authsome_password_resets_token_hash_key UNIQUE (token_hash)
  )`,
  `CREATE INDEX authsome_password_resets_app_id_idx ON authsome_password_resets (app_id)`,
  `CREATE INDEX authsome_password_resets_env_id_idx ON authsome_password_resets (env_id)`,
  `CREATE INDEX authsome_password_resets_user_id_idx ON authsome_password_resets (user_id)`,
  `CREATE INDEX authsome_password_resets_expires_at_idx ON authsome_password_resets (expires_at)`,
])

const organizations = ddl(3, "create_organizations", [
  `CREATE TABLE authsome_organizations (
    id text NOT NULL,
    app_id text NOT NULL,
    env_id text NOT NULL,
    name text NOT NULL,
    slug text NOT NULL,
    logo text,
    metadata jsonb,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT authsome_organizations_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_organizations_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_organizations_env_id_fkey FOREIGN KEY (env_id)
      REFERENCES authsome_environments (id) ON DELETE CASCADE,
    CONSTRAINT authsome_organizations_created_by_fkey FOREIGN KEY (created_by)
      REFERENCES authsome_users (id) ON DELETE CASCADE,
    CONSTRAINT authsome_organizations_slug_key UNIQUE (app_id, slug)
  )`,
  `CREATE INDEX authsome_organizations_app_page_idx ON authsome_organizations (app_id, id DESC)`,
  `CREATE INDEX authsome_organizations_env_id_idx ON authsome_organizations (env_id)`,
  `CREATE INDEX authsome_organizations_created_by_idx ON authsome_organizations (created_by)`,
  `ALTER TABLE authsome_sessions ADD CONSTRAINT authsome_sessions_org_id_fkey FOREIGN KEY (org_id)
    REFERENCES authsome_organizations (id) ON DELETE SET NULL`,
  `CREATE TABLE authsome_members (
    id text NOT NULL,
    app_id text NOT NULL,
    org_id text NOT NULL,
    user_id text NOT NULL,
    role text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT authsome_members_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_members_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_members_org_id_fkey FOREIGN KEY (org_id) REFERENCES authsome_organizations (id) ON DELETE CASCADE,
    CONSTRAINT authsome_members_user_id_fkey FOREIGN KEY (user_id) REFERENCES authsome_users (id) ON DELETE CASCADE,
    CONSTRAINT authsome_members_org_user_key UNIQUE (org_id, user_id),
    CONSTRAINT authsome_members_role_check CHECK (role IN ('owner', 'admin', 'member'))
  )`,
  `CREATE INDEX authsome_members_app_id_idx ON authsome_members (app_id)`,
  `CREATE INDEX authsome_members_user_id_idx ON authsome_members (user_id)`,
  `CREATE TABLE authsome_invitations (
    id text NOT NULL,
    app_id text NOT NULL,
    org_id text NOT NULL,
    email text NOT NULL,
    role text NOT NULL,
    inviter_id text NOT NULL,
    status text NOT NULL,
    token_hash text NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT authsome_invitations_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_invitations_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_invitations_org_id_fkey FOREIGN KEY (org_id)
      REFERENCES authsome_organizations (id) ON DELETE CASCADE,
    CONSTRAINT authsome_invitations_inviter_id_fkey FOREIGN KEY (inviter_id)
      REFERENCES authsome_users (id) ON DELETE CASCADE,
    CONSTRAINT authsome_invitations_token_hash_key UNIQUE (token_hash),
    CONSTRAINT authsome_invitations_role_check CHECK (role IN ('owner', 'admin', 'member')),
    CONSTRAINT authsome_invitations_status_check CHECK (status IN ('pending', 'accepted', 'declined', 'canceled'))
  )`,
  `CREATE INDEX authsome_invitations_app_id_idx ON authsome_invitations (app_id)`,
  `CREATE INDEX authsome_invitations_org_id_idx ON authsome_invitations (org_id)`,
  `CREATE INDEX authsome_invitations_inviter_id_idx ON authsome_invitations (inviter_id)`,
  `CREATE INDEX authsome_invitations_email_idx ON authsome_invitations (email)`,
  `CREATE TABLE authsome_teams (
    id text NOT NULL,
    app_id text NOT NULL,
    org_id text NOT NULL,
    name text NOT NULL,
    slug text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT authsome_teams_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_teams_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_teams_org_id_fkey FOREIGN KEY (org_id) REFERENCES authsome_organizations (id) ON DELETE CASCADE,
    CONSTRAINT authsome_teams_slug_key UNIQUE (org_id, slug)
  )`,
  `CREATE INDEX authsome_teams_app_id_idx ON authsome_teams (app_id)`,
  `CREATE TABLE authsome_team_members (
    team_id text NOT NULL,
    user_id text NOT NULL,
    app_id text NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT authsome_team_members_pkey PRIMARY KEY (team_id, user_id),
    CONSTRAINT authsome_team_members_team_id_fkey FOREIGN KEY (team_id) REFERENCES authsome_teams (id) ON DELETE CASCADE,
    CONSTRAINT authsome_team_members_user_id_fkey FOREIGN KEY (user_id) REFERENCES authsome_users (id) ON DELETE CASCADE,
    CONSTRAINT authsome_team_members_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE
  )`,
  `CREATE INDEX authsome_team_members_user_id_idx ON authsome_team_members (user_id)`,
  `CREATE INDEX authsome_team_members_app_id_idx ON authsome_team_members (app_id)`,
  `CREATE TABLE authsome_branding_configs (
    id text NOT NULL,
    app_id text NOT NULL,
    org_id text NOT NULL,
    logo_url text,
    primary_color text,
    background_color text,
    accent_color text,
    font_family text,
    custom_css text,
    company_name text,
    tagline text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT authsome_branding_configs_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_branding_configs_app_id_fkey FOREIGN KEY (app_id)
      REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_branding_configs_org_id_fkey FOREIGN KEY (org_id)
      REFERENCES authsome_organizations (id) ON DELETE CASCADE,
    CONSTRAINT authsome_branding_configs_org_key UNIQUE (org_id)
  )`,
  `CREATE INDEX authsome_branding_configs_app_id_idx ON authsome_branding_configs (app_id)`,
])

const access = ddl(4, "create_rbac_and_api_keys", [
  `CREATE TABLE authsome_roles (
    id text NOT NULL,
    app_id text NOT NULL,
    parent_id text,
    name text NOT NULL,
    slug text NOT NULL,
    description text,
    built_in boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT authsome_roles_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_roles_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_roles_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES authsome_roles (id) ON DELETE SET NULL,
    CONSTRAINT authsome_roles_slug_key UNIQUE (app_id, slug)
  )`,
  `CREATE INDEX authsome_roles_parent_id_idx ON authsome_roles (parent_id)`,
  `CREATE TABLE authsome_permissions (
    id text NOT NULL,
    app_id text NOT NULL,
    role_id text NOT NULL,
    resource text NOT NULL,
    action text NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT authsome_permissions_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_permissions_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_permissions_role_id_fkey FOREIGN KEY (role_id) REFERENCES authsome_roles (id) ON DELETE CASCADE,
    CONSTRAINT authsome_permissions_role_key UNIQUE (role_id, resource, action)
  )`,
  `CREATE INDEX authsome_permissions_app_id_idx ON authsome_permissions (app_id)`,
  `CREATE TABLE authsome_user_roles (
    app_id text NOT NULL,
    user_id text NOT NULL,
    role_id text NOT NULL,
    org_id text,
    assigned_at timestamptz NOT NULL,
    CONSTRAINT authsome_user_roles_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_user_roles_user_id_fkey FOREIGN KEY (user_id) REFERENCES authsome_users (id) ON DELETE CASCADE,
    CONSTRAINT authsome_user_roles_role_id_fkey FOREIGN KEY (role_id) REFERENCES authsome_roles (id) ON DELETE CASCADE,
    CONSTRAINT authsome_user_roles_org_id_fkey FOREIGN KEY (org_id)
      REFERENCES authsome_organizations (id) ON DELETE CASCADE
  )`,
  `CREATE UNIQUE INDEX authsome_user_roles_key ON authsome_user_roles (user_id, role_id, COALESCE(org_id, ''))`,
  `CREATE INDEX authsome_user_roles_app_id_idx ON authsome_user_roles (app_id)`,
  `CREATE INDEX authsome_user_roles_role_id_idx ON authsome_user_roles (role_id)`,
  `CREATE INDEX authsome_user_roles_org_id_idx ON authsome_user_roles (org_id)`,
  `CREATE TABLE authsome_api_keys (
    id text NOT NULL,
    app_id text NOT NULL,
    env_id text NOT NULL,
    user_id text NOT NULL,
    name text NOT NULL,
    key_hash text NOT NULL,
    key_prefix text NOT NULL,
    scopes text[] NOT NULL DEFAULT '{}',
    expires_at timestamptz,
    last_used_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT authsome_api_keys_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_api_keys_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_api_keys_env_id_fkey FOREIGN KEY (env_id) REFERENCES authsome_environments (id) ON DELETE CASCADE,
    CONSTRAINT authsome_api_keys_user_id_fkey FOREIGN KEY (user_id) REFERENCES authsome_users (id) ON DELETE CASCADE,
    CONSTRAINT authsome_api_keys_key_hash_key UNIQUE (key_hash)
  )`,
  `CREATE INDEX authsome_api_keys_app_user_idx ON authsome_api_keys (app_id, user_id)`,
  `CREATE INDEX authsome_api_keys_env_id_idx ON authsome_api_keys (env_id)`,
  `CREATE INDEX authsome_api_keys_user_id_idx ON authsome_api_keys (user_id)`,
])

const outbox = ddl(5, "create_webhooks_notifications_audit_rate_limits", [
  `CREATE TABLE authsome_webhooks (
    id text NOT NULL,
    app_id text NOT NULL,
    env_id text NOT NULL,
    url text NOT NULL,
    events text[] NOT NULL,
    secret text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT authsome_webhooks_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_webhooks_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_webhooks_env_id_fkey FOREIGN KEY (env_id) REFERENCES authsome_environments (id) ON DELETE CASCADE
  )`,
  `CREATE INDEX authsome_webhooks_app_env_idx ON authsome_webhooks (app_id, env_id)`,
  `CREATE INDEX authsome_webhooks_env_id_idx ON authsome_webhooks (env_id)`,
  `CREATE TABLE authsome_webhook_deliveries (
    id text NOT NULL,
    app_id text NOT NULL,
    webhook_id text NOT NULL,
    event_id text NOT NULL,
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_status_code integer,
    last_error text,
    delivered_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT authsome_webhook_deliveries_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_webhook_deliveries_app_id_fkey FOREIGN KEY (app_id)
      REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_webhook_deliveries_webhook_id_fkey FOREIGN KEY (webhook_id)
      REFERENCES authsome_webhooks (id) ON DELETE CASCADE,
    CONSTRAINT authsome_webhook_deliveries_status_check CHECK (status IN ('pending', 'delivered', 'failed'))
  )`,
  `CREATE INDEX authsome_webhook_deliveries_webhook_page_idx ON authsome_webhook_deliveries (webhook_id, id DESC)`,
  `CREATE INDEX authsome_webhook_deliveries_app_id_idx ON authsome_webhook_deliveries (app_id)`,
  `CREATE INDEX authsome_webhook_deliveries_due_idx ON authsome_webhook_deliveries (next_attempt_at)
    WHERE status = 'pending'`,
  `CREATE TABLE authsome_notifications (
    id text NOT NULL,
    app_id text NOT NULL,
    env_id text,
    user_id text,
    type text NOT NULL,
    channel text NOT NULL,
    recipient text NOT NULL,
    subject text,
    body text,
    html text,
    status text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error text,
    sent_at timestamptz,
    created_at timestamptz NOT NULL,
    CONSTRAINT authsome_notifications_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_notifications_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_notifications_env_id_fkey FOREIGN KEY (env_id)
      REFERENCES authsome_environments (id) ON DELETE CASCADE,
    CONSTRAINT authsome_notifications_user_id_fkey FOREIGN KEY (user_id) REFERENCES authsome_users (id) ON DELETE CASCADE,
    CONSTRAINT authsome_notifications_status_check CHECK (status IN ('pending', 'sent', 'failed'))
  )`,
  `CREATE INDEX authsome_notifications_app_id_idx ON authsome_notifications (app_id)`,
  `CREATE INDEX authsome_notifications_env_id_idx ON authsome_notifications (env_id)`,
  `CREATE INDEX authsome_notifications_user_id_idx ON authsome_notifications (user_id)`,
  `CREATE INDEX authsome_notifications_due_idx ON authsome_notifications (next_attempt_at) WHERE status = 'pending'`,
  `CREATE TABLE authsome_audit_events (
    id text NOT NULL,
    app_id text NOT NULL,
    env_id text,
    user_id text,
    actor_id text,
    type text NOT NULL,
    outcome text NOT NULL,
    reason text,
    ip_address text,
    user_agent text,
    metadata jsonb,
    created_at timestamptz NOT NULL,
    CONSTRAINT authsome_audit_events_pkey PRIMARY KEY (id),
    CONSTRAINT authsome_audit_events_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE,
    CONSTRAINT authsome_audit_events_env_id_fkey FOREIGN KEY (env_id)
      REFERENCES authsome_environments (id) ON DELETE CASCADE,
    CONSTRAINT authsome_audit_events_user_id_fkey FOREIGN KEY (user_id) REFERENCES authsome_users (id) ON DELETE SET NULL,
    CONSTRAINT authsome_audit_events_actor_id_fkey FOREIGN KEY (actor_id)
      REFERENCES authsome_users (id) ON DELETE SET NULL,
    CONSTRAINT authsome_audit_events_outcome_check CHECK (outcome IN ('success', 'failure'))
  )`,
  `CREATE INDEX authsome_audit_events_app_page_idx ON authsome_audit_events (app_id, id DESC)`,
  `CREATE INDEX authsome_audit_events_env_id_idx ON authsome_audit_events (env_id)`,
  `CREATE INDEX authsome_audit_events_user_idx ON authsome_audit_events (user_id, id DESC)`,
  `CREATE INDEX authsome_audit_events_actor_id_idx ON authsome_audit_events (actor_id)`,
  `CREATE INDEX authsome_audit_events_type_idx ON authsome_audit_events (app_id, type, id DESC)`,
  `CREATE TABLE authsome_rate_limits (
    key text NOT NULL,
    count integer NOT NULL,
    reset_at timestamptz NOT NULL,
    CONSTRAINT authsome_rate_limits_pkey PRIMARY KEY (key)
  )`,
  `CREATE INDEX authsome_rate_limits_reset_at_idx ON authsome_rate_limits (reset_at)`,
])

/** A sign-up's password and profile wait on its verification until the mailed code or link is used. */
const pendingSignUps = ddl(6, "add_verification_signup", [`ALTER TABLE authsome_verifications ADD COLUMN signup jsonb`])

/** A rotated refresh token names its successor, for the reuse grace of concurrent refreshes. */
const refreshSuccessors = ddl(7, "add_refresh_token_successor", [
  `ALTER TABLE authsome_refresh_tokens ADD COLUMN successor_hash text`,
])

/** The delivery log shows how long each webhook's last attempt took. */
const deliveryDurations = ddl(8, "add_webhook_delivery_duration", [
  `ALTER TABLE authsome_webhook_deliveries ADD COLUMN last_duration_ms integer`,
])

/**
 * Administration reads stay index-only on large apps: the email-prefix search (`LIKE 'prefix%'` needs the pattern
 * operator class) and the count of active sessions. (Version 12: numbers in between are left to parallel work.)
 */
const adminIndexes = ddl(12, "add_admin_indexes", [
  `CREATE INDEX authsome_users_email_prefix_idx ON authsome_users (app_id, email text_pattern_ops)
    WHERE deleted_at IS NULL`,
  `CREATE INDEX authsome_sessions_app_active_idx ON authsome_sessions (app_id, refresh_token_expires_at)`,
  // The new index leads with app_id, so it serves what this one did (one index less to write per sign-in).
  `DROP INDEX authsome_sessions_app_id_idx`,
])

/**
 * The dispatcher claims each webhook's earliest due rows (a per-webhook limit, so one receiver's backlog cannot take
 * every slot): the webhooks with pending rows and their due rows come from this index.
 */
const deliveriesByWebhook = ddl(13, "add_webhook_delivery_due_by_webhook_index", [
  `CREATE INDEX authsome_webhook_deliveries_webhook_due_idx ON authsome_webhook_deliveries (webhook_id, next_attempt_at)
    WHERE status = 'pending'`,
])

/**
 * The session lookup as a PL/pgSQL function. Behind a transaction pooler statements go unnamed, so PostgreSQL would
 * parse and plan the lookup's join on every request (about 180 µs of its CPU per session check, measured); a
 * PL/pgSQL function keeps its plan per server connection, and the call itself costs next to nothing to plan.
 */
const sessionLookupFunction = ddl(14, "add_session_lookup_function", [
  `CREATE FUNCTION authsome_session_by_token_hash(token text) RETURNS TABLE (s jsonb, u jsonb)
    LANGUAGE plpgsql STABLE AS $lookup$
    BEGIN
      RETURN QUERY SELECT to_jsonb(ss), to_jsonb(uu)
        FROM authsome_sessions ss JOIN authsome_users uu ON uu.id = ss.user_id
        WHERE ss.token_hash = token AND uu.deleted_at IS NULL;
    END
    $lookup$`,
])

/**
 * The other per-request reads as PL/pgSQL functions, for the same reason as migration 14: the API-key lookup (a
 * request with `X-API-Key`) and the role walk of a permission check (`/authorize`, routes that require a permission).
 * Their queries are the prepared ones of the direct connection (`layers/postgres/platform.ts`).
 */
const keyAndPermissionFunctions = ddl(15, "add_api_key_and_permission_lookup_functions", [
  `CREATE FUNCTION authsome_api_key_by_hash(wanted_hash text) RETURNS TABLE (k jsonb, u jsonb)
    LANGUAGE plpgsql STABLE AS $lookup$
    BEGIN
      RETURN QUERY SELECT to_jsonb(kk), to_jsonb(uu)
        FROM authsome_api_keys kk JOIN authsome_users uu ON uu.id = kk.user_id
        WHERE kk.key_hash = wanted_hash AND uu.deleted_at IS NULL;
    END
    $lookup$`,
  `CREATE FUNCTION authsome_resolve_permission(
      wanted_user text, wanted_app text, wanted_org text, wanted_resource text, wanted_action text
    ) RETURNS TABLE (role_id text, role_slug text, resource text, action text, depth integer)
    LANGUAGE plpgsql STABLE AS $resolve$
    #variable_conflict use_column
    BEGIN
      RETURN QUERY WITH RECURSIVE chain(role_id, slug, parent_id, depth) AS (
          SELECT r.id, r.slug, r.parent_id, 0
          FROM authsome_user_roles ur JOIN authsome_roles r ON r.id = ur.role_id
          WHERE ur.user_id = wanted_user AND ur.app_id = wanted_app AND (ur.org_id IS NULL OR ur.org_id = wanted_org)
          UNION ALL
          SELECT r.id, r.slug, r.parent_id, c.depth + 1
          FROM chain c JOIN authsome_roles r ON r.id = c.parent_id
          WHERE c.depth < 32
        )
        SELECT c.role_id, c.slug, p.resource, p.action, c.depth
        FROM chain c JOIN authsome_permissions p ON p.role_id = c.role_id
        WHERE (p.resource = wanted_resource OR p.resource = '*') AND (p.action = wanted_action OR p.action = '*')
        ORDER BY c.depth, (p.resource = '*')::int + (p.action = '*')::int, c.slug COLLATE "C", p.id COLLATE "C"
        LIMIT 1;
    END
    $resolve$`,
])

/**
 * Every role's grants with its ancestors' (`authsome_role_grants`: the role held, the permission, the role that holds
 * it and how far up), kept by triggers in the same transaction as the role or permission written, so a permission
 * check is one index lookup per role held instead of a walk up the chain, and a change grants or stops granting at
 * once on every instance. A change re-derives its app's rows under the lock `updateRole` takes for the app's
 * hierarchy (two writers of one app apply one after the other, the second reading what the first committed); the
 * depth bound of the walk it replaces (32) still holds should a cycle ever be written by hand.
 */
const roleGrants = ddl(16, "add_role_grants", [
  `CREATE TABLE authsome_role_grants (
    app_id text NOT NULL,
    role_id text NOT NULL,
    permission_id text NOT NULL,
    granting_role_id text NOT NULL,
    granting_role_slug text NOT NULL,
    depth integer NOT NULL,
    resource text NOT NULL,
    action text NOT NULL,
    CONSTRAINT authsome_role_grants_pkey PRIMARY KEY (app_id, role_id, permission_id),
    CONSTRAINT authsome_role_grants_app_id_fkey FOREIGN KEY (app_id) REFERENCES authsome_apps (id) ON DELETE CASCADE
  )`,
  `CREATE FUNCTION authsome_refresh_role_grants(apps text[]) RETURNS void
    LANGUAGE plpgsql AS $refresh$
    DECLARE
      app text;
    BEGIN
      FOR app IN SELECT DISTINCT a FROM unnest(apps) a ORDER BY a LOOP
        PERFORM pg_advisory_xact_lock(1634889580, hashtext(app));
      END LOOP;
      DELETE FROM authsome_role_grants WHERE app_id = ANY (apps);
      INSERT INTO authsome_role_grants
        (app_id, role_id, permission_id, granting_role_id, granting_role_slug, depth, resource, action)
      SELECT DISTINCT ON (c.role_id, p.id) c.app_id, c.role_id, p.id, c.ancestor_id, c.slug, c.depth, p.resource, p.action
      FROM (
        WITH RECURSIVE chain(app_id, role_id, ancestor_id, slug, parent_id, depth) AS (
          SELECT r.app_id, r.id, r.id, r.slug, r.parent_id, 0 FROM authsome_roles r WHERE r.app_id = ANY (apps)
          UNION ALL
          SELECT c.app_id, c.role_id, r.id, r.slug, r.parent_id, c.depth + 1
          FROM chain c JOIN authsome_roles r ON r.id = c.parent_id
          WHERE c.depth < 32
        ) SELECT * FROM chain
      ) c JOIN authsome_permissions p ON p.role_id = c.ancestor_id
      ORDER BY c.role_id, p.id, c.depth;
    END
    $refresh$`,
  // A role's name or description changing grants nothing new: only its place in the hierarchy and its slug count.
  `CREATE FUNCTION authsome_role_grants_changed() RETURNS trigger
    LANGUAGE plpgsql AS $changed$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        PERFORM authsome_refresh_role_grants(ARRAY(SELECT DISTINCT app_id FROM new_rows));
      ELSIF TG_OP = 'DELETE' THEN
        PERFORM authsome_refresh_role_grants(ARRAY(SELECT DISTINCT app_id FROM old_rows));
      ELSIF TG_TABLE_NAME = 'authsome_roles' THEN
        PERFORM authsome_refresh_role_grants(ARRAY(
          SELECT unnest(ARRAY[n.app_id, o.app_id]) FROM new_rows n JOIN old_rows o ON o.id = n.id
          WHERE n.parent_id IS DISTINCT FROM o.parent_id OR n.slug <> o.slug OR n.app_id <> o.app_id));
      ELSE
        PERFORM authsome_refresh_role_grants(ARRAY(SELECT app_id FROM new_rows UNION SELECT app_id FROM old_rows));
      END IF;
      RETURN NULL;
    END
    $changed$`,
  ...["authsome_roles", "authsome_permissions"].flatMap((table) => [
    `CREATE TRIGGER ${table}_grants_inserted AFTER INSERT ON ${table}
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION authsome_role_grants_changed()`,
    `CREATE TRIGGER ${table}_grants_updated AFTER UPDATE ON ${table}
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
      EXECUTE FUNCTION authsome_role_grants_changed()`,
    `CREATE TRIGGER ${table}_grants_deleted AFTER DELETE ON ${table}
      REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION authsome_role_grants_changed()`,
  ]),
  `SELECT authsome_refresh_role_grants(ARRAY(SELECT id FROM authsome_apps))`,
  // The permission check of a pooled connection (migration 15) reads the grants too.
  `CREATE OR REPLACE FUNCTION authsome_resolve_permission(
      wanted_user text, wanted_app text, wanted_org text, wanted_resource text, wanted_action text
    ) RETURNS TABLE (role_id text, role_slug text, resource text, action text, depth integer)
    LANGUAGE plpgsql STABLE AS $resolve$
    #variable_conflict use_column
    BEGIN
      RETURN QUERY SELECT g.granting_role_id, g.granting_role_slug, g.resource, g.action, g.depth
        FROM authsome_user_roles ur
        JOIN authsome_role_grants g ON g.app_id = ur.app_id AND g.role_id = ur.role_id
        WHERE ur.user_id = wanted_user AND ur.app_id = wanted_app AND (ur.org_id IS NULL OR ur.org_id = wanted_org)
          AND (g.resource = wanted_resource OR g.resource = '*') AND (g.action = wanted_action OR g.action = '*')
        ORDER BY g.depth, (g.resource = '*')::int + (g.action = '*')::int, g.granting_role_slug COLLATE "C",
          g.permission_id COLLATE "C"
        LIMIT 1;
    END
    $resolve$`,
])

export const coreMigrations: MigrationGroup = {
  name: "authsome",
  migrations: [
    tenancy,
    identity,
    organizations,
    access,
    outbox,
    pendingSignUps,
    refreshSuccessors,
    deliveryDurations,
    adminIndexes,
    deliveriesByWebhook,
    sessionLookupFunction,
    keyAndPermissionFunctions,
    roleGrants,
  ],
}
