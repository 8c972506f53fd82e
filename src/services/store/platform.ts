import { Context, type Effect, type Option } from "effect"
import type { Conflict, NotFound, SlugTaken } from "../../domain/errors.js"
import type * as Id from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import type { Page, PageRequest } from "./common.js"

export type WebhookPatch = Partial<Pick<M.Webhook, "url" | "events" | "active">>

export interface WebhookStoreShape {
  readonly create: (webhook: M.Webhook) => Effect.Effect<M.Webhook>
  readonly get: (id: Id.WebhookId) => Effect.Effect<M.Webhook, NotFound>
  /** The webhooks of `ids` that exist, in no particular order (one read for a claimed batch's webhooks). */
  readonly getMany: (ids: ReadonlyArray<Id.WebhookId>) => Effect.Effect<ReadonlyArray<M.Webhook>>
  readonly update: (id: Id.WebhookId, patch: WebhookPatch, now: Date) => Effect.Effect<M.Webhook, NotFound>
  readonly delete: (id: Id.WebhookId) => Effect.Effect<void, NotFound>
  /** Newest first. */
  readonly listByApp: (appId: Id.AppId) => Effect.Effect<ReadonlyArray<M.Webhook>>
  /**
   * Active webhooks of the app + environment whose `events` contain one of `eventTypes` or `*` (one read for the
   * several events of one change).
   */
  readonly listSubscribed: (
    appId: Id.AppId,
    envId: Id.EnvironmentId,
    eventTypes: ReadonlyArray<string>,
  ) => Effect.Effect<ReadonlyArray<M.Webhook>>
}
export class WebhookStore extends Context.Tag("authsome/WebhookStore")<WebhookStore, WebhookStoreShape>() {}

export interface DeliveryAttemptSuccess {
  readonly id: Id.WebhookDeliveryId
  readonly statusCode: number
  readonly durationMs: number
}

export interface DeliveryAttemptFailure {
  readonly statusCode: number | null
  /** `null` when no attempt was made (the target was refused before connecting). */
  readonly durationMs: number | null
  readonly error: string
  /** When to try again; `null` marks the delivery `failed` for good. */
  readonly nextAttemptAt: Date | null
}

/** How many rows of each webhook one claim may take, so a receiver with a backlog cannot take every slot. */
export interface DeliveryClaimLimits {
  /** Rows any one webhook may get. */
  readonly perWebhook: number
  /** Lower limits for some webhooks (rows still in flight, a failing receiver); 0 leaves a webhook out. */
  readonly webhooks: ReadonlyMap<Id.WebhookId, number>
}

/** The webhook outbox: rows are written in the transaction of the change, then delivered at least once. */
export interface WebhookDeliveryStoreShape {
  readonly enqueue: (deliveries: ReadonlyArray<M.WebhookDelivery>) => Effect.Effect<void>
  /**
   * Claims up to `limit` pending deliveries due at `now`, never more of one webhook than `limits` allow, each
   * webhook's first due row before any second one (earliest first within a rank), with `FOR UPDATE SKIP LOCKED` on
   * PostgreSQL so instances never claim the same row; pushes their `nextAttemptAt` to `leaseUntil` and counts the
   * attempt.
   */
  readonly claimDue: (
    now: Date,
    limit: number,
    leaseUntil: Date,
    limits: DeliveryClaimLimits,
  ) => Effect.Effect<ReadonlyArray<M.WebhookDelivery>>
  /** Marks the deliveries delivered (one statement for many: the dispatcher records its successes in batches). */
  readonly markDelivered: (successes: ReadonlyArray<DeliveryAttemptSuccess>, now: Date) => Effect.Effect<void>
  readonly markAttemptFailed: (
    id: Id.WebhookDeliveryId,
    failure: DeliveryAttemptFailure,
    now: Date,
  ) => Effect.Effect<void>
  readonly listByWebhook: (webhookId: Id.WebhookId, page: PageRequest) => Effect.Effect<Page<M.WebhookDelivery>>
  readonly get: (id: Id.WebhookDeliveryId) => Effect.Effect<M.WebhookDelivery, NotFound>
  /**
   * Makes a `failed` delivery `pending` again, due at `now`, with a fresh count of attempts (a new retry schedule);
   * `None` when it is not failed.
   */
  readonly requeue: (id: Id.WebhookDeliveryId, now: Date) => Effect.Effect<Option.Option<M.WebhookDelivery>>
}
export class WebhookDeliveryStore extends Context.Tag("authsome/WebhookDeliveryStore")<
  WebhookDeliveryStore,
  WebhookDeliveryStoreShape
