/** Webhooks and their outbox, the mail outbox, API keys, RBAC, the audit log and rate-limit counters. */
import { Effect, Layer, Option } from "effect"
import { Conflict } from "../../domain/errors.js"
import * as M from "../../domain/models.js"
import {
  ApiKeyStore,
  type ApiKeyWithUser,
  type DeliveryClaimLimits,
  AuditStore,
  NotificationStore,
  RateLimitStore,
  RbacStore,
  type RolePatch,
  WebhookDeliveryStore,
  WebhookStore,
} from "../../services/store/platform.js"
import { AuditEvents } from "./audit-events.js"
import { Users } from "./identity.js"
import { decodeGrant, grantingPermission } from "./permissions.js"
import * as Sql from "./sql.js"

export const Webhooks = Sql.tableOf("authsome_webhooks", M.Webhook)

export const WebhookDeliveries = Sql.tableOf("authsome_webhook_deliveries", M.WebhookDelivery)

export const Notifications = Sql.tableOf("authsome_notifications", M.Notification)

export const ApiKeys = Sql.tableOf("authsome_api_keys", M.ApiKey)

export const Roles = Sql.tableOf("authsome_roles", M.Role)

export const Permissions = Sql.tableOf("authsome_permissions", M.Permission)

export const UserRoles = Sql.tableOf("authsome_user_roles", M.UserRole)

export const RateLimitCounters = Sql.tableOf("authsome_rate_limits", M.RateLimitCounter)

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

/**
 * Claims due deliveries, at most `limits` allow of each webhook. The webhooks with pending rows are found by a skip
 * scan of the per-webhook due index (one descent per webhook, however long its backlog); each one's earliest due rows
 * are locked (SKIP LOCKED) up to its own limit; of those, `limit` are leased, taking each webhook's first row before
 * any second one (earliest first within a rank), so a long backlog never starves another webhook. Rows locked but not
 * taken are free again when the statement ends.
 */
const claimDueDeliveries = (
  sql: Sql.Client,
  now: Date,
  limit: number,
  leaseUntil: Date,
  limits: DeliveryClaimLimits,
) => {
  const lower = JSON.stringify(Array.from(limits.webhooks, ([id, allowed]) => ({ id, allowed })))
  return sql`WITH RECURSIVE pending(id) AS (
               (SELECT webhook_id FROM authsome_webhook_deliveries WHERE status = 'pending'
                ORDER BY webhook_id LIMIT 1)
               UNION ALL
               SELECT (SELECT webhook_id FROM authsome_webhook_deliveries
                       WHERE status = 'pending' AND webhook_id > p.id ORDER BY webhook_id LIMIT 1)
               FROM pending p WHERE p.id IS NOT NULL
             ), picked AS (
               SELECT c.id FROM pending p
               LEFT JOIN jsonb_to_recordset(${lower}::jsonb) AS l (id text, allowed integer) ON l.id = p.id
               CROSS JOIN LATERAL (
                 SELECT id, next_attempt_at, row_number() OVER (ORDER BY next_attempt_at, id) AS rank
                 FROM (
                   SELECT id, next_attempt_at FROM authsome_webhook_deliveries
                   WHERE webhook_id = p.id AND status = 'pending' AND next_attempt_at <= ${now}
                   ORDER BY next_attempt_at
                   LIMIT LEAST(COALESCE(l.allowed, ${limits.perWebhook}), ${limits.perWebhook}, ${limit})
                   FOR UPDATE SKIP LOCKED
                 ) locked
               ) c
               WHERE p.id IS NOT NULL
               ORDER BY c.rank, c.next_attempt_at LIMIT ${limit}
             )
             UPDATE authsome_webhook_deliveries AS d
             SET next_attempt_at = ${leaseUntil}, attempts = d.attempts + 1
             FROM picked WHERE d.id = picked.id
             RETURNING ${WebhookDeliveries.selectAs("d", "")}`.pipe(Sql.all(WebhookDeliveries))
}

