/**
 * Row factories and clock helpers for the store conformance suite.
 *
 * Every factory returns a complete, valid row with fresh ids, unique slugs/hashes and timestamps, so a test states
 * only what it is about: `makeUser(tenant, { email: "a@x.io" })`. Stores never read the clock, so times are explicit
 * millisecond Dates (PostgreSQL keeps microseconds; compare with `getTime()`).
 */
import { randomBytes } from "node:crypto"
import { newId, type AppId, type OrganizationId } from "../domain/ids.js"
import type * as M from "../domain/models.js"

// --- time --------------------------------------------------------------------------------------------------------

/** The suite's "present": rows are created at or just after it, expiries are hours around it. */
export const T0 = Date.parse("2030-01-01T00:00:00.000Z")
export const SECOND = 1_000
export const MINUTE = 60 * SECOND
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR

/** The instant `offsetMs` after `T0`. */
export const at = (offsetMs: number): Date => new Date(T0 + offsetMs)

let stamps = 0
/**
 * A creation time later than every one handed out before, so rows created later are newer both by id (ids are
 * UUIDv7) and by `createdAt`: "newest first" means the same whichever an implementation sorts by.
 */
export const nextStamp = (): Date => at(++stamps)

let sweepYear = 2000
/**
 * Sweeps (`deleteExpired`, `claimDue`) act on every tenant. Each sweep test places its rows in a past year of its own,
 * before every row of the other tests. Call this while registering the test (not inside it): tests run in
 * registration order and each later one gets an earlier year, so no sweep ever sees rows a previous test left behind.
 */
export const sweepEpoch = (): ((offsetMs: number) => Date) => {
  const start = Date.UTC(sweepYear--, 0, 1)
  return (offsetMs) => new Date(start + offsetMs)
}

// --- unique values -----------------------------------------------------------------------------------------------

let serial = 0
/** A label unique within the process (slugs, emails, keys). */
export const unique = (prefix: string): string => `${prefix}-${++serial}-${randomBytes(3).toString("hex")}`
/** A stand-in for a SHA-256 token hash. */
export const hash = (): string => randomBytes(32).toString("hex")

// --- tenancy -----------------------------------------------------------------------------------------------------

export interface Tenant {
  readonly app: M.App
  readonly env: M.Environment
}

export const makeApp = (overrides: Partial<M.App> = {}): M.App => {
  const createdAt = nextStamp()
  return {
    id: newId.app(),
    name: "Test app",
    slug: unique("app"),
    logo: null,
    publishableKey: `pk_test_${hash()}`,
    isPlatform: false,
    metadata: null,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  }
}

export const makeEnv = (appId: AppId, overrides: Partial<M.Environment> = {}): M.Environment => {
  const createdAt = nextStamp()
  return {
    id: newId.environment(),
    appId,
    name: "Development",
    slug: unique("env"),
    type: "development",
    isDefault: false,
    color: null,
    description: null,
    settings: null,
    clonedFrom: null,
    metadata: null,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  }
}

export const makeSessionConfig = (appId: AppId, overrides: Partial<M.AppSessionConfig> = {}): M.AppSessionConfig => {
  const createdAt = nextStamp()
  return {
    id: newId.appSessionConfig(),
    appId,
    tokenTtlSeconds: 3600,
    refreshTokenTtlSeconds: 30 * 86_400,
    maxActiveSessions: null,
    rotateRefreshToken: true,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  }
}

export const makeBranding = (org: M.Organization, overrides: Partial<M.BrandingConfig> = {}): M.BrandingConfig => {
  const createdAt = nextStamp()
  return {
    id: newId.branding(),
    appId: org.appId,
    orgId: org.id,
    logoUrl: null,
    primaryColor: "#112233",
    backgroundColor: null,
    accentColor: null,
    fontFamily: null,
    customCss: null,
    companyName: "Acme",
    tagline: null,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  }
}

// --- identity ----------------------------------------------------------------------------------------------------