>() {}

/** The mail outbox. */
export interface NotificationStoreShape {
  readonly enqueue: (notification: M.Notification) => Effect.Effect<M.Notification>
  readonly get: (id: Id.NotificationId) => Effect.Effect<M.Notification, NotFound>
  /** As `WebhookDeliveryStore.claimDue`, without limits per recipient. */
  readonly claimDue: (now: Date, limit: number, leaseUntil: Date) => Effect.Effect<ReadonlyArray<M.Notification>>
  /** Marks it sent and clears `subject`, `body` and `html` (they may hold codes and links). */
  readonly markSent: (id: Id.NotificationId, now: Date) => Effect.Effect<void>
  /** Records a failed attempt; `nextAttemptAt: null` marks it `failed` for good and clears its content. */
  readonly markAttemptFailed: (
    id: Id.NotificationId,
    error: string,
    nextAttemptAt: Date | null,
    now: Date,
  ) => Effect.Effect<void>
  /** Newest first. */
  readonly listByUser: (userId: Id.UserId) => Effect.Effect<ReadonlyArray<M.Notification>>
  /**
   * Removes an address from the app's outbox (account deletion): the notifications to `recipient` or of `userId`
   * that are still pending are deleted (never sent); the others keep their row, with the recipient replaced by
   * `placeholder` and the content cleared. Returns how many rows were deleted or changed.
   */
  readonly forgetRecipient: (
    appId: Id.AppId,
    recipient: string,
    userId: Id.UserId,
    placeholder: string,
  ) => Effect.Effect<number>
}
export class NotificationStore extends Context.Tag("authsome/NotificationStore")<
  NotificationStore,
  NotificationStoreShape
>() {}

export interface ApiKeyWithUser {
  readonly key: M.ApiKey
  readonly user: M.User
}

/** API keys, stored as SHA-256 hashes of the whole key. */
export interface ApiKeyStoreShape {
  readonly create: (key: M.ApiKey) => Effect.Effect<M.ApiKey>
  readonly get: (id: Id.ApiKeyId) => Effect.Effect<M.ApiKey, NotFound>
  readonly findByHash: (keyHash: string) => Effect.Effect<Option.Option<M.ApiKey>>
  /**
   * The key (revoked and expired ones included: the caller decides) with its user, when that user is not deleted.
   * One indexed read: the per-request path of API-key authentication.
   */
  readonly findWithUser: (keyHash: string) => Effect.Effect<Option.Option<ApiKeyWithUser>>
  /** Newest first, revoked ones included. */
  readonly listByUser: (appId: Id.AppId, userId: Id.UserId) => Effect.Effect<ReadonlyArray<M.ApiKey>>
  readonly revoke: (id: Id.ApiKeyId, now: Date) => Effect.Effect<void, NotFound>
  readonly touch: (id: Id.ApiKeyId, now: Date) => Effect.Effect<void>
  readonly delete: (id: Id.ApiKeyId) => Effect.Effect<void, NotFound>
}
export class ApiKeyStore extends Context.Tag("authsome/ApiKeyStore")<ApiKeyStore, ApiKeyStoreShape>() {}

export type RolePatch = Partial<Pick<M.Role, "name" | "slug" | "description" | "parentId">>

/** A permission check: does the user hold `resource:action` through the roles assigned to them? */
export interface PermissionQuery {
  readonly appId: Id.AppId
  readonly userId: Id.UserId
  /** `null`: app-wide assignments only; an organization: app-wide ones plus that organization's. */
  readonly orgId: Id.OrganizationId | null
  readonly resource: string
  readonly action: string
}

/** The permission that granted a check and the role holding it. */
export interface ResolvedPermission {
  readonly roleId: Id.RoleId
  readonly roleSlug: string
  readonly resource: string
  readonly action: string
  /** How far up the assigned role's parent chain the granting role is (0: the assigned role itself). */
  readonly depth: number
}

/**
 * Roles (slug unique per app; a role's parent is in the same app), their `resource:action` permissions (unique per
 * role) and assignments to users (unique per user, role and organization; a null organization is app-wide).
 * Deleting a role removes its permissions and assignments and detaches children.
 */
