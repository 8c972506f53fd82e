/** Webhooks and their outbox, the mail outbox, API keys, RBAC, the audit log and rate-limit counters. */
import { Effect, Layer } from "effect"
import type * as M from "../../domain/models.js"
import {
  ApiKeyStore,
  AuditStore,
  NotificationStore,
  RateLimitStore,
  RbacStore,
  WebhookDeliveryStore,
  WebhookStore,
} from "../../services/store/platform.js"
import * as Sql from "./sql.js"

export const Webhooks = Sql.defineTable<M.Webhook>("authsome_webhooks", {
  id: "text",
  appId: "text",
  envId: "text",
  url: "text",
  events: "text[]",
  secret: "text",
  active: "boolean",
  createdAt: "timestamptz",
  updatedAt: "timestamptz",
})

export const WebhookDeliveries = Sql.defineTable<M.WebhookDelivery>("authsome_webhook_deliveries", {
  id: "text",
  appId: "text",
  webhookId: "text",
  eventId: "text",
  eventType: "text",
  payload: "jsonb",
  status: "text",
  attempts: "integer",
  nextAttemptAt: "timestamptz",
  lastStatusCode: "integer",
  lastError: "text",
  deliveredAt: "timestamptz",
  createdAt: "timestamptz",
  updatedAt: "timestamptz",
})

export const Notifications = Sql.defineTable<M.Notification>("authsome_notifications", {
  id: "text",
  appId: "text",
  envId: "text",
  userId: "text",
  type: "text",
  channel: "text",
  recipient: "text",
  subject: "text",
  body: "text",
  html: "text",
  status: "text",
  attempts: "integer",
  nextAttemptAt: "timestamptz",
  lastError: "text",
  sentAt: "timestamptz",
  createdAt: "timestamptz",
})

export const ApiKeys = Sql.defineTable<M.ApiKey>("authsome_api_keys", {
  id: "text",
  appId: "text",
  envId: "text",
  userId: "text",
  name: "text",
  keyHash: "text",
  keyPrefix: "text",
  scopes: "text[]",
  expiresAt: "timestamptz",
  lastUsedAt: "timestamptz",
  revokedAt: "timestamptz",
  createdAt: "timestamptz",
  updatedAt: "timestamptz",
})

export const Roles = Sql.defineTable<M.Role>("authsome_roles", {
  id: "text",
  appId: "text",
  parentId: "text",
  name: "text",
  slug: "text",
  description: "text",
  builtIn: "boolean",
  createdAt: "timestamptz",
  updatedAt: "timestamptz",
})

export const Permissions = Sql.defineTable<M.Permission>("authsome_permissions", {
  id: "text",
  appId: "text",
  roleId: "text",
  resource: "text",
  action: "text",
  createdAt: "timestamptz",
})

export const UserRoles = Sql.defineTable<M.UserRole>("authsome_user_roles", {
  appId: "text",
  userId: "text",
  roleId: "text",
  orgId: "text",
  assignedAt: "timestamptz",
})

export const AuditEvents = Sql.defineTable<M.AuditEvent>("authsome_audit_events", {
  id: "text",
  appId: "text",
  envId: "text",
  userId: "text",
  actorId: "text",
  type: "text",
  outcome: "text",
  reason: "text",
  ipAddress: "text",
  userAgent: "text",
  metadata: "jsonb",
  createdAt: "timestamptz",
})

export const RateLimitCounters = Sql.defineTable<M.RateLimitCounter>("authsome_rate_limits", {
  key: "text",
  count: "integer",
  resetAt: "timestamptz",
})

/**
 * Claims up to `limit` due rows of an outbox table. SKIP LOCKED lets instances claim disjoint batches; the lease
 * (`next_attempt_at` pushed to `leaseUntil`) makes a crashed worker's rows due again later.
 */
const claimDue = <A>(sql: Sql.Client, table: Sql.Table<A>, now: Date, limit: number, leaseUntil: Date) => {
  const name = sql.literal(table.name)
  return sql`UPDATE ${name} SET next_attempt_at = ${leaseUntil}, attempts = attempts + 1
             WHERE id IN (
               SELECT id FROM ${name} WHERE status = 'pending' AND next_attempt_at <= ${now}
               ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
             )
             RETURNING ${table.select}`.pipe(Sql.all(table))
}

