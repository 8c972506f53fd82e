import { Effect, Option } from "effect"
import { describe, expect } from "vitest"
import { newId } from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import {
  ApiKeyStore,
  type AuditQuery,
  AuditStore,
  NotificationStore,
  RateLimitStore,
  type PermissionQuery,
  RbacStore,
  SessionStore,
  UserStore,
  WebhookDeliveryStore,
  WebhookStore,
} from "../../services/store/index.js"
import {
  at,
  DAY,
  hash,
  HOUR,
  MINUTE,
  makeApiKey,
  makeAuditEvent,
  makeDelivery,
  makeNotification,
  makePermission,
  makeRole,
  makeUserRole,
  makeWebhook,
  SECOND,
  sweepEpoch,
  type Tenant,
  unique,
} from "../fixtures.js"
import { expectFailure, expectNone, getSome, type Harness, race } from "../harness.js"
import { seedEnv, seedOrg, seedSession, seedTenant, seedUser } from "../seed.js"

const NOW = at(HOUR)

/** Claim limits that never bind. */
const unlimited = { perWebhook: 1000, webhooks: new Map() }

const ids = (rows: ReadonlyArray<{ readonly id: string }>) => rows.map((r) => r.id)
const sortedIds = (rows: ReadonlyArray<{ readonly id: string }>) => ids(rows).sort()

const seedWebhook = (tenant: Tenant, webhook: Partial<M.Webhook> = {}) =>
  Effect.flatMap(WebhookStore, (webhooks) => webhooks.create(makeWebhook(tenant, webhook)))

const deliveriesOf = (webhook: M.Webhook) =>
  Effect.flatMap(WebhookDeliveryStore, (deliveries) => deliveries.listByWebhook(webhook.id, { limit: 100 })).pipe(
    Effect.map((page) => new Map(page.items.map((d) => [d.id, d]))),
  )

const seedRole = (appId: M.App["id"], role: Partial<M.Role> = {}) =>
  Effect.flatMap(RbacStore, (rbac) => rbac.createRole(makeRole(appId, role))).pipe(Effect.orDie)