export const makeUser = (tenant: Tenant, overrides: Partial<M.User> = {}): M.User => {
  const createdAt = nextStamp()
  return {
    id: newId.user(),
    appId: tenant.app.id,
    envId: tenant.env.id,
    email: `${unique("user")}@example.com`,
    emailVerified: false,
    firstName: "Ada",
    lastName: "Lovelace",
    image: "https://img.example.com/ada.png",
    username: null,
    phone: "+15550100",
    banned: false,
    banReason: null,
    banExpires: null,
    metadata: { plan: "pro" },
    createdAt,
    updatedAt: createdAt,
    deletedAt: null,
    ...overrides,
  }
}

export const makeSession = (user: M.User, overrides: Partial<M.Session> = {}): M.Session => {
  const createdAt = nextStamp()
  return {
    id: newId.session(),
    appId: user.appId,
    envId: user.envId,
    userId: user.id,
    orgId: null,
    familyId: newId.sessionFamily(),
    tokenHash: hash(),
    refreshTokenHash: hash(),
    ipAddress: "203.0.113.7",
    userAgent: "vitest",
    deviceId: null,
    impersonatedBy: null,
    expiresAt: at(HOUR),
    refreshTokenExpiresAt: at(30 * DAY),
    lastActivityAt: createdAt,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  }
}

export const makeVerification = (
  tenant: Tenant,
  email: string,
  overrides: Partial<M.Verification> = {},
): M.Verification => ({
  id: newId.verification(),
  appId: tenant.app.id,
  envId: tenant.env.id,
  userId: null,
  email,
  kind: "email",
  codeHash: hash(),
  tokenHash: hash(),
  attempts: 0,
  expiresAt: at(DAY),
  consumedAt: null,
  createdAt: nextStamp(),
  signup: null,
  ...overrides,
})

export const makePasswordReset = (user: M.User, overrides: Partial<M.PasswordReset> = {}): M.PasswordReset => ({
  id: newId.passwordReset(),
  appId: user.appId,
  envId: user.envId,
  userId: user.id,
  tokenHash: hash(),
  expiresAt: at(DAY),
  consumedAt: null,
  createdAt: nextStamp(),
  ...overrides,
})

export const makeDevice = (user: M.User, overrides: Partial<M.Device> = {}): M.Device => {
  const createdAt = nextStamp()
  return {
    id: newId.device(),
    appId: user.appId,
    envId: user.envId,
    userId: user.id,
    name: "Laptop",
    type: "desktop",
    browser: "Firefox",
    os: "Linux",
    ipAddress: "203.0.113.7",
    fingerprint: hash(),
    trusted: false,
    lastSeenAt: createdAt,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  }
}

// --- organizations -----------------------------------------------------------------------------------------------

export const makeOrg = (creator: M.User, overrides: Partial<M.Organization> = {}): M.Organization => {
  const createdAt = nextStamp()
  return {
    id: newId.organization(),
    appId: creator.appId,
    envId: creator.envId,
    name: "Acme",
    slug: unique("org"),
    logo: null,
    metadata: null,
    createdBy: creator.id,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  }
}

export const makeMember = (
  org: M.Organization,
  user: M.User,
  role: M.OrgRole = "member",
  overrides: Partial<M.Member> = {},
): M.Member => {
  const createdAt = nextStamp()
  return {
    id: newId.member(),
    appId: org.appId,
    orgId: org.id,
    userId: user.id,
    role,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  }
}

export const makeInvitation = (
  org: M.Organization,
  inviter: M.User,
  overrides: Partial<M.Invitation> = {},
): M.Invitation => {
  const createdAt = nextStamp()
  return {
    id: newId.invitation(),
    appId: org.appId,
    orgId: org.id,
    email: `${unique("invitee")}@example.com`,
    role: "member",
    inviterId: inviter.id,
    status: "pending",
    tokenHash: hash(),
    expiresAt: at(7 * DAY),
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  }
}

