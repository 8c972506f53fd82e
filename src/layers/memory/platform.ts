/** Memory implementations of the platform stores: webhooks and their outbox, mail, API keys, RBAC, audit, limits. */
import { Effect, Option } from "effect"
import { Conflict, NotFound } from "../../domain/errors.js"
import type * as M from "../../domain/models.js"
import type {
  ApiKeyStoreShape,
  DeliveryClaimLimits,
  AuditStoreShape,
  NotificationStoreShape,
  RateLimitStoreShape,
  RbacStoreShape,
  RolePatch,
  WebhookDeliveryStoreShape,
  WebhookPatch,
  WebhookStoreShape,
} from "../../services/store/platform.js"
import type { Database, RowOf } from "./database.js"
import type { Engine } from "./engine.js"
import { isLive } from "./identity.js"
import { resolvePermissionIn } from "./permissions.js"
import { byTime, newestFirst, oldestFirst, paged, patchOf, sorted } from "./query.js"

const webhookPatch = patchOf<WebhookPatch>({ url: true, events: true, active: true })
const rolePatch = patchOf<RolePatch>({ name: true, slug: true, description: true, parentId: true })

export const makeWebhookStore = ({ run }: Engine): WebhookStoreShape => ({
  create: (webhook) => run((db) => db.insert("webhooks", webhook)),
  get: (id) => run((db) => db.get("webhooks", id), "NotFound"),
  getMany: (ids) =>
    run((db) =>
      ids.flatMap((id) => {
        const webhook = db.find("webhooks", id)
        return webhook === undefined ? [] : [webhook]
      }),
    ),
  update: (id, patch, now) =>
    run((db) => db.update("webhooks", db.get("webhooks", id), { ...webhookPatch(patch), updatedAt: now }), "NotFound"),
  delete: (id) => run((db) => db.delete("webhooks", db.get("webhooks", id)), "NotFound"),
  listByApp: (appId) =>
    run((db) =>
      sorted(
        db.select("webhooks", (webhook) => webhook.appId === appId),
        newestFirst,
      ),
    ),
  listSubscribed: (appId, envId, eventTypes) =>
    run((db) =>
      sorted(
        db.select(
          "webhooks",
          (webhook) =>
            webhook.appId === appId &&
            webhook.envId === envId &&
            webhook.active &&
            (webhook.events.includes("*") || eventTypes.some((type) => webhook.events.includes(type))),
        ),
        oldestFirst,
      ),
    ),
})

type Outbox = "webhookDeliveries" | "notifications"

/**
 * Takes up to `limit` pending rows due at `now` (earliest first), pushes each one's `nextAttemptAt` to `leaseUntil`
 * and counts the attempt. Serialised like every operation, so two claimers never get the same row.
 */
const claimDue = <K extends Outbox>(
  db: Database,
  table: K,
  now: Date,
  limit: number,
  leaseUntil: Date,
  claimable: (rows: Array<RowOf<K>>) => Array<RowOf<K>> = (rows) => rows,
): Array<RowOf<K>> => {
  const due = db.select(table, (row) => row.status === "pending" && row.nextAttemptAt.getTime() <= now.getTime())
  return claimable(
    sorted(
      due,
      byTime(
        (row) => row.nextAttemptAt,
        (row) => row.id,
      ),
    ),
  )
    .slice(0, limit)
    .map((row) =>
      // Both outbox row types have these columns; TypeScript cannot see that through the generic table.
      db.update(table, row, { nextAttemptAt: leaseUntil, attempts: row.attempts + 1 } as Partial<RowOf<K>>),
    )
}

/** A retry at `nextAttemptAt`, or (with `null`) the end: the row is `failed` for good. */
const retryOrGiveUp = (nextAttemptAt: Date | null) =>
  nextAttemptAt === null ? { status: "failed" as const } : { nextAttemptAt }