/** A failed attempt either schedules the next one or, without one, fails the row for good. */
const nextAttemptOrFailed = (sql: Sql.Client, nextAttemptAt: Date | null) =>
  nextAttemptAt === null ? sql`status = 'failed'` : sql`next_attempt_at = ${nextAttemptAt}`

const makeWebhookStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  // Every change that records events (each sign-in among them) asks who subscribes: prepared once per connection.
  const subscribed = yield* Sql.preparedRead(
    "authsome_webhooks_subscribed",
    (appId: string, envId: string, eventTypes: string) =>
      sql`SELECT ${Webhooks.select} FROM authsome_webhooks
          WHERE app_id = ${appId} AND env_id = ${envId} AND active
            AND (events && ARRAY(SELECT jsonb_array_elements_text(${eventTypes}::jsonb)) OR '*' = ANY(events))
          ORDER BY id`,
    ["", "", ""],
  )
  return WebhookStore.of({
    create: (webhook) =>
      sql`${Sql.insertInto(sql, Webhooks, [webhook])} RETURNING ${Webhooks.select}`.pipe(Sql.returned(Webhooks)),
    get: (id) =>
      sql`SELECT ${Webhooks.select} FROM authsome_webhooks WHERE id = ${id}`.pipe(Sql.one(Webhooks, "webhook")),
    getMany: (ids) =>
      ids.length === 0
        ? Effect.succeed([])
        : sql`SELECT ${Webhooks.select} FROM authsome_webhooks
              WHERE id IN (${sql.csv(ids.map((id) => sql`${id}`))})`.pipe(Sql.all(Webhooks)),
    update: (id, patch, now) =>
      sql`UPDATE authsome_webhooks SET ${Sql.assignments(sql, Webhooks, { ...patch, updatedAt: now })}
          WHERE id = ${id} RETURNING ${Webhooks.select}`.pipe(Sql.one(Webhooks, "webhook")),
    delete: (id) => sql`DELETE FROM authsome_webhooks WHERE id = ${id} RETURNING 1`.pipe(Sql.found("webhook")),
    listByApp: (appId) =>
      sql`SELECT ${Webhooks.select} FROM authsome_webhooks WHERE app_id = ${appId} ORDER BY id DESC`.pipe(
        Sql.all(Webhooks),
      ),
    listSubscribed: (appId, envId, eventTypes) =>
      subscribed(appId, envId, JSON.stringify(eventTypes)).pipe(Sql.all(Webhooks)),
  })
})

const makeWebhookDeliveryStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  const onReplica = yield* Sql.replicaReads
  return WebhookDeliveryStore.of({
    enqueue: (deliveries) =>
      deliveries.length === 0 ? Effect.void : sql`${Sql.insertInto(sql, WebhookDeliveries, deliveries)}`.pipe(Sql.exec),
    claimDue: (now, limit, leaseUntil, limits) => claimDueDeliveries(sql, now, limit, leaseUntil, limits),
    markDelivered: (successes, now) =>
      successes.length === 0
        ? Effect.void
        : sql`UPDATE authsome_webhook_deliveries AS d
              SET status = 'delivered', last_status_code = o.code, last_duration_ms = o.ms,
                  delivered_at = ${now}, updated_at = ${now}
              FROM (VALUES ${sql.csv(
                successes.map((s) => sql`(${s.id}, ${s.statusCode}::integer, ${Math.round(s.durationMs)}::integer)`),
              )}) AS o (id, code, ms)
              WHERE d.id = o.id`.pipe(Sql.exec),
    markAttemptFailed: (id, failure, now) =>
      sql`UPDATE authsome_webhook_deliveries
          SET last_status_code = ${failure.statusCode}, last_duration_ms = ${failure.durationMs},
              last_error = ${failure.error}, updated_at = ${now},
              ${nextAttemptOrFailed(sql, failure.nextAttemptAt)}
          WHERE id = ${id}`.pipe(Sql.exec),
    listByWebhook: (webhookId, page) =>
      onReplica((sql) => Sql.listPage(sql, WebhookDeliveries, [sql`webhook_id = ${webhookId}`], page)),
    get: (id) =>
      sql`SELECT ${WebhookDeliveries.select} FROM authsome_webhook_deliveries WHERE id = ${id}`.pipe(
        Sql.one(WebhookDeliveries, "webhook_delivery"),
      ),
    requeue: (id, now) =>
      sql`UPDATE authsome_webhook_deliveries
          SET status = 'pending', attempts = 0, next_attempt_at = ${now}, updated_at = ${now}
          WHERE id = ${id} AND status = 'failed'
          RETURNING ${WebhookDeliveries.select}`.pipe(Sql.maybe(WebhookDeliveries)),
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
  // Behind a transaction pooler (unnamed statements) the lookup runs in its PL/pgSQL function (migration 15).
  const pooled = yield* Sql.behindTransactionPooler
  const keyWithUser = yield* Sql.preparedRead(
    "authsome_api_key_with_user",
    (keyHash: string) =>
      pooled
        ? sql`SELECT k, u FROM authsome_api_key_by_hash(${keyHash})`
        : sql`SELECT to_jsonb(k) AS k, to_jsonb(u) AS u
              FROM authsome_api_keys k JOIN authsome_users u ON u.id = k.user_id
              WHERE k.key_hash = ${keyHash} AND u.deleted_at IS NULL`,
    [""],
  )
  return ApiKeyStore.of({
    create: (key) =>
      sql`${Sql.insertInto(sql, ApiKeys, [key])} RETURNING ${ApiKeys.select}`.pipe(Sql.returned(ApiKeys)),
    get: (id) =>
      sql`SELECT ${ApiKeys.select} FROM authsome_api_keys WHERE id = ${id}`.pipe(Sql.one(ApiKeys, "api_key")),
    findByHash: (keyHash) =>
      sql`SELECT ${ApiKeys.select} FROM authsome_api_keys WHERE key_hash = ${keyHash}`.pipe(Sql.maybe(ApiKeys)),
    findWithUser: (keyHash) =>
      keyWithUser(keyHash).pipe(
        Effect.map((rows) =>
          Option.map(
            Option.fromNullable(rows[0]),
            (row): ApiKeyWithUser => ({
              key: ApiKeys.decodeJson(row["k"] as Sql.Row),
              user: Users.decodeJson(row["u"] as Sql.Row),
            }),
          ),
        ),
        Sql.dieOnSqlError,
      ),
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

/** The advisory-lock class under which changes to one app's role hierarchy serialise (with `hashtext(app_id)`). */
const roleHierarchyLock = 0x61726f6c

const makeRbacStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  const findRole = (condition: Sql.Fragment) =>
    sql`SELECT ${Roles.select} FROM authsome_roles WHERE ${condition}`.pipe(Sql.one(Roles, "role"))

  const patchRole = (id: M.Role["id"], patch: RolePatch, now: Date) =>
    sql`UPDATE authsome_roles SET ${Sql.assignments(sql, Roles, { ...patch, updatedAt: now })}
        WHERE id = ${id} RETURNING ${Roles.select}`.pipe(Sql.onUniqueViolation(Sql.slugTaken), Sql.one(Roles, "role"))

  // The walk up from the new parent runs under the app's hierarchy lock, so a concurrent change cannot close a
  // cycle this check did not see. UNION (not UNION ALL) ends the walk on a cycle already in the data.
  const reparent = (id: M.Role["id"], parentId: M.Role["id"], patch: RolePatch, now: Date) =>
    Sql.transaction(sql)(
      Effect.gen(function* () {
        yield* sql`SELECT pg_advisory_xact_lock(${roleHierarchyLock}, hashtext(app_id))
                   FROM authsome_roles WHERE id = ${id}`.pipe(Sql.exec)
        const cycle = yield* sql`WITH RECURSIVE ancestors(id, parent_id) AS (
              SELECT id, parent_id FROM authsome_roles WHERE id = ${parentId}
              UNION
              SELECT r.id, r.parent_id FROM authsome_roles r JOIN ancestors a ON r.id = a.parent_id
            ) SELECT 1 FROM ancestors WHERE id = ${id} LIMIT 1`.pipe(Sql.changed)
        if (cycle) return yield* new Conflict({ message: "the parent role would make the hierarchy a cycle" })
        return yield* patchRole(id, patch, now)
      }),
    )

  // Behind a transaction pooler (unnamed statements) the walk runs in its PL/pgSQL function (migration 15).
  const pooled = yield* Sql.behindTransactionPooler
  const resolve = yield* Sql.preparedRead(
    "authsome_resolve_permission",
    // The pool binds the arguments by position: they must appear in the SQL in this order.
    (userId: string, appId: string, orgId: string | null, resource: string, action: string) =>
      pooled
        ? sql`SELECT role_id, role_slug, resource, action, depth
              FROM authsome_resolve_permission(${userId}, ${appId}, ${orgId}, ${resource}, ${action})`
        : grantingPermission(sql, userId, appId, orgId, resource, action),
    ["", "", "", "", ""],
  )

  return RbacStore.of({
    createRole: (role) =>
      sql`${Sql.insertInto(sql, Roles, [role])} RETURNING ${Roles.select}`.pipe(
        Sql.onUniqueViolation(Sql.slugTaken),
        Sql.returned(Roles),
      ),
    getRole: (id) => findRole(sql`id = ${id}`),
    getRoleBySlug: (appId, slug) => findRole(sql`app_id = ${appId} AND slug = ${slug}`),
    updateRole: (id, patch, now) =>
      patch.parentId === undefined || patch.parentId === null
        ? patchRole(id, patch, now)
        : reparent(id, patch.parentId, patch, now),
    // Permissions and assignments cascade; children are detached by ON DELETE SET NULL on parent_id.
    deleteRole: (id) => sql`DELETE FROM authsome_roles WHERE id = ${id} RETURNING 1`.pipe(Sql.found("role")),
    listRoles: (appId) =>
      sql`SELECT ${Roles.select} FROM authsome_roles WHERE app_id = ${appId} ORDER BY id`.pipe(Sql.all(Roles)),
    addPermission: (permission) =>
      sql`${Sql.insertInto(sql, Permissions, [permission])} RETURNING ${Permissions.select}`.pipe(
        Sql.onUniqueViolation(Sql.conflict),
        Sql.returned(Permissions),
      ),
    addPermissions: (permissions) =>
      permissions.length === 0
        ? Effect.succeed([])
        : sql`${Sql.insertInto(sql, Permissions, permissions)} RETURNING ${Permissions.select}`.pipe(
            Sql.onUniqueViolation(Sql.conflict),
            Sql.all(Permissions),
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
    unassignInOrg: (userId, orgId) =>
      sql`WITH deleted AS (
            DELETE FROM authsome_user_roles WHERE user_id = ${userId} AND org_id = ${orgId} RETURNING 1
          ) SELECT count(*) AS count FROM deleted`.pipe(Sql.count),
    resolvePermission: (query) =>
      resolve(query.userId, query.appId, query.orgId, query.resource, query.action).pipe(
        Effect.map((rows) => Option.fromNullable(rows[0] === undefined ? undefined : decodeGrant(rows[0]))),
        Sql.dieOnSqlError,
      ),
  })
})

const makeAuditStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  const onReplica = yield* Sql.replicaReads
  return AuditStore.of({
    record: (event) => sql`${Sql.insertInto(sql, AuditEvents, [event])}`.pipe(Sql.exec),
    // Audit queries and the data export tolerate lag: on the read replica when there is one.
    list: (appId, query) =>
      onReplica((sql) =>
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
