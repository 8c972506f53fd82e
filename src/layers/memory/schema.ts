/**
 * The PostgreSQL schema (`src/migrations/core.ts` and the plugin migrations) restated for the memory store: each
 * table's primary key, unique indexes (partial ones leave rows out) and foreign keys with their ON DELETE action.
 * `Database` enforces exactly these, so the memory store accepts and rejects what PostgreSQL does.
 */
import { Conflict, EmailTaken, SlugTaken, type StoreError, UsernameTaken } from "../../domain/errors.js"
import type * as M from "../../domain/models.js"

/** Every table, by the row type its store returns. */
export interface Tables {
  readonly apps: M.App
  readonly environments: M.Environment
  readonly appSessionConfigs: M.AppSessionConfig
  readonly formConfigs: M.FormConfig
  readonly users: M.User
  readonly devices: M.Device
  readonly sessions: M.Session
  readonly refreshTokens: M.RevokedRefreshToken
  readonly verifications: M.Verification
  readonly passwordResets: M.PasswordReset
  readonly organizations: M.Organization
  readonly members: M.Member
  readonly invitations: M.Invitation
  readonly teams: M.Team
  readonly teamMembers: M.TeamMember
  readonly brandingConfigs: M.BrandingConfig
  readonly roles: M.Role
  readonly permissions: M.Permission
  readonly userRoles: M.UserRole
  readonly apiKeys: M.ApiKey
  readonly webhooks: M.Webhook
  readonly webhookDeliveries: M.WebhookDelivery
  readonly notifications: M.Notification
  readonly auditEvents: M.AuditEvent
  readonly rateLimits: M.RateLimitCounter
}
export type TableName = keyof Tables

/** The column values making up a key, in order. */
export type KeyParts = ReadonlyArray<string>

export interface UniqueIndex<Row> {
  /** The indexed values; `undefined` leaves the row out of the index (a partial index, or a NULL column). */
  readonly key: (row: Row) => KeyParts | undefined
  /** What a violation fails with: the error the PostgreSQL store maps this constraint to. */
  readonly violation: () => StoreError
}

/** Columns that can hold a foreign key (a text id, possibly NULL). */
export type ReferenceColumn<Row> = { [C in keyof Row]: Row[C] extends string | null ? C : never }[keyof Row] & string

/** A foreign key to the `id` of another table. */
export interface ForeignKey<Row> {
  readonly column: ReferenceColumn<Row>
  /** A core table's name, or a plugin table's. */
  readonly references: string
  readonly onDelete: "cascade" | "setNull"
}

export interface TableDef<Row> {
  /** How `NotFound` names a missing row (the table's singular, as the PostgreSQL store names it). */
  readonly entity: string
  readonly primaryKey: (row: Row) => KeyParts
  readonly unique: Readonly<Record<string, UniqueIndex<Row>>>
  readonly foreignKeys: ReadonlyArray<ForeignKey<Row>>
}

export const cascade = <C extends string>(column: C, references: TableName) =>
  ({ column, references, onDelete: "cascade" }) as const
export const setNull = <C extends string>(column: C, references: TableName) =>
  ({ column, references, onDelete: "setNull" }) as const
export const ownedByApp = cascade("appId", "apps")

export const slugTaken = () => new SlugTaken()
export const conflict = (message: string) => () => new Conflict({ message })
export const byId = (row: { readonly id: string }) => [row.id]