/**
 * The earliest rows of each webhook, as many as `limits` allow it, each webhook's first row before any second one
 * (in the given order within a rank), as the PostgreSQL claim takes them.
 */
const withinLimits =
  (limits: DeliveryClaimLimits) =>
  (due: Array<M.WebhookDelivery>): Array<M.WebhookDelivery> => {
    const taken = new Map<string, number>()
    const ranked: Array<{ row: M.WebhookDelivery; rank: number; order: number }> = []
    due.forEach((row, order) => {
      const rank = (taken.get(row.webhookId) ?? 0) + 1
      if (rank > Math.min(limits.perWebhook, limits.webhooks.get(row.webhookId) ?? limits.perWebhook)) return
      taken.set(row.webhookId, rank)
      ranked.push({ row, rank, order })
    })
    return ranked.sort((a, b) => a.rank - b.rank || a.order - b.order).map(({ row }) => row)
  }

export const makeWebhookDeliveryStore = ({ run }: Engine): WebhookDeliveryStoreShape => ({
  enqueue: (deliveries) =>
    run((db) => {
      for (const delivery of deliveries) db.insert("webhookDeliveries", delivery)
    }),
  claimDue: (now, limit, leaseUntil, limits) =>
    run((db) => claimDue(db, "webhookDeliveries", now, limit, leaseUntil, withinLimits(limits))),
  markDelivered: (successes, now) =>
    run((db) => {
      for (const success of successes) {
        const delivery = db.find("webhookDeliveries", success.id)
        if (delivery === undefined) continue
        db.update("webhookDeliveries", delivery, {
          status: "delivered",
          lastStatusCode: success.statusCode,
          lastDurationMs: success.durationMs,
          deliveredAt: now,
          updatedAt: now,
        })
      }
    }),
  markAttemptFailed: (id, failure, now) =>
    run((db) => {
      const delivery = db.find("webhookDeliveries", id)
      if (delivery === undefined) return
      db.update("webhookDeliveries", delivery, {
        ...retryOrGiveUp(failure.nextAttemptAt),
        lastStatusCode: failure.statusCode,
        lastDurationMs: failure.durationMs,
        lastError: failure.error,
        updatedAt: now,
      })
    }),
  listByWebhook: (webhookId, page) =>
    run((db) =>
      paged(
        db.select("webhookDeliveries", (delivery) => delivery.webhookId === webhookId),
        page,
      ),
    ),
  get: (id) => run((db) => db.get("webhookDeliveries", id), "NotFound"),
  requeue: (id, now) =>
    Effect.map(
      run((db) => {
        const delivery = db.find("webhookDeliveries", id)
        if (delivery === undefined || delivery.status !== "failed") return undefined
        const changes = { status: "pending" as const, attempts: 0, nextAttemptAt: now, updatedAt: now }
        return db.update("webhookDeliveries", delivery, changes)
      }),
      Option.fromNullable,
    ),
})

export const makeNotificationStore = ({ run }: Engine): NotificationStoreShape => ({
  enqueue: (notification) => run((db) => db.insert("notifications", notification)),
  get: (id) => run((db) => db.get("notifications", id), "NotFound"),
  claimDue: (now, limit, leaseUntil) => run((db) => claimDue(db, "notifications", now, limit, leaseUntil)),
  markSent: (id, now) =>
    run((db) => {
      const notification = db.find("notifications", id)
      if (notification === undefined) return
      db.update("notifications", notification, { status: "sent", sentAt: now, subject: null, body: null, html: null })
    }),
  // Notifications have no `updated_at` column, so the time of the attempt is not recorded.
  markAttemptFailed: (id, error, nextAttemptAt) =>
    run((db) => {
      const notification = db.find("notifications", id)
      if (notification === undefined) return
      // A mail given up on is never sent: its content goes too.
      const content = nextAttemptAt === null ? { subject: null, body: null, html: null } : {}
      db.update("notifications", notification, { ...retryOrGiveUp(nextAttemptAt), ...content, lastError: error })
    }),
  listByUser: (userId) =>
    run((db) =>
      sorted(
        db.select("notifications", (notification) => notification.userId === userId),
        newestFirst,
      ),
    ),
  forgetRecipient: (appId, recipient, userId, placeholder) =>
    run((db) => {
      const concerned = db.select(
        "notifications",
        (n) => n.appId === appId && (n.recipient === recipient || n.userId === userId),
      )
      for (const notification of concerned) {
        if (notification.status === "pending") db.delete("notifications", notification)
        else db.update("notifications", notification, { recipient: placeholder, subject: null, body: null, html: null })
      }
      return concerned.length
    }),
})