export const makeTeam = (org: M.Organization, overrides: Partial<M.Team> = {}): M.Team => {
  const createdAt = nextStamp()
  return {
    id: newId.team(),
    appId: org.appId,
    orgId: org.id,
    name: "Core",
    slug: unique("team"),
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  }
}

export const makeTeamMember = (team: M.Team, user: M.User): M.TeamMember => ({
  teamId: team.id,
  userId: user.id,
  appId: team.appId,
  createdAt: nextStamp(),
})

// --- platform ----------------------------------------------------------------------------------------------------

export const makeWebhook = (tenant: Tenant, overrides: Partial<M.Webhook> = {}): M.Webhook => {
  const createdAt = nextStamp()
  return {
    id: newId.webhook(),
    appId: tenant.app.id,
    envId: tenant.env.id,
    url: "https://hooks.example.com/authsome",
    events: ["user.created"],
    secret: `whsec_${hash()}`,
    active: true,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  }
}

export const makeDelivery = (webhook: M.Webhook, overrides: Partial<M.WebhookDelivery> = {}): M.WebhookDelivery => {
  const createdAt = nextStamp()
  return {
    id: newId.webhookDelivery(),
    appId: webhook.appId,
    webhookId: webhook.id,
    eventId: unique("evt"),
    eventType: "user.created",
    payload: { user: { id: "ausr_x" } },
    status: "pending",
    attempts: 0,
    nextAttemptAt: createdAt,
    lastStatusCode: null,
    lastDurationMs: null,
    lastError: null,
    deliveredAt: null,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  }
}

export const makeNotification = (tenant: Tenant, overrides: Partial<M.Notification> = {}): M.Notification => {
  const createdAt = nextStamp()
  return {
    id: newId.notification(),
    appId: tenant.app.id,
    envId: tenant.env.id,
    userId: null,
    type: "verification",
    channel: "email",
    recipient: `${unique("rcpt")}@example.com`,
    subject: "Your code",
    body: "Code: 123456",
    html: "<p>Code: 123456</p>",
    status: "pending",
    attempts: 0,
    nextAttemptAt: createdAt,
    lastError: null,
    sentAt: null,
    createdAt,
    ...overrides,
  }
}

export const makeApiKey = (user: M.User, overrides: Partial<M.ApiKey> = {}): M.ApiKey => {
  const createdAt = nextStamp()
  return {
    id: newId.apiKey(),
    appId: user.appId,
    envId: user.envId,
    userId: user.id,
    name: "CI key",
    keyHash: hash(),
    keyPrefix: "sk_test_abcd",
    scopes: ["users:read"],
    expiresAt: null,
    lastUsedAt: null,
    revokedAt: null,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  }
}

export const makeRole = (appId: AppId, overrides: Partial<M.Role> = {}): M.Role => {
  const createdAt = nextStamp()
  return {
    id: newId.role(),
    appId,
    parentId: null,
    name: "Editor",
    slug: unique("role"),
    description: null,
    builtIn: false,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  }
}

export const makePermission = (role: M.Role, resource: string, action: string): M.Permission => ({
  id: newId.permission(),
  appId: role.appId,
  roleId: role.id,
  resource,
  action,
  createdAt: nextStamp(),
})

export const makeUserRole = (user: M.User, role: M.Role, orgId: OrganizationId | null = null): M.UserRole => ({
  appId: user.appId,
  userId: user.id,
  roleId: role.id,
  orgId,
  assignedAt: nextStamp(),
})

export const makeAuditEvent = (tenant: Tenant, overrides: Partial<M.AuditEvent> = {}): M.AuditEvent => ({
  id: newId.auditEvent(),
  appId: tenant.app.id,
  envId: tenant.env.id,
  userId: null,
  actorId: null,
  type: "user.signin",
  outcome: "success",
  reason: null,
  ipAddress: "203.0.113.7",
  userAgent: "vitest",
  metadata: null,
  createdAt: nextStamp(),
  ...overrides,
})