export const schema = {
  apps: {
    entity: "app",
    primaryKey: byId,
    unique: {
      slug: { key: (app) => [app.slug], violation: slugTaken },
      publishableKey: { key: (app) => [app.publishableKey], violation: conflict("publishable key already in use") },
    },
    foreignKeys: [],
  },
  environments: {
    entity: "environment",
    primaryKey: byId,
    unique: {
      slug: { key: (env) => [env.appId, env.slug], violation: slugTaken },
      default: {
        key: (env) => (env.isDefault ? [env.appId] : undefined),
        violation: conflict("the app already has a default environment"),
      },
    },
    foreignKeys: [ownedByApp, setNull("clonedFrom", "environments")],
  },
  appSessionConfigs: {
    entity: "app_session_config",
    primaryKey: byId,
    unique: { app: { key: (config) => [config.appId], violation: conflict("the app already has a session config") } },
    foreignKeys: [ownedByApp],
  },
  formConfigs: {
    entity: "form_config",
    primaryKey: byId,
    unique: {
      formType: { key: (form) => [form.appId, form.formType], violation: conflict("form type already exists") },
    },
    foreignKeys: [ownedByApp],
  },
  users: {
    entity: "user",
    primaryKey: byId,
    unique: {
      email: {
        key: (user) => (user.deletedAt === null ? [user.appId, user.envId, user.email] : undefined),
        violation: () => new EmailTaken(),
      },
      username: {
        key: (user) =>
          user.deletedAt === null && user.username !== null
            ? [user.appId, user.envId, user.username.toLowerCase()]
            : undefined,
        violation: () => new UsernameTaken(),
      },
    },
    foreignKeys: [ownedByApp, cascade("envId", "environments")],
  },
  devices: {
    entity: "device",
    primaryKey: byId,
    unique: {
      fingerprint: {
        key: (device) => [device.userId, device.fingerprint],
        violation: conflict("device already registered"),
      },
    },
    foreignKeys: [ownedByApp, cascade("envId", "environments"), cascade("userId", "users")],
  },
  sessions: {
    entity: "session",
    primaryKey: byId,
    unique: {
      tokenHash: { key: (session) => [session.tokenHash], violation: conflict("duplicate session token") },
      refreshTokenHash: {
        key: (session) => [session.refreshTokenHash],
        violation: conflict("duplicate refresh token"),
      },
    },
    foreignKeys: [
      ownedByApp,
      cascade("envId", "environments"),
      cascade("userId", "users"),
      setNull("orgId", "organizations"),
      setNull("deviceId", "devices"),
      cascade("impersonatedBy", "users"),
    ],
  },
  refreshTokens: {
    entity: "refresh_token",
    primaryKey: (token) => [token.tokenHash],
    unique: {},
    foreignKeys: [ownedByApp, cascade("userId", "users")],
  },
  verifications: {
    entity: "verification",
    primaryKey: byId,
    unique: { tokenHash: { key: (v) => [v.tokenHash], violation: conflict("duplicate verification token") } },
    foreignKeys: [ownedByApp, cascade("envId", "environments"), cascade("userId", "users")],
  },
  passwordResets: {
    entity: "password_reset",
    primaryKey: byId,
    unique: { tokenHash: { key: (reset) => [reset.tokenHash], violation: conflict("duplicate reset token") } },
    foreignKeys: [ownedByApp, cascade("envId", "environments"), cascade("userId", "users")],
  },
  organizations: {
    entity: "organization",
    primaryKey: byId,
    unique: { slug: { key: (org) => [org.appId, org.slug], violation: slugTaken } },
    foreignKeys: [ownedByApp, cascade("envId", "environments"), cascade("createdBy", "users")],
  },
  members: {
    entity: "member",
    primaryKey: byId,
    unique: {
      orgUser: { key: (member) => [member.orgId, member.userId], violation: conflict("already a member") },
    },
    foreignKeys: [ownedByApp, cascade("orgId", "organizations"), cascade("userId", "users")],
  },
  invitations: {
    entity: "invitation",
    primaryKey: byId,
    unique: {
      tokenHash: { key: (invitation) => [invitation.tokenHash], violation: conflict("duplicate invitation token") },
    },
    foreignKeys: [ownedByApp, cascade("orgId", "organizations"), cascade("inviterId", "users")],
  },
  teams: {
    entity: "team",
    primaryKey: byId,
    unique: { slug: { key: (team) => [team.orgId, team.slug], violation: slugTaken } },
    foreignKeys: [ownedByApp, cascade("orgId", "organizations")],
  },
  teamMembers: {
    entity: "team_member",
    primaryKey: (member) => [member.teamId, member.userId],
    unique: {},
    foreignKeys: [cascade("teamId", "teams"), cascade("userId", "users"), ownedByApp],
  },
  brandingConfigs: {
    entity: "branding_config",
    primaryKey: byId,
    unique: { org: { key: (branding) => [branding.orgId], violation: conflict("the organization has branding") } },
    foreignKeys: [ownedByApp, cascade("orgId", "organizations")],
  },
  roles: {
    entity: "role",
    primaryKey: byId,
    unique: { slug: { key: (role) => [role.appId, role.slug], violation: slugTaken } },
    foreignKeys: [ownedByApp, setNull("parentId", "roles")],
  },
  permissions: {
    entity: "permission",
    primaryKey: byId,
    unique: {
      roleAction: {
        key: (permission) => [permission.roleId, permission.resource, permission.action],
        violation: conflict("the role already has this permission"),
      },
    },
    foreignKeys: [ownedByApp, cascade("roleId", "roles")],
  },
  // No primary key in PostgreSQL; its unique index (user, role, COALESCE(org, '')) identifies the row.
  userRoles: {
    entity: "user_role",
    primaryKey: (assignment) => [assignment.userId, assignment.roleId, assignment.orgId ?? ""],
    unique: {},
    foreignKeys: [
      ownedByApp,
      cascade("userId", "users"),
      cascade("roleId", "roles"),
      cascade("orgId", "organizations"),
    ],
  },
  apiKeys: {
    entity: "api_key",
    primaryKey: byId,
    unique: { keyHash: { key: (key) => [key.keyHash], violation: conflict("duplicate API key") } },
    foreignKeys: [ownedByApp, cascade("envId", "environments"), cascade("userId", "users")],
  },
  webhooks: {
    entity: "webhook",
    primaryKey: byId,
    unique: {},
    foreignKeys: [ownedByApp, cascade("envId", "environments")],
  },
  webhookDeliveries: {
    entity: "webhook_delivery",
    primaryKey: byId,
    unique: {},
    foreignKeys: [ownedByApp, cascade("webhookId", "webhooks")],
  },
  notifications: {
    entity: "notification",
    primaryKey: byId,
    unique: {},
    foreignKeys: [ownedByApp, cascade("envId", "environments"), cascade("userId", "users")],
  },
  auditEvents: {
    entity: "audit_event",
    primaryKey: byId,
    unique: {},
    foreignKeys: [
      ownedByApp,
      cascade("envId", "environments"),
      setNull("userId", "users"),
      setNull("actorId", "users"),
    ],
  },
  rateLimits: {
    entity: "rate_limit",
    primaryKey: (counter) => [counter.key],
    unique: {},
    foreignKeys: [],
  },
} satisfies { readonly [K in TableName]: TableDef<Tables[K]> }

export type IndexName<K extends TableName> = keyof (typeof schema)[K]["unique"] & string