export const makeApiKeyStore = ({ run, find }: Engine): ApiKeyStoreShape => ({
  create: (key) => run((db) => db.insert("apiKeys", key)),
  get: (id) => run((db) => db.get("apiKeys", id), "NotFound"),
  findByHash: (keyHash) => find((db) => db.findBy("apiKeys", "keyHash", keyHash)),
  findWithUser: (keyHash) =>
    find((db) => {
      const key = db.findBy("apiKeys", "keyHash", keyHash)
      const user = key === undefined ? undefined : db.find("users", key.userId)
      return key !== undefined && isLive(user) ? { key, user } : undefined
    }),
  listByUser: (appId, userId) =>
    run((db) =>
      sorted(
        db.select("apiKeys", (key) => key.appId === appId && key.userId === userId),
        newestFirst,
      ),
    ),
  revoke: (id, now) =>
    run((db) => {
      const key = db.get("apiKeys", id)
      // Revoking twice keeps the first revocation time.
      db.update("apiKeys", key, { revokedAt: key.revokedAt ?? now, updatedAt: now })
    }, "NotFound"),
  touch: (id, now) =>
    run((db) => {
      const key = db.find("apiKeys", id)
      if (key !== undefined) db.update("apiKeys", key, { lastUsedAt: now })
    }),
  delete: (id) => run((db) => db.delete("apiKeys", db.get("apiKeys", id)), "NotFound"),
})

const assignmentOrder = byTime<M.UserRole>(
  (assignment) => assignment.assignedAt,
  (assignment) => `${assignment.roleId}\u0000${assignment.orgId ?? ""}`,
)

/** Whether `role` is `parentId` or in its parent chain (a seen-set ends a cycle already in the data). */
const closesCycle = (db: Database, role: M.Role, parentId: M.Role["id"]) => {
  const seen = new Set<string>()
  for (let current = db.find("roles", parentId); current !== undefined && !seen.has(current.id); ) {
    if (current.id === role.id) return true
    seen.add(current.id)
    current = current.parentId === null ? undefined : db.find("roles", current.parentId)
  }
  return false
}

