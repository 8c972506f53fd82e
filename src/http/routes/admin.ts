/**
 * Admin routes (http-api.md §5 "Admin"): users (search, create, update, delete, ban, sessions, impersonation), the
 * audit log and the app's statistics. Every route needs `user:*` (checked by the pipeline from `requires`) except
 * `POST /admin/impersonate/stop`, which only an impersonation session may call.
 */
import { Effect, Schema } from "effect"
import { InvalidRequest } from "../../domain/errors.js"
import { json, status } from "../../plugin/kit.js"
import { type Authenticated, sessionRoute } from "../../plugin/route.js"
import { Admin, type UserChanges } from "../../services/admin.js"
import type { Actor } from "../../services/roles.js"
import {
  AuditEventJson,
  auditEventJson,
  EmailField,
  HttpUrlField,
  MetadataField,
  NameField,
  StatusJson,
  TokensJson,
  tokensJson,
  UserJson,
  UsernameField,
  userJson,
} from "../schemas.js"

const actorOf = (auth: Authenticated): Actor => ({ user: auth.user, scopes: auth.apiKey?.scopes })

const PhoneField = Schema.NullOr(
  Schema.String.pipe(Schema.pattern(/^\+?[0-9 ().-]{4,32}$/, { message: () => "must be a phone number" })),
)

const FutureDate = Schema.DateFromString.pipe(Schema.validDate())

const invalidQuery = (name: string, message: string) =>
  new InvalidRequest({ message: `invalid ${name}`, details: [{ path: name, message }] })

/** `?limit=` (default 20, at most 100) and `?cursor=` of a list route. */
export const pageOf = (query: URLSearchParams) => {
  const rawLimit = query.get("limit")
  const limit = rawLimit === null || rawLimit === "" ? 20 : Number(rawLimit)
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    return Effect.fail(invalidQuery("limit", "must be an integer from 1 to 100"))
  }
  const cursor = query.get("cursor") || undefined
  if (cursor !== undefined && !/^[a-z]{3,4}_[0-9a-hjkmnp-tv-z]{26}$/.test(cursor)) {
    return Effect.fail(invalidQuery("cursor", "must be a next_cursor this route returned"))
  }
  return Effect.succeed({ limit, cursor })
}

const timeOf = (query: URLSearchParams, name: string) => {
  const raw = query.get(name)
  if (raw === null || raw === "") return Effect.succeed(undefined)
  const date = new Date(raw)
  return Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(raw)
    ? Effect.fail(invalidQuery(name, "must be an RFC 3339 time"))
    : Effect.succeed(date)
}

const usersPage = Schema.Struct({ users: Schema.Array(UserJson), next_cursor: Schema.optional(Schema.String) })
const eventsPage = Schema.Struct({
  events: Schema.Array(AuditEventJson),
  next_cursor: Schema.optional(Schema.String),
})
const StatsJson = Schema.Struct({
  users: Schema.Int.annotations({ description: "live (not deleted) users of the app" }),
  active_sessions: Schema.Int.annotations({ description: "sessions whose refresh token has not expired" }),
  organizations: Schema.Int,
}).annotations({ identifier: "AdminStats" })

const AdminOrganizationJson = Schema.Struct({
  id: Schema.String,
  app_id: Schema.String,
  name: Schema.String,
  slug: Schema.String,
  logo: Schema.NullOr(Schema.String),
  created_by: Schema.String,
  created_at: Schema.String.annotations({ format: "date-time" }),
}).annotations({ identifier: "AdminOrganization" })
const organizationsPage = Schema.Struct({
  organizations: Schema.Array(AdminOrganizationJson),
  next_cursor: Schema.optional(Schema.String),
})

