/**
 * `authsome`: the engine, its configuration and services. Stores: `authsome/postgres`, `authsome/memory`; the plugin
 * SDK: `authsome/plugin`; plugins: `authsome/password`, ...
 */
export {
  Authsome,
  AuthsomeHttp,
  type AuthsomeHttpShape,
  type AuthsomeOptions,
  AuthsomeServices,
  type AuthsomeShape,
  migrationGroups,
  version,
} from "./authsome.js"
export {
  AuthsomeConfig,
  type AuthsomeConfigInput,
  InvalidConfig,
  RateLimitRule,
  type ResolvedConfig,
  resolveConfig,
} from "./config.js"
export type { RequestLogEntry } from "./http/app.js"
export { type AuthsomeHandlers, makeHandlers } from "./http/mount.js"
export { Migrator, type MigratorShape, type MigrationError } from "./migrations/migrator.js"
export { coreMigrations } from "./migrations/core.js"
export { InvalidMigrationGroups, MigrationFailed } from "./migrations/runner.js"
export type { AppliedMigration, Migration, MigrationGroup, MigrationStatus } from "./migrations/types.js"
export { StoreBackend, type StoreBackendShape } from "./layers/backend.js"
export * as Errors from "./domain/errors.js"
export * as Ids from "./domain/ids.js"
export * as Models from "./domain/models.js"
export * as Permissions from "./domain/permissions.js"

export { Accounts, type VerifyEmailInput } from "./services/accounts.js"
export { Admin, type Ban, type NewUser, type Stats, type UserChanges } from "./services/admin.js"
export {
  apiKeyRateLimits,
  ApiKeys,
  type CreatedApiKey,
  isApiKeyToken,
  type NewApiKey,
} from "./services/api-keys.js"
export {
  type AppChanges,
  Apps,
  type Branding,
  type EnvironmentChanges,
  type NewApp,
  type NewEnvironment,
  type SessionLifetimes,
} from "./services/apps.js"
export { Audit, type AuditInput } from "./services/audit.js"
export { Authorization, type CheckInput, type Decision } from "./services/authorization.js"
export { Background } from "./services/background.js"
export { AuthConfig } from "./services/config.js"
export type { ClientContext } from "./services/context.js"
export { Devices, parseUserAgent } from "./services/devices.js"
export { type EventInput, Events, type WebhookEventType, webhookEventTypes } from "./services/events.js"
export { Housekeeping, type Pruned } from "./services/housekeeping.js"
export { Introspection, type IntrospectionResult } from "./services/introspection.js"
export {
  InvalidSmtpUrl,
  MailDeliveryError,
  MailDispatcher,
  type MailDispatcherSettings,
  Mailer,
  type MailerShape,
  MailQueue,
  type OutgoingMail,
} from "./services/mail/index.js"
export { type PluginHooks, PluginRegistry, type SignInProof } from "./services/plugin-registry.js"
export { type LockoutSubject, RateLimiter, type RateLimitPolicy } from "./services/rate-limit.js"
export { type Actor, type HeldRole, type NewRole, type RoleChanges, Roles } from "./services/roles.js"
export { SecretBox } from "./services/secrets.js"
export { type IssuedTokens, Sessions } from "./services/sessions.js"
export { SignIn } from "./services/sign-in.js"
export { type FormField, type SignUpForm, SignUpForms } from "./services/signup-form.js"
export { type Tenant, Tenancy } from "./services/tenancy.js"
export {
  ApiKeyStore,
  type ApiKeyWithUser,
  AppSessionConfigStore,
  AppStore,
  AuditStore,
  BrandingStore,
  DeviceStore,
  EnvironmentStore,
  FormConfigStore,
  InvitationStore,
  MemberStore,
  NotificationStore,
  OrganizationStore,
  PasswordResetStore,
  RateLimitStore,
  RbacStore,
  SessionStore,
  Store,
  TeamMemberStore,
  TeamStore,
  UserStore,
  VerificationStore,
  WebhookDeliveryStore,
  WebhookStore,
  toPage,
  type ApiKeyStoreShape,
  type AppPatch,
  type AppSessionConfigStoreShape,
  type AppStoreShape,
  type AuditQuery,
  type AuditStoreShape,
  type BrandingStoreShape,
  type DeliveryAttemptFailure,
  type DeviceStoreShape,
  type EnvironmentPatch,
  type EnvironmentStoreShape,
  type FormConfigInput,
  type FormConfigStoreShape,
  type InvitationStoreShape,
  type MemberStoreShape,
  type MemberWithUser,
  type NotificationStoreShape,
  type OrganizationPatch,
  type OrganizationStoreShape,
  type Page,
  type PageRequest,
  type PasswordResetStoreShape,
  type PermissionQuery,
  type RateLimitStoreShape,
  type RbacStoreShape,
  type ResolvedPermission,
  type RolePatch,
  type RotateSession,
  type SessionStoreShape,
  type SessionWithUser,
  type StoreServices,
  type StoreShape,
  type TeamMemberStoreShape,
  type TeamPatch,
  type TeamStoreShape,
  type UserListQuery,
  type UserPatch,
  type UserStoreShape,
  type VerificationStoreShape,
  type WebhookDeliveryStoreShape,
  type WebhookPatch,
  type WebhookStoreShape,
} from "./services/store/index.js"
