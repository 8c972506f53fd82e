/**
 * Row models: one Schema per stored row type, in camelCase. Stores return these; the HTTP layer renders the
 * public snake_case objects of the spec from them (never the hash columns).
 */
import { Schema } from "effect"
import * as Id from "./ids.js"

const Nullable = Schema.NullOr
const Timestamp = Schema.DateFromSelf
const Metadata = Nullable(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
export type Metadata = typeof Metadata.Type

export const App = Schema.Struct({
  id: Id.AppId,
  name: Schema.String,
  slug: Schema.String,
  logo: Nullable(Schema.String),
  publishableKey: Schema.String,
  isPlatform: Schema.Boolean,
  metadata: Metadata,
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type App = typeof App.Type

export const EnvironmentType = Schema.Literal("development", "staging", "production")
export type EnvironmentType = typeof EnvironmentType.Type

export const Environment = Schema.Struct({
  id: Id.EnvironmentId,
  appId: Id.AppId,
  name: Schema.String,
  slug: Schema.String,
  type: EnvironmentType,
  isDefault: Schema.Boolean,
  color: Nullable(Schema.String),
  description: Nullable(Schema.String),
  settings: Metadata,
  clonedFrom: Nullable(Id.EnvironmentId),
  metadata: Metadata,
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type Environment = typeof Environment.Type

export const User = Schema.Struct({
  id: Id.UserId,
  appId: Id.AppId,
  envId: Id.EnvironmentId,
  email: Schema.String,
  emailVerified: Schema.Boolean,
  firstName: Nullable(Schema.String),
  lastName: Nullable(Schema.String),
  image: Nullable(Schema.String),
  username: Nullable(Schema.String),
  phone: Nullable(Schema.String),
  banned: Schema.Boolean,
  banReason: Nullable(Schema.String),
  banExpires: Nullable(Timestamp),
  metadata: Metadata,
  createdAt: Timestamp,
  updatedAt: Timestamp,
  deletedAt: Nullable(Timestamp),
})
export type User = typeof User.Type

export const Session = Schema.Struct({
  id: Id.SessionId,
  appId: Id.AppId,
  envId: Id.EnvironmentId,
  userId: Id.UserId,
  orgId: Nullable(Id.OrganizationId),
  familyId: Id.SessionFamilyId,
  tokenHash: Schema.String,
  refreshTokenHash: Schema.String,
  ipAddress: Nullable(Schema.String),
  userAgent: Nullable(Schema.String),
  deviceId: Nullable(Id.DeviceId),
  impersonatedBy: Nullable(Id.UserId),
  expiresAt: Timestamp,
  refreshTokenExpiresAt: Timestamp,
  lastActivityAt: Timestamp,
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type Session = typeof Session.Type

export const RefreshTokenRevocationReason = Schema.Literal("rotated", "signout", "family_revoked")
export type RefreshTokenRevocationReason = typeof RefreshTokenRevocationReason.Type

/**
 * A refresh-token hash that no longer works; presenting one again is reuse. A rotated one records the hash that
 * replaced it (`successorHash`): while that one is still its session's, this was the last rotation of the family.
 */
export const RevokedRefreshToken = Schema.Struct({
  tokenHash: Schema.String,
  familyId: Id.SessionFamilyId,
  appId: Id.AppId,
  userId: Id.UserId,
  reason: RefreshTokenRevocationReason,
  revokedAt: Timestamp,
  replayedAt: Nullable(Timestamp),
  successorHash: Nullable(Schema.String),
})
export type RevokedRefreshToken = typeof RevokedRefreshToken.Type

export const VerificationKind = Schema.Literal("email", "magic_link")
export type VerificationKind = typeof VerificationKind.Type

/**
 * A sign-up waiting for its code or link (http-api.md §3 "No pre-hijacking"): the plugin that finishes it
 * (`method`), the id the user will get, and that plugin's data (profile, password hash). Nothing of it exists as an
 * account until the code or link mailed for this very sign-up is used.
 */
export const PendingSignUp = Schema.Struct({
  method: Schema.String,
  userId: Id.UserId,
  data: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
})
export type PendingSignUp = typeof PendingSignUp.Type

/**
 * An email verification (6-digit code and link token) or magic link; only hashes are stored. It verifies an existing
 * user (`userId`) or, with `signup`, creates the account of a pending sign-up.
 */
export const Verification = Schema.Struct({
  id: Id.VerificationId,
  appId: Id.AppId,
  envId: Id.EnvironmentId,
  userId: Nullable(Id.UserId),
  email: Schema.String,
  kind: VerificationKind,
  codeHash: Nullable(Schema.String),
  tokenHash: Schema.String,
  attempts: Schema.Number,
  expiresAt: Timestamp,
  consumedAt: Nullable(Timestamp),
  createdAt: Timestamp,
  signup: Nullable(PendingSignUp),
})
export type Verification = typeof Verification.Type

export const PasswordReset = Schema.Struct({
  id: Id.PasswordResetId,
  appId: Id.AppId,
  envId: Id.EnvironmentId,
  userId: Id.UserId,
  tokenHash: Schema.String,
  expiresAt: Timestamp,
  consumedAt: Nullable(Timestamp),
  createdAt: Timestamp,
})
export type PasswordReset = typeof PasswordReset.Type

export const Organization = Schema.Struct({
  id: Id.OrganizationId,
  appId: Id.AppId,
  envId: Id.EnvironmentId,
  name: Schema.String,
  slug: Schema.String,
  logo: Nullable(Schema.String),
  metadata: Metadata,
  createdBy: Id.UserId,
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type Organization = typeof Organization.Type

export const OrgRole = Schema.Literal("owner", "admin", "member")
export type OrgRole = typeof OrgRole.Type

export const Member = Schema.Struct({
  id: Id.MemberId,
  appId: Id.AppId,
  orgId: Id.OrganizationId,
  userId: Id.UserId,
  role: OrgRole,
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type Member = typeof Member.Type

export const InvitationStatus = Schema.Literal("pending", "accepted", "declined", "canceled")
export type InvitationStatus = typeof InvitationStatus.Type

export const Invitation = Schema.Struct({
  id: Id.InvitationId,
  appId: Id.AppId,
  orgId: Id.OrganizationId,
  email: Schema.String,
  role: OrgRole,
  inviterId: Id.UserId,
  status: InvitationStatus,
  tokenHash: Schema.String,
  expiresAt: Timestamp,
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type Invitation = typeof Invitation.Type

export const Team = Schema.Struct({
  id: Id.TeamId,
  appId: Id.AppId,
  orgId: Id.OrganizationId,
  name: Schema.String,
  slug: Schema.String,
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type Team = typeof Team.Type

export const TeamMember = Schema.Struct({
  teamId: Id.TeamId,
  userId: Id.UserId,
  appId: Id.AppId,
  createdAt: Timestamp,
})
export type TeamMember = typeof TeamMember.Type

export const DeviceType = Schema.Literal("desktop", "mobile", "tablet", "unknown")
export type DeviceType = typeof DeviceType.Type

export const Device = Schema.Struct({
  id: Id.DeviceId,
  appId: Id.AppId,
  envId: Id.EnvironmentId,
  userId: Id.UserId,
  name: Nullable(Schema.String),
  type: DeviceType,
  browser: Nullable(Schema.String),
  os: Nullable(Schema.String),
  ipAddress: Nullable(Schema.String),
  /** SHA-256 of the User-Agent: one device row per user and User-Agent. */
  fingerprint: Schema.String,
  trusted: Schema.Boolean,
  lastSeenAt: Timestamp,
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type Device = typeof Device.Type

export const Webhook = Schema.Struct({
  id: Id.WebhookId,
  appId: Id.AppId,
  envId: Id.EnvironmentId,
  url: Schema.String,
  events: Schema.Array(Schema.String),
  /** `whsec_...` sealed by `SecretBox` (purpose "webhook-secret"): every delivery is signed with it. */
  secret: Schema.String,
  active: Schema.Boolean,
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type Webhook = typeof Webhook.Type

export const DeliveryStatus = Schema.Literal("pending", "delivered", "failed")
export type DeliveryStatus = typeof DeliveryStatus.Type

export const WebhookDelivery = Schema.Struct({
  id: Id.WebhookDeliveryId,
  appId: Id.AppId,
  webhookId: Id.WebhookId,
  eventId: Schema.String,
  eventType: Schema.String,
  payload: Schema.Unknown,
  status: DeliveryStatus,
  attempts: Schema.Number,
  nextAttemptAt: Timestamp,
  lastStatusCode: Nullable(Schema.Number),
  /** How long the last attempt took, until the answer's status or the failure. */
  lastDurationMs: Nullable(Schema.Number),
  lastError: Nullable(Schema.String),
  deliveredAt: Nullable(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type WebhookDelivery = typeof WebhookDelivery.Type

export const NotificationStatus = Schema.Literal("pending", "sent", "failed")
export type NotificationStatus = typeof NotificationStatus.Type

/** A queued mail (the outbox). `subject`/`body` are cleared once sent, so codes and links do not linger. */
export const Notification = Schema.Struct({
  id: Id.NotificationId,
  appId: Id.AppId,
  envId: Nullable(Id.EnvironmentId),
  userId: Nullable(Id.UserId),
  type: Schema.String,
  channel: Schema.Literal("email"),
  recipient: Schema.String,
  subject: Nullable(Schema.String),
  body: Nullable(Schema.String),
  html: Nullable(Schema.String),
  status: NotificationStatus,
  attempts: Schema.Number,
  nextAttemptAt: Timestamp,
  lastError: Nullable(Schema.String),
  sentAt: Nullable(Timestamp),
  createdAt: Timestamp,
})
export type Notification = typeof Notification.Type

export const ApiKey = Schema.Struct({
  id: Id.ApiKeyId,
  appId: Id.AppId,
  envId: Id.EnvironmentId,
  userId: Id.UserId,
  name: Schema.String,
  keyHash: Schema.String,
  keyPrefix: Schema.String,
  scopes: Schema.Array(Schema.String),
  expiresAt: Nullable(Timestamp),
  lastUsedAt: Nullable(Timestamp),
  revokedAt: Nullable(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type ApiKey = typeof ApiKey.Type

export const FormConfig = Schema.Struct({
  id: Id.FormConfigId,
  appId: Id.AppId,
  formType: Schema.String,
  fields: Schema.Array(Schema.Unknown),
  active: Schema.Boolean,
  version: Schema.Number,
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type FormConfig = typeof FormConfig.Type

export const BrandingConfig = Schema.Struct({
  id: Id.BrandingId,
  appId: Id.AppId,
  orgId: Id.OrganizationId,
  logoUrl: Nullable(Schema.String),
  primaryColor: Nullable(Schema.String),
  backgroundColor: Nullable(Schema.String),
  accentColor: Nullable(Schema.String),
  fontFamily: Nullable(Schema.String),
  customCss: Nullable(Schema.String),
  companyName: Nullable(Schema.String),
  tagline: Nullable(Schema.String),
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type BrandingConfig = typeof BrandingConfig.Type

export const AppSessionConfig = Schema.Struct({
  id: Id.AppSessionConfigId,
  appId: Id.AppId,
  tokenTtlSeconds: Nullable(Schema.Number),
  refreshTokenTtlSeconds: Nullable(Schema.Number),
  maxActiveSessions: Nullable(Schema.Number),
  rotateRefreshToken: Nullable(Schema.Boolean),
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type AppSessionConfig = typeof AppSessionConfig.Type

export const Role = Schema.Struct({
  id: Id.RoleId,
  appId: Id.AppId,
  parentId: Nullable(Id.RoleId),
  name: Schema.String,
  slug: Schema.String,
  description: Nullable(Schema.String),
  builtIn: Schema.Boolean,
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type Role = typeof Role.Type

export const Permission = Schema.Struct({
  id: Id.PermissionId,
  appId: Id.AppId,
  roleId: Id.RoleId,
  resource: Schema.String,
  action: Schema.String,
  createdAt: Timestamp,
})
export type Permission = typeof Permission.Type

export const UserRole = Schema.Struct({
  appId: Id.AppId,
  userId: Id.UserId,
  roleId: Id.RoleId,
  orgId: Nullable(Id.OrganizationId),
  assignedAt: Timestamp,
})
export type UserRole = typeof UserRole.Type

export const AuditEvent = Schema.Struct({
  id: Id.AuditEventId,
  appId: Id.AppId,
  envId: Nullable(Id.EnvironmentId),
  userId: Nullable(Id.UserId),
  actorId: Nullable(Id.UserId),
  type: Schema.String,
  outcome: Schema.Literal("success", "failure"),
  reason: Nullable(Schema.String),
  ipAddress: Nullable(Schema.String),
  userAgent: Nullable(Schema.String),
  metadata: Metadata,
  createdAt: Timestamp,
})
export type AuditEvent = typeof AuditEvent.Type

/** A fixed-window counter shared by every instance (rate limits, failed sign-ins, lockouts). */
export const RateLimitCounter = Schema.Struct({
  key: Schema.String,
  count: Schema.Number,
  resetAt: Timestamp,
})
export type RateLimitCounter = typeof RateLimitCounter.Type