export const adminRoutes = Effect.gen(function* () {
  const admin = yield* Admin

  const listOrganizations = sessionRoute({
    method: "GET",
    path: "/admin/organizations",
    tag: "Admin",
    summary: "The app's organizations, newest first, a page at a time",
    requires: "org:*",
    query: [
      { name: "cursor", description: "the `next_cursor` of the previous page" },
      { name: "limit", description: "page size, 1 to 100 (default 20)" },
    ],
    responses: { 200: { description: "one page of organizations", schema: organizationsPage } },
    handler: (request) =>
      Effect.gen(function* () {
        const found = yield* admin.listOrganizations(request.client, yield* pageOf(request.query))
        return json(200, {
          organizations: found.items.map((org) => ({
            id: org.id,
            app_id: org.appId,
            name: org.name,
            slug: org.slug,
            logo: org.logo,
            created_by: org.createdBy,
            created_at: org.createdAt.toISOString(),
          })),
          ...(found.nextCursor === undefined ? {} : { next_cursor: found.nextCursor }),
        })
      }),
  })

  const listUsers = sessionRoute({
    method: "GET",
    path: "/admin/users",
    tag: "Admin",
    summary: "Search the app's users by email prefix, newest first, a page at a time",
    requires: "user:*",
    query: [
      { name: "email", description: "the start of the email (case-insensitive)" },
      { name: "cursor", description: "the `next_cursor` of the previous page" },
      { name: "limit", description: "page size, 1 to 100 (default 20)" },
    ],
    responses: { 200: { description: "one page of users", schema: usersPage } },
    handler: (request) =>
      Effect.gen(function* () {
        const page = yield* pageOf(request.query)
        const email = request.query.get("email")?.trim() || undefined
        const found = yield* admin.listUsers(request.client, { ...page, emailPrefix: email })
        return json(200, {
          users: found.items.map(userJson),
          ...(found.nextCursor === undefined ? {} : { next_cursor: found.nextCursor }),
        })
      }),
  })

  const createUser = sessionRoute({
    method: "POST",
    path: "/admin/users",
    tag: "Admin",
    summary: "Create a user in the request's environment, email verified (unless `email_verified: false`)",
    description:
      "With `password` (checked against the password policy) the user can sign in with it; without, by any other " +
      "method (a magic link, a reset of the password). The user gets the built-in role `user`.",
    requires: "user:*",
    body: Schema.Struct({
      email: EmailField,
      password: Schema.optional(Schema.String.pipe(Schema.maxLength(4096))),
      first_name: Schema.optional(NameField),
      last_name: Schema.optional(NameField),
      username: Schema.optional(UsernameField),
      image: Schema.optional(Schema.NullOr(HttpUrlField)),
      phone: Schema.optional(PhoneField),
      metadata: Schema.optional(MetadataField),
      email_verified: Schema.optional(Schema.Boolean),
    }),
    responses: { 201: { description: "the user", schema: UserJson } },
    handler: (request) =>
      Effect.map(
        admin.createUser(actorOf(request.auth), request.client, {
          email: request.body.email,
          password: request.body.password,
          firstName: request.body.first_name,
          lastName: request.body.last_name,
          username: request.body.username,
          image: request.body.image,
          phone: request.body.phone,
          metadata: request.body.metadata ?? undefined,
          emailVerified: request.body.email_verified,
        }),
        (user) => json(201, userJson(user)),
      ),
  })

  const getUser = sessionRoute({
    method: "GET",
    path: "/admin/users/:id",
    tag: "Admin",
    summary: "One user of the app",
    requires: "user:*",
    responses: { 200: { description: "the user", schema: UserJson } },
    handler: (request) =>
      Effect.map(admin.getUser(request.client, request.params["id"] ?? ""), (user) => json(200, userJson(user))),
  })

  const updateUser = sessionRoute({
    method: "PATCH",
    path: "/admin/users/:id",
    tag: "Admin",
    summary: "Change a user's email, verification, profile or metadata",
    description: "Bans go through `/ban` and `/unban`. A user holding a permission the caller lacks is 403.",
    requires: "user:*",
    body: Schema.Struct({
      email: Schema.optional(EmailField),
      email_verified: Schema.optional(Schema.Boolean),
      first_name: Schema.optional(NameField),
      last_name: Schema.optional(NameField),
      username: Schema.optional(UsernameField),
      image: Schema.optional(Schema.NullOr(HttpUrlField)),
      phone: Schema.optional(PhoneField),
      metadata: Schema.optional(MetadataField),
    }),
    responses: { 200: { description: "the user", schema: UserJson } },
    handler: (request) => {
      const body = request.body
      const changes: { -readonly [K in keyof UserChanges]: UserChanges[K] } = {}
      if (body.email !== undefined) changes.email = body.email
      if (body.email_verified !== undefined) changes.emailVerified = body.email_verified
      if (body.first_name !== undefined) changes.firstName = body.first_name
      if (body.last_name !== undefined) changes.lastName = body.last_name
      if (body.username !== undefined) changes.username = body.username
      if (body.image !== undefined) changes.image = body.image
      if (body.phone !== undefined) changes.phone = body.phone
      if (body.metadata !== undefined) changes.metadata = body.metadata
      return Effect.map(
        admin.updateUser(actorOf(request.auth), request.client, request.params["id"] ?? "", changes),
        (user) => json(200, userJson(user)),
      )
    },
  })

  const deleteUser = sessionRoute({
    method: "DELETE",
    path: "/admin/users/:id",
    tag: "Admin",
    summary: "Delete a user (soft delete, anonymised, every session revoked; the email becomes free)",
    requires: "user:*",
    responses: { 200: { description: "deleted", schema: StatusJson } },
    handler: (request) =>
      Effect.as(admin.deleteUser(actorOf(request.auth), request.client, request.params["id"] ?? ""), status("deleted")),
  })

  const ban = sessionRoute({
    method: "POST",
    path: "/admin/users/:id/ban",
    tag: "Admin",
    summary: "Ban a user, until `expires_at` or for good; every session of theirs is revoked at once",
    description:
      "While banned, every sign-in answers 403 `user_banned` (with `ban_expires`), and the user's API keys stop " +
      "working. The revocation is in the ban's transaction: every instance refuses the old tokens on the next request.",
    requires: "user:*",
    body: Schema.Struct({
      reason: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(500)))),
      expires_at: Schema.optional(Schema.NullOr(FutureDate)),
    }),
    responses: { 200: { description: "the banned user", schema: UserJson } },
    handler: (request) =>
      Effect.map(
        admin.ban(actorOf(request.auth), request.client, request.params["id"] ?? "", {
          reason: request.body.reason,
          expiresAt: request.body.expires_at,
        }),
        (user) => json(200, userJson(user)),
      ),
  })

  const unban = sessionRoute({
    method: "POST",
    path: "/admin/users/:id/unban",
    tag: "Admin",
    summary: "Lift a user's ban",
    requires: "user:*",
    responses: { 200: { description: "the user", schema: UserJson } },
    handler: (request) =>
      Effect.map(admin.unban(actorOf(request.auth), request.client, request.params["id"] ?? ""), (user) =>
        json(200, userJson(user)),
      ),
  })

  const revokeSessions = sessionRoute({
    method: "DELETE",
    path: "/admin/users/:id/sessions",
    tag: "Admin",
    summary: "Sign a user out everywhere: every session is revoked at once",
    requires: "user:*",
    responses: {
      200: { description: "how many sessions went", schema: Schema.Struct({ revoked: Schema.Int }) },
    },
    handler: (request) =>
      Effect.map(admin.revokeSessions(actorOf(request.auth), request.client, request.params["id"] ?? ""), (revoked) =>
        json(200, { revoked }),
      ),
  })

  const impersonate = sessionRoute({
    method: "POST",
    path: "/admin/users/:id/impersonate",
    tag: "Admin",
    summary: "Sign in as a user for an hour (the session's `impersonated_by` names you; audited)",
    description:
      "The tokens are in the body only (no cookies are set, so the caller's own session stays). The session lasts " +
      "one hour and refreshing does not extend it; `POST /admin/impersonate/stop` ends it. A user holding a " +
      "permission the caller lacks cannot be impersonated (403), nor a banned one, nor from an impersonation session " +
      "or with an API key.",
    requires: "user:*",
    credentials: "session",
    responses: { 200: { description: "the user's tokens", schema: TokensJson } },
    handler: (request) =>
      Effect.map(
        admin.impersonate(actorOf(request.auth), request.auth.session, request.client, request.params["id"] ?? ""),
        ({ user, tokens }) => json(200, tokensJson(user, tokens)),
      ),
  })

  const stopImpersonation = sessionRoute({
    method: "POST",
    path: "/admin/impersonate/stop",
    tag: "Admin",
    summary: "End the impersonation session of this request (revoked at once)",
    description: "Called with the impersonation session's token; any other session gets 403.",
    credentials: "session",
    responses: { 200: { description: "stopped", schema: StatusJson } },
    handler: (request) => Effect.as(admin.stopImpersonation(request.auth.session, request.client), status("stopped")),
  })

  const auditEvents = sessionRoute({
    method: "GET",
    path: "/admin/audit-events",
    tag: "Admin",
    summary: "The app's audit log, newest first, filtered and a page at a time",
    requires: "user:*",
    query: [
      { name: "user_id", description: "events about this user" },
      { name: "type", description: "events of this type, e.g. `auth.signin`" },
      { name: "since", description: "from this time (inclusive, RFC 3339)" },
      { name: "until", description: "before this time (exclusive, RFC 3339)" },
      { name: "cursor", description: "the `next_cursor` of the previous page" },
      { name: "limit", description: "page size, 1 to 100 (default 20)" },
    ],
    responses: { 200: { description: "one page of events", schema: eventsPage } },
    handler: (request) =>
      Effect.gen(function* () {
        const page = yield* pageOf(request.query)
        const userId = request.query.get("user_id") || undefined
        if (userId !== undefined && !/^ausr_[0-9a-hjkmnp-tv-z]{26}$/.test(userId)) {
          return yield* invalidQuery("user_id", "must be a user id")
        }
        const type = request.query.get("type") || undefined
        if (type !== undefined && type.length > 100) return yield* invalidQuery("type", "must be an event type")
        const found = yield* admin.auditLog(request.client, {
          ...page,
          userId: userId as Parameters<typeof admin.auditLog>[1]["userId"],
          type,
          since: yield* timeOf(request.query, "since"),
          until: yield* timeOf(request.query, "until"),
        })
        return json(200, {
          events: found.items.map(auditEventJson),
          ...(found.nextCursor === undefined ? {} : { next_cursor: found.nextCursor }),
        })
      }),
  })

  const stats = sessionRoute({
    method: "GET",
    path: "/admin/stats",
    tag: "Admin",
    summary: "The app's live users, active sessions and organizations (exact counts)",
    requires: "user:*",
    responses: { 200: { description: "the counts", schema: StatsJson } },
    handler: (request) =>
      Effect.map(admin.stats(request.client), (counts) =>
        json(200, {
          users: counts.users,
          active_sessions: counts.activeSessions,
          organizations: counts.organizations,
        }),
      ),
  })

  return [
    listOrganizations,
    listUsers,
    createUser,
    getUser,
    updateUser,
    deleteUser,
    ban,
    unban,
    revokeSessions,
    impersonate,
    stopImpersonation,
    auditEvents,
    stats,
  ]
})