export const makeRbacStore = ({ run, find }: Engine): RbacStoreShape => ({
  createRole: (role) => run((db) => db.insert("roles", role), "SlugTaken"),
  getRole: (id) => run((db) => db.get("roles", id), "NotFound"),
  getRoleBySlug: (appId, slug) => run((db) => db.getBy("roles", "slug", appId, slug), "NotFound"),
  updateRole: (id, patch, now) =>
    run(
      (db) => {
        const role = db.get("roles", id)
        if (patch.parentId !== undefined && patch.parentId !== null && closesCycle(db, role, patch.parentId)) {
          throw new Conflict({ message: "the parent role would make the hierarchy a cycle" })
        }
        return db.update("roles", role, { ...rolePatch(patch), updatedAt: now })
      },
      "NotFound",
      "SlugTaken",
      "Conflict",
    ),
  deleteRole: (id) => run((db) => db.delete("roles", db.get("roles", id)), "NotFound"),
  listRoles: (appId) =>
    run((db) =>
      sorted(
        db.select("roles", (role) => role.appId === appId),
        oldestFirst,
      ),
    ),
  addPermission: (permission) => run((db) => db.insert("permissions", permission), "Conflict"),
  addPermissions: (permissions) =>
    run((db) => permissions.map((permission) => db.insert("permissions", permission)), "Conflict"),
  removePermission: (roleId, permissionId) =>
    run((db) => {
      const permission = db.find("permissions", permissionId)
      if (permission === undefined || permission.roleId !== roleId) throw new NotFound({ entity: "permission" })
      db.delete("permissions", permission)
    }, "NotFound"),
  listPermissions: (roleId) =>
    run((db) =>
      sorted(
        db.select("permissions", (permission) => permission.roleId === roleId),
        oldestFirst,
      ),
    ),
  listAppPermissions: (appId) =>
    run((db) =>
      sorted(
        db.select("permissions", (permission) => permission.appId === appId),
        oldestFirst,
      ),
    ),
  assign: (userRole) => run((db) => db.insert("userRoles", userRole), "Conflict"),
  unassign: (userId, roleId, orgId) =>
    run((db) => db.delete("userRoles", db.get("userRoles", userId, roleId, orgId ?? "")), "NotFound"),
  listUserRoles: (userId, orgId) =>
    run((db) =>
      sorted(
        db.select(
          "userRoles",
          (assignment) =>
            assignment.userId === userId &&
            (orgId === undefined || assignment.orgId === null || assignment.orgId === orgId),
        ),
        assignmentOrder,
      ),
    ),
  unassignInOrg: (userId, orgId) =>
    run((db) =>
      db.deleteWhere("userRoles", (assignment) => assignment.userId === userId && assignment.orgId === orgId),
    ),
  resolvePermission: (query) => find((db) => resolvePermissionIn(db, query)),
})

export const makeAuditStore = ({ run }: Engine): AuditStoreShape => ({
  record: (event) =>
    run((db) => {
      db.insert("auditEvents", event)
    }),
  list: (appId, { userId, type, since, until, ...page }) =>
    run((db) => {
      const events = db.select(
        "auditEvents",
        (event) =>
          event.appId === appId &&
          (userId === undefined || event.userId === userId) &&
          (type === undefined || event.type === type) &&
          (since === undefined || event.createdAt.getTime() >= since.getTime()) &&
          (until === undefined || event.createdAt.getTime() < until.getTime()),
      )
      return paged(events, page)
    }),
})

/** A window covers the instants before `resetAt`: at `resetAt` the counter is no longer live, and a hit restarts it. */
const windowEnded = (counter: M.RateLimitCounter, now: Date) => counter.resetAt.getTime() <= now.getTime()

export const makeRateLimitStore = ({ run, find }: Engine): RateLimitStoreShape => ({
  hit: (key, windowMs, now) =>
    run((db) => {
      const fresh = { key, count: 1, resetAt: new Date(now.getTime() + windowMs) }
      return db.upsert("rateLimits", "primaryKey", fresh, (counter) =>
        windowEnded(counter, now) ? fresh : { count: counter.count + 1 },
      )
    }),
  peek: (key, now) =>
    find((db) => {
      const counter = db.find("rateLimits", key)
      return counter === undefined || windowEnded(counter, now) ? undefined : counter
    }),
  set: (key, count, resetAt) =>
    run((db) => {
      const counter = { key, count, resetAt }
      db.upsert("rateLimits", "primaryKey", counter, () => counter)
    }),
  reset: (key) =>
    run((db) => {
      const counter = db.find("rateLimits", key)
      if (counter !== undefined) db.delete("rateLimits", counter)
    }),
  // Strictly before `now`, as the interface says; a counter ending exactly now goes in the next sweep.
  deleteExpired: (now) =>
    run((db) => db.deleteWhere("rateLimits", (counter) => counter.resetAt.getTime() < now.getTime())),
})