export const platformSuite = (h: Harness) => {
  describe("WebhookStore", () => {
    h.test(
      "create/get; update patches and stamps updatedAt; delete; unknown ids are NotFound",
      Effect.gen(function* () {
        const webhooks = yield* WebhookStore
        const tenant = yield* seedTenant()
        const webhook = makeWebhook(tenant, { events: ["user.created", "session.created"] })
        expect(yield* webhooks.create(webhook)).toEqual(webhook)
        expect(yield* webhooks.get(webhook.id)).toEqual(webhook)
        expect(yield* webhooks.getMany([newId.webhook(), webhook.id])).toEqual([webhook])
        expect(yield* webhooks.getMany([])).toEqual([])
        const patch = { url: "https://hooks.example.com/v2", events: ["*"], active: false }
        const updated = yield* webhooks.update(webhook.id, patch, NOW)
        expect(updated).toEqual({ ...webhook, ...patch, updatedAt: NOW })
        expect(yield* webhooks.get(webhook.id)).toEqual(updated)
        yield* expectFailure(webhooks.update(newId.webhook(), { active: true }, NOW), "NotFound")
        yield* webhooks.delete(webhook.id)
        yield* expectFailure(webhooks.get(webhook.id), "NotFound")
        yield* expectFailure(webhooks.delete(webhook.id), "NotFound")
      }),
    )

    h.test(
      "listByApp is newest first and only the app's",
      Effect.gen(function* () {
        const webhooks = yield* WebhookStore
        const tenant = yield* seedTenant()
        const a = yield* seedWebhook(tenant)
        const b = yield* seedWebhook(yield* seedEnv(tenant))
        yield* seedWebhook(yield* seedTenant())
        expect(yield* webhooks.listByApp(tenant.app.id)).toEqual([b, a])
      }),
    )

    h.test(
      "listSubscribed returns the active webhooks of the app + environment listing the event or `*`",
      Effect.gen(function* () {
        const webhooks = yield* WebhookStore
        const tenant = yield* seedTenant()
        const exact = yield* seedWebhook(tenant, { events: ["user.deleted", "user.created"] })
        const wildcard = yield* seedWebhook(tenant, { events: ["*"] })
        yield* seedWebhook(tenant, { events: ["user.created"], active: false })
        const deletedOnly = yield* seedWebhook(tenant, { events: ["user.deleted"] })
        yield* seedWebhook(tenant, { events: ["user.created.extra", "user"] })
        yield* seedWebhook(yield* seedEnv(tenant), { events: ["user.created"] })
        yield* seedWebhook(yield* seedTenant(), { events: ["*"] })
        const subscribed = yield* webhooks.listSubscribed(tenant.app.id, tenant.env.id, ["user.created"])
        expect(sortedIds(subscribed)).toEqual(sortedIds([exact, wildcard]))
        expect(ids(yield* webhooks.listSubscribed(tenant.app.id, tenant.env.id, ["org.created"]))).toEqual([
          wildcard.id,
        ])
        // several event types at once: the webhooks subscribed to any of them, each once
        const either = yield* webhooks.listSubscribed(tenant.app.id, tenant.env.id, ["user.deleted", "user.created"])
        expect(sortedIds(either)).toEqual(sortedIds([exact, wildcard, deletedOnly]))
      }),
    )
  })

  describe("WebhookDeliveryStore", () => {
    h.test(
      "enqueue stores a batch; listByWebhook pages it newest first",
      Effect.gen(function* () {
        const deliveries = yield* WebhookDeliveryStore
        const tenant = yield* seedTenant()
        const webhook = yield* seedWebhook(tenant)
        const batch = Array.from({ length: 5 }, () => makeDelivery(webhook))
        yield* deliveries.enqueue(batch)
        yield* deliveries.enqueue([makeDelivery(yield* seedWebhook(tenant))])
        yield* deliveries.enqueue([])
        const first = yield* deliveries.listByWebhook(webhook.id, { limit: 3 })
        expect(first.items).toEqual([batch[4], batch[3], batch[2]])
        expect(first.nextCursor).toBe(batch[2]!.id)
        const rest = yield* deliveries.listByWebhook(webhook.id, { limit: 3, cursor: first.nextCursor })
        expect(rest.items).toEqual([batch[1], batch[0]])
        expect(rest.nextCursor).toBeUndefined()
      }),
    )

    const epoch = sweepEpoch()
    h.test(
      "claimDue claims due pending deliveries up to the limit, leasing them and counting the attempt",
      Effect.gen(function* () {
        const deliveries = yield* WebhookDeliveryStore
        const webhook = yield* seedWebhook(yield* seedTenant())
        const due = Array.from({ length: 4 }, (_, i) => makeDelivery(webhook, { nextAttemptAt: epoch(i * MINUTE) }))
        const later = makeDelivery(webhook, { nextAttemptAt: epoch(2 * HOUR) })
        yield* deliveries.enqueue([...due, later])
        const now = epoch(HOUR)
        const lease = epoch(HOUR + 5 * MINUTE)

        const first = yield* deliveries.claimDue(now, 3, lease, unlimited)
        const second = yield* deliveries.claimDue(now, 3, lease, unlimited)
        expect(first).toHaveLength(3)
        expect(sortedIds([...first, ...second])).toEqual(sortedIds(due))
        for (const claimed of [...first, ...second]) {
          expect(claimed).toMatchObject({ status: "pending", attempts: 1, nextAttemptAt: lease })
        }
        expect(yield* deliveries.claimDue(now, 3, lease, unlimited)).toEqual([])
        // An unfinished lease runs out: the rows are due again (at-least-once), and `later` has come due.
        const retried = yield* deliveries.claimDue(epoch(2 * HOUR + MINUTE), 10, epoch(3 * HOUR), unlimited)
        expect(sortedIds(retried)).toEqual(sortedIds([...due, later]))
        expect((yield* deliveries.claimDue(epoch(2 * HOUR + MINUTE), 10, epoch(3 * HOUR), unlimited)).length).toBe(0)
        const stored = yield* deliveriesOf(webhook)
        expect(due.map((d) => stored.get(d.id)?.attempts)).toEqual([2, 2, 2, 2])
      }),
    )

    const outcomes = sweepEpoch()
    h.test(
      "markDelivered and markAttemptFailed record the outcome; only a retry is claimed again",
      Effect.gen(function* () {
        const deliveries = yield* WebhookDeliveryStore
        const webhook = yield* seedWebhook(yield* seedTenant())
        const due = () => makeDelivery(webhook, { nextAttemptAt: outcomes(0) })
        const [delivered, also, retried, failed] = [due(), due(), due(), due()]
        yield* deliveries.enqueue([delivered, also, retried, failed])
        const now = outcomes(MINUTE)
        yield* deliveries.claimDue(now, 10, outcomes(2 * MINUTE), unlimited)
        const retryAt = outcomes(10 * MINUTE)
        yield* deliveries.markDelivered(
          [
            { id: delivered.id, statusCode: 204, durationMs: 12 },
            { id: also.id, statusCode: 200, durationMs: 7 },
          ],
          now,
        )
        yield* deliveries.markAttemptFailed(
          retried.id,
          { statusCode: 500, durationMs: 40, error: "HTTP 500", nextAttemptAt: retryAt },
          now,
        )
        yield* deliveries.markAttemptFailed(
          failed.id,
          { statusCode: null, durationMs: null, error: "timeout", nextAttemptAt: null },
          now,
        )

        const stored = yield* deliveriesOf(webhook)
        expect(stored.get(delivered.id)).toMatchObject({
          status: "delivered",
          lastStatusCode: 204,
          lastDurationMs: 12,
          deliveredAt: now,
        })
        expect(stored.get(also.id)).toMatchObject({ status: "delivered", lastStatusCode: 200, lastDurationMs: 7 })
        expect(stored.get(retried.id)).toMatchObject({
          status: "pending",
          lastStatusCode: 500,
          lastDurationMs: 40,
          lastError: "HTTP 500",
          nextAttemptAt: retryAt,
          deliveredAt: null,
        })
        expect(stored.get(failed.id)).toMatchObject({ status: "failed", lastStatusCode: null, lastError: "timeout" })
        expect(ids(yield* deliveries.claimDue(outcomes(HOUR), 10, outcomes(2 * HOUR), unlimited))).toEqual([retried.id])

        // only a failed delivery is queued again, with a fresh count of attempts
        expect(Option.isNone(yield* deliveries.requeue(delivered.id, outcomes(HOUR)))).toBe(true)
        const requeued = yield* deliveries.requeue(failed.id, outcomes(HOUR))
        expect(Option.getOrThrow(requeued)).toMatchObject({
          status: "pending",
          attempts: 0,
          nextAttemptAt: outcomes(HOUR),
        })
        expect(yield* deliveries.get(failed.id)).toMatchObject({ status: "pending", lastError: "timeout" })
      }),
    )

    const limited = sweepEpoch()
    h.test(
      "claimDue takes no more of one webhook than its limit allows, earliest first",
      Effect.gen(function* () {
        const deliveries = yield* WebhookDeliveryStore
        const tenant = yield* seedTenant()
        const [backlog, limitedHook, skipped] = [
          yield* seedWebhook(tenant),
          yield* seedWebhook(tenant),
          yield* seedWebhook(tenant),
        ]
        const rows = (webhook: M.Webhook, count: number, from: number) =>
          Array.from({ length: count }, (_, i) =>
            makeDelivery(webhook, { nextAttemptAt: limited((from + i) * SECOND) }),
          )
        const backlogRows = rows(backlog, 6, 0)
        const limitedRows = rows(limitedHook, 3, 10)
        const skippedRows = rows(skipped, 2, 20)
        yield* deliveries.enqueue([...backlogRows, ...limitedRows, ...skippedRows])
        const now = limited(HOUR)
        const lease = limited(2 * HOUR)

        const first = yield* deliveries.claimDue(now, 10, lease, {
          perWebhook: 2,
          webhooks: new Map([
            [limitedHook.id, 1],
            [skipped.id, 0],
          ]),
        })
        expect(sortedIds(first)).toEqual(sortedIds([...backlogRows.slice(0, 2), limitedRows[0]!]))
        // The overall limit still applies: each webhook's first row before any second one.
        expect(sortedIds(yield* deliveries.claimDue(now, 3, lease, { perWebhook: 3, webhooks: new Map() }))).toEqual(
          sortedIds([backlogRows[2]!, limitedRows[1]!, skippedRows[0]!]),
        )
        const rest = yield* deliveries.claimDue(now, 10, lease, unlimited)
        expect(sortedIds(rest)).toEqual(sortedIds([...backlogRows.slice(3), limitedRows[2]!, skippedRows[1]!]))
      }),
    )

    const fair = sweepEpoch()
    h.test(
      "claimDue takes each webhook's first row before any second one, so a backlog never starves another webhook",
      Effect.gen(function* () {
        const deliveries = yield* WebhookDeliveryStore
        const tenant = yield* seedTenant()
        const [backlog, other] = [yield* seedWebhook(tenant), yield* seedWebhook(tenant)]
        const backlogRows = Array.from({ length: 5 }, (_, i) =>
          makeDelivery(backlog, { nextAttemptAt: fair(i * SECOND) }),
        )
        const latecomer = makeDelivery(other, { nextAttemptAt: fair(MINUTE) })
        yield* deliveries.enqueue([...backlogRows, latecomer])
        const claimed = yield* deliveries.claimDue(fair(HOUR), 3, fair(2 * HOUR), unlimited)
        expect(sortedIds(claimed)).toEqual(sortedIds([backlogRows[0]!, backlogRows[1]!, latecomer]))
      }),
    )

    const contended = sweepEpoch()
    h.test(
      "concurrent claimDue calls never claim the same delivery",
      Effect.gen(function* () {
        const deliveries = yield* WebhookDeliveryStore
        const webhook = yield* seedWebhook(yield* seedTenant())
        const due = Array.from({ length: 12 }, () => makeDelivery(webhook, { nextAttemptAt: contended(0) }))
        yield* deliveries.enqueue(due)
        const claims = yield* race(6, () => deliveries.claimDue(contended(MINUTE), 4, contended(HOUR), unlimited))
        const claimed = claims.flat()
        expect(claimed).toHaveLength(12)
        expect(sortedIds(claimed)).toEqual(sortedIds(due))
      }),
    )
  })

  describe("NotificationStore", () => {
    h.test(
      "enqueue returns the notification; get finds it; listByUser is newest first; unknown ids are NotFound",
      Effect.gen(function* () {
        const notifications = yield* NotificationStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const first = makeNotification(tenant, { userId: user.id, recipient: user.email })
        expect(yield* notifications.enqueue(first)).toEqual(first)
        expect(yield* notifications.get(first.id)).toEqual(first)
        const second = yield* notifications.enqueue(makeNotification(tenant, { userId: user.id, envId: null }))
        yield* notifications.enqueue(makeNotification(tenant))
        expect(yield* notifications.listByUser(user.id)).toEqual([second, first])
        yield* expectFailure(notifications.get(newId.notification()), "NotFound")
      }),
    )

    const epoch = sweepEpoch()
    h.test(
      "claimDue leases due pending mail; markSent clears the content; markAttemptFailed retries or fails it",
      Effect.gen(function* () {
        const notifications = yield* NotificationStore
        const tenant = yield* seedTenant()
        const due = () => makeNotification(tenant, { nextAttemptAt: epoch(0) })
        const [sent, retried, failed] = [due(), due(), due()]
        const notDue = makeNotification(tenant, { nextAttemptAt: epoch(DAY) })
        for (const n of [sent, retried, failed, notDue]) yield* notifications.enqueue(n)
        const now = epoch(MINUTE)
        const lease = epoch(2 * MINUTE)

        const claimed = yield* notifications.claimDue(now, 2, lease)
        expect(claimed).toHaveLength(2)
        const all = [...claimed, ...(yield* notifications.claimDue(now, 2, lease))]
        expect(sortedIds(all)).toEqual(sortedIds([sent, retried, failed]))
        for (const n of all) expect(n).toMatchObject({ status: "pending", attempts: 1, nextAttemptAt: lease })

        const retryAt = epoch(10 * MINUTE)
        yield* notifications.markSent(sent.id, now)
        yield* notifications.markAttemptFailed(retried.id, "421 try later", retryAt, now)
        yield* notifications.markAttemptFailed(failed.id, "550 no such user", null, now)
        expect(yield* notifications.get(sent.id)).toMatchObject({
          status: "sent",
          sentAt: now,
          subject: null,
          body: null,
          html: null,
        })
        expect(yield* notifications.get(retried.id)).toMatchObject({
          status: "pending",
          lastError: "421 try later",
          nextAttemptAt: retryAt,
        })
        expect(yield* notifications.get(failed.id)).toMatchObject({
          status: "failed",
          lastError: "550 no such user",
          subject: null,
          body: null,
          html: null,
        })
        expect((yield* notifications.get(retried.id)).body).not.toBeNull()
        expect(ids(yield* notifications.claimDue(epoch(HOUR), 10, epoch(2 * HOUR)))).toEqual([retried.id])
      }),
    )

    h.test(
      "forgetRecipient deletes the address's pending mail and scrubs the rest, in that app only",
      Effect.gen(function* () {
        const notifications = yield* NotificationStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const placeholder = `deleted+${user.id}@deleted.invalid`
        // Mailed before the account existed (a pending sign-up: no user id), and after.
        const beforeAccount = yield* notifications.enqueue(makeNotification(tenant, { recipient: user.email }))
        const pending = yield* notifications.enqueue(
          makeNotification(tenant, { userId: user.id, recipient: user.email }),
        )
        const sent = yield* notifications.enqueue(makeNotification(tenant, { userId: user.id, recipient: user.email }))
        yield* notifications.markSent(sent.id, NOW)
        const failed = yield* notifications.enqueue(makeNotification(tenant, { recipient: user.email }))
        yield* notifications.markAttemptFailed(failed.id, "550", null, NOW)
        const bystander = yield* notifications.enqueue(makeNotification(tenant))
        const otherApp = yield* notifications.enqueue(makeNotification(yield* seedTenant(), { recipient: user.email }))

        expect(yield* notifications.forgetRecipient(tenant.app.id, user.email, user.id, placeholder)).toBe(4)
        yield* expectFailure(notifications.get(beforeAccount.id), "NotFound")
        yield* expectFailure(notifications.get(pending.id), "NotFound")
        for (const id of [sent.id, failed.id]) {
          expect(yield* notifications.get(id)).toMatchObject({
            recipient: placeholder,
            subject: null,
            body: null,
            html: null,
          })
        }
        expect(yield* notifications.get(bystander.id)).toEqual(bystander)
        expect(yield* notifications.get(otherApp.id)).toEqual(otherApp)
      }),
    )
  })

  describe("ApiKeyStore", () => {
    h.test(
      "create/get/findByHash; unknown ones are NotFound / None",
      Effect.gen(function* () {
        const keys = yield* ApiKeyStore
        const user = yield* seedUser(yield* seedTenant())
        const key = makeApiKey(user, { expiresAt: at(30 * 24 * HOUR), scopes: ["users:read", "users:write"] })
        expect(yield* keys.create(key)).toEqual(key)
        expect(yield* keys.get(key.id)).toEqual(key)
        expect(yield* getSome(keys.findByHash(key.keyHash))).toEqual(key)
        yield* expectFailure(keys.get(newId.apiKey()), "NotFound")
        yield* expectNone(keys.findByHash(hash()))
      }),
    )

    h.test(
      "listByUser is newest first, revoked keys included; revoke and touch stamp their times; delete",
      Effect.gen(function* () {
        const keys = yield* ApiKeyStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const first = yield* keys.create(makeApiKey(user))
        const second = yield* keys.create(makeApiKey(user))
        yield* keys.create(makeApiKey(yield* seedUser(tenant)))
        yield* keys.revoke(first.id, NOW)
        yield* keys.touch(second.id, NOW)
        expect((yield* keys.get(first.id)).revokedAt).toEqual(NOW)
        expect((yield* keys.get(second.id)).lastUsedAt).toEqual(NOW)
        expect(ids(yield* keys.listByUser(tenant.app.id, user.id))).toEqual([second.id, first.id])
        expect(yield* keys.listByUser((yield* seedTenant()).app.id, user.id)).toEqual([])
        yield* expectFailure(keys.revoke(newId.apiKey(), NOW), "NotFound")
        yield* keys.delete(second.id)
        yield* expectFailure(keys.get(second.id), "NotFound")
        yield* expectFailure(keys.delete(second.id), "NotFound")
        yield* expectNone(keys.findByHash(second.keyHash))
      }),
    )
  })

  describe("ApiKeyStore.findWithUser", () => {
    h.test(
      "returns the key (revoked and expired ones too) with its user; None for unknown hashes and deleted users",
      Effect.gen(function* () {
        const keys = yield* ApiKeyStore
        const users = yield* UserStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const key = yield* keys.create(makeApiKey(user, { expiresAt: at(-HOUR) }))
        yield* keys.revoke(key.id, NOW)
        const revoked = yield* keys.get(key.id)
        expect(yield* getSome(keys.findWithUser(key.keyHash))).toEqual({ key: revoked, user })
        yield* expectNone(keys.findWithUser(hash()))
        const leaver = yield* seedUser(tenant)
        const orphan = yield* keys.create(makeApiKey(leaver))
        yield* users.softDelete(leaver.id, NOW)
        yield* expectNone(keys.findWithUser(orphan.keyHash))
      }),
    )
  })

  describe("RbacStore", () => {
    h.test(
      "createRole/getRole/getRoleBySlug; slugs unique per app (SlugTaken); listRoles is oldest first",
      Effect.gen(function* () {
        const rbac = yield* RbacStore
        const { app } = yield* seedTenant()
        const parent = makeRole(app.id, { slug: "editor", builtIn: true, description: "Edits" })
        expect(yield* rbac.createRole(parent)).toEqual(parent)
        const child = yield* seedRole(app.id, { parentId: parent.id })
        expect(yield* rbac.getRole(child.id)).toEqual(child)
        expect(yield* rbac.getRoleBySlug(app.id, "editor")).toEqual(parent)
        yield* expectFailure(rbac.createRole(makeRole(app.id, { slug: "editor" })), "SlugTaken")
        const elsewhere = (yield* seedTenant()).app.id
        yield* seedRole(elsewhere, { slug: "editor" })
        expect(yield* rbac.listRoles(app.id)).toEqual([parent, child])
        yield* expectFailure(rbac.getRole(newId.role()), "NotFound")
        yield* expectFailure(rbac.getRoleBySlug(app.id, "nope"), "NotFound")
      }),
    )

    h.test(
      "updateRole patches the given fields and stamps updatedAt; SlugTaken / NotFound",
      Effect.gen(function* () {
        const rbac = yield* RbacStore
        const { app } = yield* seedTenant()
        const role = yield* seedRole(app.id)
        const parent = yield* seedRole(app.id)
        const patch = { name: "Writer", slug: unique("writer"), description: "Writes", parentId: parent.id }
        const updated = yield* rbac.updateRole(role.id, patch, NOW)
        expect(updated).toEqual({ ...role, ...patch, updatedAt: NOW })
        expect(yield* rbac.getRole(role.id)).toEqual(updated)
        yield* expectFailure(rbac.updateRole(role.id, { slug: parent.slug }, NOW), "SlugTaken")
        yield* expectFailure(rbac.updateRole(newId.role(), { name: "x" }, NOW), "NotFound")
      }),
    )

    h.test(
      "permissions: unique per role (Conflict); listPermissions, listAppPermissions; removePermission (NotFound)",
      Effect.gen(function* () {
        const rbac = yield* RbacStore
        const { app } = yield* seedTenant()
        const editor = yield* seedRole(app.id)
        const viewer = yield* seedRole(app.id)
        const write = makePermission(editor, "post", "write")
        expect(yield* rbac.addPermission(write)).toEqual(write)
        const read = yield* rbac.addPermission(makePermission(viewer, "post", "read"))
        yield* rbac.addPermission(makePermission(yield* seedRole((yield* seedTenant()).app.id), "post", "read"))
        yield* expectFailure(rbac.addPermission(makePermission(editor, "post", "write")), "Conflict")
        expect(yield* rbac.listPermissions(editor.id)).toEqual([write])
        expect(sortedIds(yield* rbac.listAppPermissions(app.id))).toEqual(sortedIds([write, read]))
        yield* rbac.removePermission(editor.id, write.id)
        expect(yield* rbac.listPermissions(editor.id)).toEqual([])
        yield* expectFailure(rbac.removePermission(editor.id, write.id), "NotFound")
        yield* expectFailure(rbac.removePermission(editor.id, read.id), "NotFound")
      }),
    )

    h.test(
      "addPermissions adds several in order, or none of them when one conflicts (Conflict)",
      Effect.gen(function* () {
        const rbac = yield* RbacStore
        const { app } = yield* seedTenant()
        const role = yield* seedRole(app.id)
        const added = [makePermission(role, "post", "read"), makePermission(role, "post", "write")]
        expect(yield* rbac.addPermissions(added)).toEqual(added)
        expect(yield* rbac.addPermissions([])).toEqual([])
        const fresh = makePermission(role, "comment", "read")
        yield* expectFailure(rbac.addPermissions([fresh, makePermission(role, "post", "read")]), "Conflict")
        expect(sortedIds(yield* rbac.listPermissions(role.id))).toEqual(sortedIds(added))
      }),
    )

    h.test(
      "assignments: unique per user, role and organization (Conflict); listUserRoles scopes; unassign (NotFound)",
      Effect.gen(function* () {
        const rbac = yield* RbacStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const [orgA, orgB] = [yield* seedOrg(user), yield* seedOrg(user)]
        const role = yield* seedRole(tenant.app.id)
        const appWide = makeUserRole(user, role)
        expect(yield* rbac.assign(appWide)).toEqual(appWide)
        const inA = yield* rbac.assign(makeUserRole(user, role, orgA.id))
        const inB = yield* rbac.assign(makeUserRole(user, role, orgB.id))
        yield* expectFailure(rbac.assign(makeUserRole(user, role)), "Conflict")
        yield* expectFailure(rbac.assign(makeUserRole(user, role, orgA.id)), "Conflict")

        const key = (r: M.UserRole) => `${r.roleId}/${r.orgId ?? "-"}`
        const scopes = (orgId?: M.Organization["id"]) =>
          Effect.map(rbac.listUserRoles(user.id, orgId), (roles) => roles.map(key).sort())
        expect(yield* scopes()).toEqual([appWide, inA, inB].map(key).sort())
        expect(yield* scopes(orgA.id)).toEqual([appWide, inA].map(key).sort())

        yield* rbac.unassign(user.id, role.id, null)
        expect(yield* scopes(orgA.id)).toEqual([key(inA)])
        yield* expectFailure(rbac.unassign(user.id, role.id, null), "NotFound")
        yield* rbac.unassign(user.id, role.id, orgB.id)
        expect(yield* scopes()).toEqual([key(inA)])
      }),
    )

    h.test(
      "updateRole refuses a parent that would close a cycle (Conflict), itself included; unrelated parents are fine",
      Effect.gen(function* () {
        const rbac = yield* RbacStore
        const { app } = yield* seedTenant()
        const base = yield* seedRole(app.id)
        const middle = yield* seedRole(app.id, { parentId: base.id })
        const top = yield* seedRole(app.id, { parentId: middle.id })
        yield* expectFailure(rbac.updateRole(base.id, { parentId: top.id }, NOW), "Conflict")
        yield* expectFailure(rbac.updateRole(base.id, { parentId: base.id }, NOW), "Conflict")
        yield* expectFailure(rbac.updateRole(middle.id, { parentId: top.id, name: "x" }, NOW), "Conflict")
        expect(yield* rbac.getRole(base.id)).toEqual(base)
        expect(yield* rbac.getRole(middle.id)).toEqual(middle)
        const side = yield* seedRole(app.id)
        expect((yield* rbac.updateRole(top.id, { parentId: side.id }, NOW)).parentId).toBe(side.id)
        expect((yield* rbac.updateRole(top.id, { parentId: null }, NOW)).parentId).toBeNull()
        expect((yield* rbac.updateRole(base.id, { parentId: top.id }, NOW)).parentId).toBe(top.id)
      }),
    )

    h.test(
      "updateRole: of two concurrent updates that would close a cycle together, at most one succeeds",
      Effect.gen(function* () {
        const rbac = yield* RbacStore
        const { app } = yield* seedTenant()
        for (let round = 0; round < 5; round++) {
          const [a, b] = [yield* seedRole(app.id), yield* seedRole(app.id)]
          const results = yield* race(2, (i) =>
            Effect.either(rbac.updateRole(i === 0 ? a.id : b.id, { parentId: i === 0 ? b.id : a.id }, NOW)),
          )
          expect(results.filter((result) => result._tag === "Right").length).toBe(1)
        }
      }),
    )

    h.test(
      "unassignInOrg removes the user's assignments in that organization only, and counts them",
      Effect.gen(function* () {
        const rbac = yield* RbacStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const colleague = yield* seedUser(tenant)
        const [org, other] = [yield* seedOrg(user), yield* seedOrg(user)]
        const [editor, viewer] = [yield* seedRole(tenant.app.id), yield* seedRole(tenant.app.id)]
        yield* rbac.assign(makeUserRole(user, editor))
        yield* rbac.assign(makeUserRole(user, editor, org.id))
        yield* rbac.assign(makeUserRole(user, viewer, org.id))
        yield* rbac.assign(makeUserRole(user, viewer, other.id))
        yield* rbac.assign(makeUserRole(colleague, viewer, org.id))
        expect(yield* rbac.unassignInOrg(user.id, org.id)).toBe(2)
        const left = (yield* rbac.listUserRoles(user.id)).map((r) => `${r.roleId}/${r.orgId ?? "-"}`).sort()
        expect(left).toEqual([`${editor.id}/-`, `${viewer.id}/${other.id}`].sort())
        expect((yield* rbac.listUserRoles(colleague.id)).length).toBe(1)
        expect(yield* rbac.unassignInOrg(user.id, org.id)).toBe(0)
      }),
    )

    h.test(
      "resolvePermission: direct, inherited through a three-level chain, wildcards; None when nothing grants it",
      Effect.gen(function* () {
        const rbac = yield* RbacStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const viewer = yield* seedRole(tenant.app.id, { slug: unique("viewer") })
        const editor = yield* seedRole(tenant.app.id, { slug: unique("editor"), parentId: viewer.id })
        const manager = yield* seedRole(tenant.app.id, { slug: unique("manager"), parentId: editor.id })
        yield* rbac.addPermission(makePermission(viewer, "post", "read"))
        yield* rbac.addPermission(makePermission(editor, "comment", "*"))
        yield* rbac.addPermission(makePermission(manager, "*", "publish"))
        yield* rbac.assign(makeUserRole(user, manager))
        const check = (resource: string, action: string, orgId: PermissionQuery["orgId"] = null) =>
          rbac.resolvePermission({ appId: tenant.app.id, userId: user.id, orgId, resource, action })
        expect(yield* getSome(check("post", "read"))).toEqual({
          roleId: viewer.id,
          roleSlug: viewer.slug,
          resource: "post",
          action: "read",
          depth: 2,
        })
        expect(yield* getSome(check("comment", "delete"))).toMatchObject({ roleSlug: editor.slug, depth: 1 })
        expect(yield* getSome(check("post", "publish"))).toMatchObject({
          roleSlug: manager.slug,
          resource: "*",
          action: "publish",
          depth: 0,
        })
        // A wanted wildcard is literal: `comment:*` is held, `post:*` is not (only `post:read` is).
        expect(yield* getSome(check("comment", "*"))).toMatchObject({ roleSlug: editor.slug })
        yield* expectNone(check("post", "*"))
        yield* expectNone(check("post", "delete"))
        // Someone holding only the base role gets only its permissions.
        const reader = yield* seedUser(tenant)
        yield* rbac.assign(makeUserRole(reader, viewer))
        const readerCheck = (resource: string, action: string) =>
          rbac.resolvePermission({ appId: tenant.app.id, userId: reader.id, orgId: null, resource, action })
        expect((yield* getSome(readerCheck("post", "read"))).roleSlug).toBe(viewer.slug)
        yield* expectNone(readerCheck("comment", "read"))
      }),
    )

    h.test(
      "resolvePermission explains with the nearest role, then the most specific permission, then the slug",
      Effect.gen(function* () {
        const rbac = yield* RbacStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const base = yield* seedRole(tenant.app.id, { slug: unique("base") })
        const child = yield* seedRole(tenant.app.id, { slug: unique("child"), parentId: base.id })
        yield* rbac.addPermission(makePermission(base, "doc", "read"))
        yield* rbac.addPermission(makePermission(child, "doc", "*"))
        yield* rbac.assign(makeUserRole(user, child))
        const check = (resource: string, action: string) =>
          rbac.resolvePermission({ appId: tenant.app.id, userId: user.id, orgId: null, resource, action })
        // Nearest first: the assigned role's wildcard beats the exact permission of its parent.
        expect(yield* getSome(check("doc", "read"))).toMatchObject({ roleSlug: child.slug, action: "*", depth: 0 })
        // At one depth, the most specific permission.
        yield* rbac.addPermission(makePermission(child, "*", "*"))
        yield* rbac.addPermission(makePermission(child, "doc", "write"))
        expect(yield* getSome(check("doc", "write"))).toMatchObject({ resource: "doc", action: "write" })
        expect(yield* getSome(check("doc", "share"))).toMatchObject({ resource: "doc", action: "*" })
        expect(yield* getSome(check("note", "share"))).toMatchObject({ resource: "*", action: "*" })
        // Same depth and specificity: the smaller slug.
        const [alpha, beta] = [
          yield* seedRole(tenant.app.id, { slug: `a-${unique("r")}` }),
          yield* seedRole(tenant.app.id, { slug: `b-${unique("r")}` }),
        ]
        yield* rbac.addPermission(makePermission(beta, "report", "view"))
        yield* rbac.addPermission(makePermission(alpha, "report", "view"))
        yield* rbac.assign(makeUserRole(user, beta))
        yield* rbac.assign(makeUserRole(user, alpha))
        expect((yield* getSome(check("report", "view"))).roleSlug).toBe(alpha.slug)
      }),
    )

    h.test(
      "SessionStore.findByTokenHashWithPermission: the session lookup with resolvePermission's answer for its user",
      Effect.gen(function* () {
        const rbac = yield* RbacStore
        const sessions = yield* SessionStore
        const users = yield* UserStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const org = yield* seedOrg(user)
        const base = yield* seedRole(tenant.app.id, { slug: unique("base") })
        const middle = yield* seedRole(tenant.app.id, { slug: unique("middle"), parentId: base.id })
        const top = yield* seedRole(tenant.app.id, { slug: unique("top"), parentId: middle.id })
        const billing = yield* seedRole(tenant.app.id, { slug: unique("billing") })
        yield* rbac.addPermission(makePermission(base, "doc", "read"))
        yield* rbac.addPermission(makePermission(billing, "invoice", "pay"))
        yield* rbac.assign(makeUserRole(user, top))
        yield* rbac.assign(makeUserRole(user, billing, org.id))
        const session = yield* seedSession(user)
        const lookup = (
          resource: string,
          action: string,
          orgId: PermissionQuery["orgId"] = null,
          appId = tenant.app.id,
        ) => sessions.findByTokenHashWithPermission(session.tokenHash, { appId, orgId, resource, action })
        const found = yield* getSome(lookup("doc", "read"))
        expect({ session: found.session, user: found.user }).toEqual(
          yield* getSome(sessions.findByTokenHash(session.tokenHash)),
        )
        expect(found.grant).toEqual(
          yield* rbac.resolvePermission({
            appId: tenant.app.id,
            userId: user.id,
            orgId: null,
            resource: "doc",
            action: "read",
          }),
        )
        expect(Option.getOrThrow(found.grant)).toMatchObject({ roleSlug: base.slug, depth: 2 })
        // Nothing grants it: the session all the same, without a grant.
        expect((yield* getSome(lookup("doc", "delete"))).grant).toEqual(Option.none())
        // Organization roles count within their organization only; another app's check grants nothing.
        expect((yield* getSome(lookup("invoice", "pay"))).grant).toEqual(Option.none())
        expect(Option.getOrThrow((yield* getSome(lookup("invoice", "pay", org.id))).grant).roleSlug).toBe(billing.slug)
        const other = yield* seedTenant()
        expect((yield* getSome(lookup("doc", "read", null, other.app.id))).grant).toEqual(Option.none())
        // Removing the role answers at once; an unknown token, or a deleted user's session, is None.
        yield* rbac.unassign(user.id, top.id, null)
        expect((yield* getSome(lookup("doc", "read"))).grant).toEqual(Option.none())
        yield* expectNone(
          sessions.findByTokenHashWithPermission(hash(), {
            appId: tenant.app.id,
            orgId: null,
            resource: "doc",
            action: "read",
          }),
        )
        yield* users.softDelete(user.id, NOW)
        yield* expectNone(lookup("invoice", "pay", org.id))
      }),
    )

    h.test(
      "resolvePermission: organization assignments count only for that organization; other apps never",
      Effect.gen(function* () {
        const rbac = yield* RbacStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const [org, other] = [yield* seedOrg(user), yield* seedOrg(user)]
        const billing = yield* seedRole(tenant.app.id)
        yield* rbac.addPermission(makePermission(billing, "invoice", "pay"))
        yield* rbac.assign(makeUserRole(user, billing, org.id))
        const check = (orgId: PermissionQuery["orgId"], appId = tenant.app.id) =>
          rbac.resolvePermission({ appId, userId: user.id, orgId, resource: "invoice", action: "pay" })
        expect((yield* getSome(check(org.id))).roleSlug).toBe(billing.slug)
        yield* expectNone(check(null))
        yield* expectNone(check(other.id))
        yield* expectNone(check(org.id, (yield* seedTenant()).app.id))
        yield* rbac.unassign(user.id, billing.id, org.id)
        yield* expectNone(check(org.id))
      }),
    )

    h.test(
      "resolvePermission follows every change of the hierarchy at once: parents, slugs, permissions, deleted roles",
      Effect.gen(function* () {
        const rbac = yield* RbacStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const base = yield* seedRole(tenant.app.id, { slug: unique("base") })
        const middle = yield* seedRole(tenant.app.id, { slug: unique("middle") })
        const top = yield* seedRole(tenant.app.id, { slug: unique("top"), parentId: middle.id })
        yield* rbac.assign(makeUserRole(user, top))
        const check = (resource = "doc", action = "read") =>
          rbac.resolvePermission({ appId: tenant.app.id, userId: user.id, orgId: null, resource, action })
        const read = yield* rbac.addPermission(makePermission(base, "doc", "read"))
        yield* expectNone(check())
        // A parent given: its grants reach every descendant.
        yield* rbac.updateRole(middle.id, { parentId: base.id }, NOW)
        expect(yield* getSome(check())).toMatchObject({ roleId: base.id, roleSlug: base.slug, depth: 2 })
        // A slug renamed: the explanation names the new one; a name alone changes nothing else.
        const renamed = unique("renamed")
        yield* rbac.updateRole(base.id, { slug: renamed, name: "Renamed" }, NOW)
        expect(yield* getSome(check())).toMatchObject({ roleSlug: renamed, depth: 2 })
        // A permission added nearer wins; removed, the farther one answers again.
        const nearer = yield* rbac.addPermission(makePermission(middle, "doc", "read"))
        expect(yield* getSome(check())).toMatchObject({ roleId: middle.id, depth: 1 })
        yield* rbac.removePermission(middle.id, nearer.id)
        expect(yield* getSome(check())).toMatchObject({ roleId: base.id, depth: 2 })
        // A middle role deleted detaches its children, so nothing above it is inherited any more.
        yield* rbac.deleteRole(middle.id)
        yield* expectNone(check())
        yield* rbac.updateRole(top.id, { parentId: base.id }, NOW)
        expect(yield* getSome(check())).toMatchObject({ roleId: base.id, depth: 1 })
        yield* rbac.removePermission(base.id, read.id)
        yield* expectNone(check())
        // Another app's roles are untouched by all of it.
        const other = yield* seedTenant()
        const stranger = yield* seedUser(other)
        const otherRole = yield* seedRole(other.app.id)
        yield* rbac.addPermission(makePermission(otherRole, "doc", "read"))
        yield* rbac.assign(makeUserRole(stranger, otherRole))
        yield* rbac.deleteRole(base.id)
        expect(
          yield* getSome(
            rbac.resolvePermission({
              appId: other.app.id,
              userId: stranger.id,
              orgId: null,
              resource: "doc",
              action: "read",
            }),
          ),
        ).toMatchObject({ roleId: otherRole.id, depth: 0 })
      }),
    )

    h.test(
      "resolvePermission: two concurrent changes of one app's hierarchy both count",
      Effect.gen(function* () {
        const rbac = yield* RbacStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const base = yield* seedRole(tenant.app.id)
        const top = yield* seedRole(tenant.app.id)
        yield* rbac.assign(makeUserRole(user, top))
        for (let round = 0; round < 5; round++) {
          const [resource, action] = [`doc${round}`, "read"]
          // One writer grants the base role a permission while the other makes the base role the top's parent.
          yield* rbac.updateRole(top.id, { parentId: null }, NOW)
          yield* Effect.all(
            [
              rbac.addPermission(makePermission(base, resource, action)),
              rbac.updateRole(top.id, { parentId: base.id }, NOW),
            ],
            { concurrency: "unbounded" },
          )
          expect(
            yield* getSome(
              rbac.resolvePermission({ appId: tenant.app.id, userId: user.id, orgId: null, resource, action }),
            ),
          ).toMatchObject({ roleId: base.id, depth: 1 })
        }
      }),
    )

    h.test(
      "deleteRole removes its permissions and assignments and detaches its children; NotFound after",
      Effect.gen(function* () {
        const rbac = yield* RbacStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const parent = yield* seedRole(tenant.app.id)
        const child = yield* seedRole(tenant.app.id, { parentId: parent.id })
        yield* rbac.addPermission(makePermission(parent, "post", "delete"))
        const kept = yield* rbac.addPermission(makePermission(child, "post", "read"))
        yield* rbac.assign(makeUserRole(user, parent))
        yield* rbac.assign(makeUserRole(user, child))
        yield* rbac.deleteRole(parent.id)
        yield* expectFailure(rbac.getRole(parent.id), "NotFound")
        expect((yield* rbac.getRole(child.id)).parentId).toBeNull()
        expect(yield* rbac.listPermissions(parent.id)).toEqual([])
        expect(yield* rbac.listAppPermissions(tenant.app.id)).toEqual([kept])
        expect((yield* rbac.listUserRoles(user.id)).map((r) => r.roleId)).toEqual([child.id])
        yield* expectFailure(rbac.deleteRole(parent.id), "NotFound")
      }),
    )
  })

  describe("AuditStore", () => {
    h.test(
      "list is newest first, filtered by user, type, since (inclusive) and until (exclusive), and pages",
      Effect.gen(function* () {
        const audit = yield* AuditStore
        const tenant = yield* seedTenant()
        const alice = yield* seedUser(tenant)
        const bob = yield* seedUser(tenant)
        const event = (type: string, user: M.User) =>
          makeAuditEvent(tenant, { type, userId: user.id, actorId: user.id, metadata: { via: "password" } })
        const e1 = event("user.signin", alice)
        const e2 = event("user.signout", alice)
        const e3 = event("user.signin", bob)
        const e4 = event("user.signin", alice)
        for (const e of [e1, e2, e3, e4]) yield* audit.record(e)
        yield* audit.record(makeAuditEvent(yield* seedTenant()))
        const list = (query: Omit<AuditQuery, "limit">) =>
          Effect.map(audit.list(tenant.app.id, { limit: 10, ...query }), (page) => ids(page.items))

        expect((yield* audit.list(tenant.app.id, { limit: 10 })).items).toEqual([e4, e3, e2, e1])
        expect(yield* list({ userId: alice.id })).toEqual(ids([e4, e2, e1]))
        expect(yield* list({ type: "user.signin" })).toEqual(ids([e4, e3, e1]))
        expect(yield* list({ type: "user.signin", userId: alice.id })).toEqual(ids([e4, e1]))
        expect(yield* list({ since: e2.createdAt })).toEqual(ids([e4, e3, e2]))
        expect(yield* list({ until: e3.createdAt })).toEqual(ids([e2, e1]))
        expect(yield* list({ since: e2.createdAt, until: e4.createdAt })).toEqual(ids([e3, e2]))

        const first = yield* audit.list(tenant.app.id, { limit: 3 })
        expect(ids(first.items)).toEqual(ids([e4, e3, e2]))
        expect(first.nextCursor).toBe(e2.id)
        const rest = yield* audit.list(tenant.app.id, { limit: 3, cursor: first.nextCursor })
        expect(ids(rest.items)).toEqual([e1.id])
        expect(rest.nextCursor).toBeUndefined()
      }),
    )
  })

  describe("RateLimitStore", () => {
    const WINDOW = MINUTE

    h.test(
      "hit counts within the window and restarts at 1 after it ends; peek shows the live counter only",
      Effect.gen(function* () {
        const limits = yield* RateLimitStore
        const key = unique("rl")
        const start = at(0)
        const resetAt = at(WINDOW)
        expect(yield* limits.hit(key, WINDOW, start)).toEqual({ key, count: 1, resetAt })
        expect(yield* limits.hit(key, WINDOW, at(10 * SECOND))).toEqual({ key, count: 2, resetAt })
        expect(yield* getSome(limits.peek(key, at(20 * SECOND)))).toEqual({ key, count: 2, resetAt })
        yield* expectNone(limits.peek(key, at(WINDOW + SECOND)))
        yield* expectNone(limits.peek(unique("rl"), start))
        const restarted = at(WINDOW + SECOND)
        expect(yield* limits.hit(key, WINDOW, restarted)).toEqual({ key, count: 1, resetAt: at(2 * WINDOW + SECOND) })
      }),
    )

    h.test(
      "set fixes a counter until resetAt; reset removes it",
      Effect.gen(function* () {
        const limits = yield* RateLimitStore
        const key = unique("lock")
        yield* limits.set(key, 5, at(HOUR))
        expect(yield* getSome(limits.peek(key, at(0)))).toEqual({ key, count: 5, resetAt: at(HOUR) })
        expect((yield* limits.hit(key, WINDOW, at(SECOND))).count).toBe(6)
        yield* limits.set(key, 1, at(2 * HOUR))
        expect(yield* getSome(limits.peek(key, at(0)))).toEqual({ key, count: 1, resetAt: at(2 * HOUR) })
        yield* limits.reset(key)
        yield* expectNone(limits.peek(key, at(0)))
        expect((yield* limits.hit(key, WINDOW, at(0))).count).toBe(1)
        yield* limits.reset(unique("never-set"))
      }),
    )

    h.test(
      "20 concurrent hits on a fresh key yield the counts 1..20",
      Effect.gen(function* () {
        const limits = yield* RateLimitStore
        const key = unique("burst")
        const counters = yield* race(20, () => limits.hit(key, WINDOW, at(0)))
        expect(counters.map((c) => c.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
        expect((yield* getSome(limits.peek(key, at(0)))).count).toBe(20)
      }),
    )

    const epoch = sweepEpoch()
    h.test(
      "deleteExpired deletes the counters whose window ended before now, and counts them",
      Effect.gen(function* () {
        const limits = yield* RateLimitStore
        const [ended1, ended2, live] = [unique("old"), unique("old"), unique("live")]
        yield* limits.set(ended1, 3, epoch(HOUR))
        yield* limits.set(ended2, 3, epoch(2 * HOUR))
        yield* limits.set(live, 3, epoch(10 * HOUR))
        expect(yield* limits.deleteExpired(epoch(5 * HOUR))).toBe(2)
        yield* expectNone(limits.peek(ended1, epoch(0)))
        yield* expectNone(limits.peek(ended2, epoch(0)))
        expect(Option.map(yield* limits.peek(live, epoch(0)), (c) => c.count)).toEqual(Option.some(3))
      }),
    )
  })
}