export interface RbacStoreShape {
  readonly createRole: (role: M.Role) => Effect.Effect<M.Role, SlugTaken>
  readonly getRole: (id: Id.RoleId) => Effect.Effect<M.Role, NotFound>
  readonly getRoleBySlug: (appId: Id.AppId, slug: string) => Effect.Effect<M.Role, NotFound>
  /**
   * A `parentId` that is the role itself or has the role in its own parent chain is a `Conflict` (a cycle), checked
   * atomically: of concurrent updates that would close a cycle together, at most one succeeds.
   */
  readonly updateRole: (
    id: Id.RoleId,
    patch: RolePatch,
    now: Date,
  ) => Effect.Effect<M.Role, NotFound | SlugTaken | Conflict>
  readonly deleteRole: (id: Id.RoleId) => Effect.Effect<void, NotFound>
  /** Oldest first. */
  readonly listRoles: (appId: Id.AppId) => Effect.Effect<ReadonlyArray<M.Role>>
  readonly addPermission: (permission: M.Permission) => Effect.Effect<M.Permission, Conflict>
  /** Several at once (one statement on PostgreSQL), in order: all of them, or none and Conflict. */
  readonly addPermissions: (
    permissions: ReadonlyArray<M.Permission>,
  ) => Effect.Effect<ReadonlyArray<M.Permission>, Conflict>
  readonly removePermission: (roleId: Id.RoleId, permissionId: Id.PermissionId) => Effect.Effect<void, NotFound>
  readonly listPermissions: (roleId: Id.RoleId) => Effect.Effect<ReadonlyArray<M.Permission>>
  /** Every permission of every role of the app, for evaluating hierarchies in one read. */
  readonly listAppPermissions: (appId: Id.AppId) => Effect.Effect<ReadonlyArray<M.Permission>>
  readonly assign: (userRole: M.UserRole) => Effect.Effect<M.UserRole, Conflict>
  readonly unassign: (
    userId: Id.UserId,
    roleId: Id.RoleId,
    orgId: Id.OrganizationId | null,
  ) => Effect.Effect<void, NotFound>
  /** The user's assignments: app-wide ones, plus those of `orgId` when given (all of them when omitted). */
  readonly listUserRoles: (userId: Id.UserId, orgId?: Id.OrganizationId) => Effect.Effect<ReadonlyArray<M.UserRole>>
  /** Removes every assignment of the user scoped to the organization; returns how many went. */
  readonly unassignInOrg: (userId: Id.UserId, orgId: Id.OrganizationId) => Effect.Effect<number>
  /**
   * The permission check, in one indexed query: over the assigned roles (of `query.appId`) and their parent chains,
   * the first permission covering `resource:action` (`*` in a stored permission matches anything) — the nearest role
   * first, then the most specific permission (exact, one wildcard, `*:*`), then the role's slug. `None` when no
   * role grants it. A cycle in the data ends the walk.
   */
  readonly resolvePermission: (query: PermissionQuery) => Effect.Effect<Option.Option<ResolvedPermission>>
}
export class RbacStore extends Context.Tag("authsome/RbacStore")<RbacStore, RbacStoreShape>() {}

export interface AuditQuery extends PageRequest {
  readonly userId?: Id.UserId | undefined
  readonly type?: string | undefined
  readonly since?: Date | undefined
  readonly until?: Date | undefined
}

export interface AuditStoreShape {
  readonly record: (event: M.AuditEvent) => Effect.Effect<void>
  /** Newest first, filtered by every given field (`since` inclusive, `until` exclusive). */
  readonly list: (appId: Id.AppId, query: AuditQuery) => Effect.Effect<Page<M.AuditEvent>>
}
export class AuditStore extends Context.Tag("authsome/AuditStore")<AuditStore, AuditStoreShape>() {}

/** Fixed-window counters shared by every instance: rate limits, failed sign-ins and lockouts. */
export interface RateLimitStoreShape {
  /**
   * Counts one hit on `key`. A counter whose window ended before `now` restarts at 1 with `resetAt = now + windowMs`.
   * Atomic: N concurrent hits on a fresh key yield counts 1..N.
   */
  readonly hit: (key: string, windowMs: number, now: Date) => Effect.Effect<M.RateLimitCounter>
  /** The live counter, if its window has not ended. */
  readonly peek: (key: string, now: Date) => Effect.Effect<Option.Option<M.RateLimitCounter>>
  /** Sets a counter to `count` until `resetAt` (used for locks). */
  readonly set: (key: string, count: number, resetAt: Date) => Effect.Effect<void>
  readonly reset: (key: string) => Effect.Effect<void>
  /** Deletes counters whose window ended before `now`. */
  readonly deleteExpired: (now: Date) => Effect.Effect<number>
}
export class RateLimitStore extends Context.Tag("authsome/RateLimitStore")<RateLimitStore, RateLimitStoreShape>() {}