/** A failed attempt either schedules the next one or, without one, fails the row for good. */
const nextAttemptOrFailed = (sql: Sql.Client, nextAttemptAt: Date | null) =>
  nextAttemptAt === null ? sql`status = 'failed'` : sql`next_attempt_at = ${nextAttemptAt}`

const makeWebhookStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return WebhookStore.of({
    create: (webhook) =>
      sql`${Sql.insertInto(sql, Webhooks, [webhook])} RETURNING ${Webhooks.select}`.pipe(Sql.returned(Webhooks)),
    get: (id) =>
      sql`SELECT ${Webhooks.select} FROM authsome_webhooks WHERE id = ${id}`.pipe(Sql.one(Webhooks, "webhook")),
    update: (id, patch, now) =>
      sql`UPDATE authsome_webhooks SET ${Sql.assignments(sql, Webhooks, { ...patch, updatedAt: now })}
          WHERE id = ${id} RETURNING ${Webhooks.select}`.pipe(Sql.one(Webhooks, "webhook")),
    delete: (id) => sql`DELETE FROM authsome_webhooks WHERE id = ${id} RETURNING 1`.pipe(Sql.found("webhook")),
    listByApp: (appId) =>
      sql`SELECT ${Webhooks.select} FROM authsome_webhooks WHERE app_id = ${appId} ORDER BY id DESC`.pipe(
        Sql.all(Webhooks),
      ),
    listSubscribed: (appId, envId, eventType) =>
      sql`SELECT ${Webhooks.select} FROM authsome_webhooks
          WHERE app_id = ${appId} AND env_id = ${envId} AND active
            AND (${eventType} = ANY(events) OR '*' = ANY(events))
          ORDER BY id`.pipe(Sql.all(Webhooks)),
  })
})

const makeWebhookDeliveryStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return WebhookDeliveryStore.of({
    enqueue: (deliveries) =>
      deliveries.length === 0 ? Effect.void : sql`${Sql.insertInto(sql, WebhookDeliveries, deliveries)}`.pipe(Sql.exec),
    claimDue: (now, limit, leaseUntil) => claimDue(sql, WebhookDeliveries, now, limit, leaseUntil),
    markDelivered: (id, statusCode, now) =>
      sql`UPDATE authsome_webhook_deliveries
          SET status = 'delivered', last_status_code = ${statusCode}, delivered_at = ${now}, updated_at = ${now}
          WHERE id = ${id}`.pipe(Sql.exec),
    markAttemptFailed: (id, failure, now) =>
      sql`UPDATE authsome_webhook_deliveries
          SET last_status_code = ${failure.statusCode}, last_error = ${failure.error}, updated_at = ${now},
              ${nextAttemptOrFailed(sql, failure.nextAttemptAt)}
          WHERE id = ${id}`.pipe(Sql.exec),
    listByWebhook: (webhookId, page) => Sql.listPage(sql, WebhookDeliveries, [sql`webhook_id = ${webhookId}`], page),
  })
})

const makeNotificationStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return NotificationStore.of({
    enqueue: (notification) =>
      sql`${Sql.insertInto(sql, Notifications, [notification])} RETURNING ${Notifications.select}`.pipe(
        Sql.returned(Notifications),
      ),
    get: (id) =>
      sql`SELECT ${Notifications.select} FROM authsome_notifications WHERE id = ${id}`.pipe(
        Sql.one(Notifications, "notification"),
      ),
    claimDue: (now, limit, leaseUntil) => claimDue(sql, Notifications, now, limit, leaseUntil),
    // The content may hold codes and links: it does not outlive the sending.
    markSent: (id, now) =>
      sql`UPDATE authsome_notifications
          SET status = 'sent', sent_at = ${now}, subject = NULL, body = NULL, html = NULL
          WHERE id = ${id}`.pipe(Sql.exec),
    // A mail given up on is never sent: its content goes too.
    markAttemptFailed: (id, error, nextAttemptAt) =>
      nextAttemptAt === null
        ? sql`UPDATE authsome_notifications
              SET last_error = ${error}, status = 'failed', subject = NULL, body = NULL, html = NULL
              WHERE id = ${id}`.pipe(Sql.exec)
        : sql`UPDATE authsome_notifications SET last_error = ${error}, ${nextAttemptOrFailed(sql, nextAttemptAt)}
              WHERE id = ${id}`.pipe(Sql.exec),
    listByUser: (userId) =>
      sql`SELECT ${Notifications.select} FROM authsome_notifications WHERE user_id = ${userId} ORDER BY id DESC`.pipe(
        Sql.all(Notifications),
      ),
    // One statement: the two parts see the same rows (pending or not), so each row is handled once.
    forgetRecipient: (appId, recipient, userId, placeholder) =>
      sql`WITH deleted AS (
            DELETE FROM authsome_notifications
            WHERE app_id = ${appId} AND (recipient = ${recipient} OR user_id = ${userId}) AND status = 'pending'
            RETURNING 1
          ), scrubbed AS (
            UPDATE authsome_notifications SET recipient = ${placeholder}, subject = NULL, body = NULL, html = NULL
            WHERE app_id = ${appId} AND (recipient = ${recipient} OR user_id = ${userId}) AND status <> 'pending'
            RETURNING 1
          ) SELECT (SELECT count(*) FROM deleted) + (SELECT count(*) FROM scrubbed) AS count`.pipe(Sql.count),
  })
})

const makeApiKeyStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return ApiKeyStore.of({
    create: (key) =>
      sql`${Sql.insertInto(sql, ApiKeys, [key])} RETURNING ${ApiKeys.select}`.pipe(Sql.returned(ApiKeys)),
    get: (id) =>
      sql`SELECT ${ApiKeys.select} FROM authsome_api_keys WHERE id = ${id}`.pipe(Sql.one(ApiKeys, "api_key")),
    findByHash: (keyHash) =>
      sql`SELECT ${ApiKeys.select} FROM authsome_api_keys WHERE key_hash = ${keyHash}`.pipe(Sql.maybe(ApiKeys)),
    listByUser: (appId, userId) =>
      sql`SELECT ${ApiKeys.select} FROM authsome_api_keys WHERE app_id = ${appId} AND user_id = ${userId}
          ORDER BY id DESC`.pipe(Sql.all(ApiKeys)),
    // Revoking twice keeps the first revocation time.
    revoke: (id, now) =>
      sql`UPDATE authsome_api_keys SET revoked_at = COALESCE(revoked_at, ${now}), updated_at = ${now}
          WHERE id = ${id} RETURNING 1`.pipe(Sql.found("api_key")),
    touch: (id, now) => sql`UPDATE authsome_api_keys SET last_used_at = ${now} WHERE id = ${id}`.pipe(Sql.exec),
    delete: (id) => sql`DELETE FROM authsome_api_keys WHERE id = ${id} RETURNING 1`.pipe(Sql.found("api_key")),
  })
})

const makeRbacStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  const findRole = (condition: Sql.Fragment) =>
    sql`SELECT ${Roles.select} FROM authsome_roles WHERE ${condition}`.pipe(Sql.one(Roles, "role"))

  return RbacStore.of({
    createRole: (role) =>
      sql`${Sql.insertInto(sql, Roles, [role])} RETURNING ${Roles.select}`.pipe(
        Sql.onUniqueViolation(Sql.slugTaken),
        Sql.returned(Roles),
      ),
    getRole: (id) => findRole(sql`id = ${id}`),
    getRoleBySlug: (appId, slug) => findRole(sql`app_id = ${appId} AND slug = ${slug}`),
    updateRole: (id, patch, now) =>
      sql`UPDATE authsome_roles SET ${Sql.assignments(sql, Roles, { ...patch, updatedAt: now })}
          WHERE id = ${id} RETURNING ${Roles.select}`.pipe(
        Sql.onUniqueViolation(Sql.slugTaken),
        Sql.one(Roles, "role"),
      ),
    // Permissions and assignments cascade; children are detached by ON DELETE SET NULL on parent_id.
    deleteRole: (id) => sql`DELETE FROM authsome_roles WHERE id = ${id} RETURNING 1`.pipe(Sql.found("role")),
    listRoles: (appId) =>
      sql`SELECT ${Roles.select} FROM authsome_roles WHERE app_id = ${appId} ORDER BY id`.pipe(Sql.all(Roles)),
    addPermission: (permission) =>
      sql`${Sql.insertInto(sql, Permissions, [permission])} RETURNING ${Permissions.select}`.pipe(
        Sql.onUniqueViolation(Sql.conflict),
        Sql.returned(Permissions),
      ),
    removePermission: (roleId, permissionId) =>
      sql`DELETE FROM authsome_permissions WHERE id = ${permissionId} AND role_id = ${roleId} RETURNING 1`.pipe(
        Sql.found("permission"),
      ),
    listPermissions: (roleId) =>
      sql`SELECT ${Permissions.select} FROM authsome_permissions WHERE role_id = ${roleId} ORDER BY id`.pipe(
        Sql.all(Permissions),
      ),
    listAppPermissions: (appId) =>
      sql`SELECT ${Permissions.select} FROM authsome_permissions WHERE app_id = ${appId} ORDER BY id`.pipe(
        Sql.all(Permissions),
      ),
    assign: (userRole) =>
      sql`${Sql.insertInto(sql, UserRoles, [userRole])} RETURNING ${UserRoles.select}`.pipe(
        Sql.onUniqueViolation(Sql.conflict),
        Sql.returned(UserRoles),
      ),
    unassign: (userId, roleId, orgId) =>
      sql`DELETE FROM authsome_user_roles
          WHERE user_id = ${userId} AND role_id = ${roleId}
            AND ${orgId === null ? sql`org_id IS NULL` : sql`org_id = ${orgId}`}
          RETURNING 1`.pipe(Sql.found("user_role")),
    listUserRoles: (userId, orgId) =>
      sql`SELECT ${UserRoles.select} FROM authsome_user_roles
          WHERE ${Sql.where(sql, [
            sql`user_id = ${userId}`,
            orgId === undefined ? undefined : sql`(org_id IS NULL OR org_id = ${orgId})`,
          ])}
          ORDER BY assigned_at, role_id`.pipe(Sql.all(UserRoles)),
  })
})

const makeAuditStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return AuditStore.of({
    record: (event) => sql`${Sql.insertInto(sql, AuditEvents, [event])}`.pipe(Sql.exec),
    list: (appId, query) =>
      Sql.listPage(
        sql,
        AuditEvents,
        [
          sql`app_id = ${appId}`,
          query.userId === undefined ? undefined : sql`user_id = ${query.userId}`,
          query.type === undefined ? undefined : sql`type = ${query.type}`,
          query.since === undefined ? undefined : sql`created_at >= ${query.since}`,
          query.until === undefined ? undefined : sql`created_at < ${query.until}`,
        ],
        query,
      ),
  })
})

const makeRateLimitStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return RateLimitStore.of({
    // One atomic upsert: concurrent hits serialise on the row, and an ended window restarts at 1.
    hit: (key, windowMs, now) =>
      sql`INSERT INTO authsome_rate_limits (key, count, reset_at)
          VALUES (${key}, 1, ${new Date(now.getTime() + windowMs)})
          ON CONFLICT (key) DO UPDATE SET
            count = CASE WHEN authsome_rate_limits.reset_at <= ${now} THEN 1
                         ELSE authsome_rate_limits.count + 1 END,
            reset_at = CASE WHEN authsome_rate_limits.reset_at <= ${now} THEN EXCLUDED.reset_at
                            ELSE authsome_rate_limits.reset_at END
          RETURNING ${RateLimitCounters.select}`.pipe(Sql.returned(RateLimitCounters)),
    peek: (key, now) =>
      sql`SELECT ${RateLimitCounters.select} FROM authsome_rate_limits
          WHERE key = ${key} AND reset_at > ${now}`.pipe(Sql.maybe(RateLimitCounters)),
    set: (key, count, resetAt) =>
      sql`${Sql.insertInto(sql, RateLimitCounters, [{ key, count, resetAt }])}
          ON CONFLICT (key) DO UPDATE SET ${Sql.fromExcluded<M.RateLimitCounter>("count", "resetAt")}`.pipe(Sql.exec),
    reset: (key) => sql`DELETE FROM authsome_rate_limits WHERE key = ${key}`.pipe(Sql.exec),
    deleteExpired: (now) =>
      sql`WITH deleted AS (
            DELETE FROM authsome_rate_limits WHERE reset_at < ${now} RETURNING 1
          ) SELECT count(*) AS count FROM deleted`.pipe(Sql.count),
  })
})

export const platformLayer = Layer.mergeAll(
  Layer.effect(WebhookStore, makeWebhookStore),
  Layer.effect(WebhookDeliveryStore, makeWebhookDeliveryStore),
  Layer.effect(NotificationStore, makeNotificationStore),
  Layer.effect(ApiKeyStore, makeApiKeyStore),
  Layer.effect(RbacStore, makeRbacStore),
  Layer.effect(AuditStore, makeAuditStore),
  Layer.effect(RateLimitStore, makeRateLimitStore),
)
