/** The core routes of http-api.md §3 that belong to no particular sign-in method. */
import { Clock, Effect, Option, Schema } from "effect"
import { NotFound } from "../domain/errors.js"
import { type DeviceId, isId, type SessionId } from "../domain/ids.js"
import type * as M from "../domain/models.js"
import { Accounts } from "../services/accounts.js"
import { Audit } from "../services/audit.js"
import { sha256Hex } from "../services/crypto.js"
import { PluginRegistry } from "../services/plugin-registry.js"
import { RateLimiter } from "../services/rate-limit.js"
import { Sessions } from "../services/sessions.js"
import { SignIn } from "../services/sign-in.js"
import {
  ApiKeyStore,
  AuditStore,
  DeviceStore,
  OrganizationStore,
  SessionStore,
  Store,
  type UserPatch,
} from "../services/store/index.js"
import { HttpKit, json } from "./kit.js"
import { publicRoute, type Route, type RouteRequest, sessionRoute } from "./route.js"
import {
  DeviceJson,
  deviceJson,
  EmailField,
  ListedSessionJson,
  MetadataField,
  NameField,
  RefreshedJson,
  SessionJson,
  sessionJson,
  StatusJson,
  TokenField,
  TokensJson,
  UserJson,
  UsernameField,
  userJson,
} from "./schemas.js"

const status = (value: string) => json(200, { status: value })

/** Counts the request against an IP-scoped rate-limit rule and reports the rule's state in the response headers. */
export const limitByIp = (
  limiter: RateLimiter,
  name: Parameters<RateLimiter["consume"]>[0],
  request: RouteRequest<unknown>,
) => limitBy(limiter, name, request, `ip:${request.client.ip ?? "unknown"}`)

export const limitBy = (
  limiter: RateLimiter,
  name: Parameters<RateLimiter["consume"]>[0],
  request: RouteRequest<unknown>,
  subject: string,
) =>
  Effect.map(limiter.consume(name, request.client.app.id, subject), (state) => {
    if (Option.isNone(state)) return
    const resetSeconds = Math.max(0, Math.ceil((state.value.resetAt.getTime() - Date.now()) / 1000))
    const remaining = Number(request.headers["ratelimit-remaining"] ?? Number.POSITIVE_INFINITY)
    // With several rules on one request, report the tightest.
    if (state.value.remaining <= remaining) {
      request.headers["ratelimit-limit"] = String(state.value.limit)
      request.headers["ratelimit-remaining"] = String(state.value.remaining)
      request.headers["ratelimit-reset"] = String(resetSeconds)
    }
  })

/** A row of another user is reported exactly like a missing one. */
const ownedBy =
  <A extends { readonly userId: string }>(entity: string, user: M.User) =>
  (row: A) =>
    row.userId === user.id ? Effect.succeed(row) : Effect.fail(new NotFound({ entity }))

/** Path ids of the wrong prefix or shape are 404, never 500. */
const pathId = <I extends string>(kind: Parameters<typeof isId>[0], entity: string, value: string | undefined) =>
  value !== undefined && isId(kind, value) ? Effect.succeed(value as I) : Effect.fail(new NotFound({ entity }))

const VerifyEmailBody = Schema.Union(
  Schema.Struct({ email: EmailField, code: Schema.String.pipe(Schema.pattern(/^\d{6}$/)) }),
  Schema.Struct({ token: TokenField }),
)

const ProfilePatch = Schema.Struct({
  first_name: Schema.optional(NameField),
  last_name: Schema.optional(NameField),
  image: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(2048)))),
  username: Schema.optional(UsernameField),
  metadata: Schema.optional(MetadataField),
})

export const coreRoutes: Effect.Effect<
  ReadonlyArray<Route>,
  never,
  | Store
  | HttpKit
  | RateLimiter
  | Sessions
  | SignIn
  | Accounts
  | Audit
  | SessionStore
  | DeviceStore
  | OrganizationStore
  | AuditStore
  | ApiKeyStore
  | PluginRegistry
> = Effect.gen(function* () {
  const store = yield* Store
  const kit = yield* HttpKit
  const limiter = yield* RateLimiter
  const sessions = yield* Sessions
  const signIn = yield* SignIn
  const accounts = yield* Accounts
  const audit = yield* Audit
  const sessionStore = yield* SessionStore
  const deviceStore = yield* DeviceStore
  const organizations = yield* OrganizationStore
  const auditEvents = yield* AuditStore
  const apiKeys = yield* ApiKeyStore
  const plugins = yield* PluginRegistry

  const health = publicRoute({
    method: "GET",
    path: "/health",
    tenantless: true,
    tag: "Core",
    summary: "Liveness and database reachability",
    responses: { 200: { description: "healthy", schema: StatusJson }, 503: { description: "database unreachable" } },
    handler: () =>
      Effect.map(store.ping, (ok) => (ok ? json(200, { status: "healthy" }) : json(503, { status: "unhealthy" }))),
  })

  const signout = sessionRoute({
    method: "POST",
    path: "/signout",
    tag: "Sessions",
    summary: "Revoke the current session (every instance rejects it at once)",
    responses: { 200: { description: "signed out", schema: StatusJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* store.transaction(
          Effect.zipRight(
            sessions.revoke(request.auth.session.id),
            audit.record(request.client, { type: "auth.signout", userId: request.auth.user.id }),
          ),
        )
        return kit.withCookiesCleared(request, status("signed out"))
      }),
  })

  const refresh = publicRoute({
    method: "POST",
    path: "/refresh",
    tag: "Sessions",
    summary: "Rotate the session and refresh tokens",
    description:
      "Takes the refresh token from the body or the refresh cookie. Presenting an already-rotated refresh token " +
      "revokes its whole family. Of concurrent refreshes with one token exactly one succeeds.",
    body: Schema.Struct({ refresh_token: Schema.optional(TokenField) }),
    responses: { 200: { description: "rotated tokens", schema: RefreshedJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* limitByIp(limiter, "refreshIp", request)
        const fromBody = request.body.refresh_token
        const fromCookie = fromBody === undefined ? kit.refreshCookie(request) : undefined
        if (fromCookie !== undefined) yield* kit.ensureSameOrigin(request)
        const token = fromBody ?? fromCookie ?? ""
        const tokens = yield* sessions.refresh(token, request.client)
        return yield* kit.refreshed(request, tokens, fromCookie !== undefined)
      }),
  })

  const session = sessionRoute({
    method: "GET",
    path: "/session",
    tag: "Sessions",
    summary: "Validate the session: the per-request check",
    responses: {
      200: {
        description: "the session and its user",
        schema: Schema.Struct({ user: UserJson, session: SessionJson }),
      },
    },
    handler: (request) =>
      Effect.succeed(json(200, { user: userJson(request.auth.user), session: sessionJson(request.auth.session) })),
  })

  const verifyEmail = publicRoute({
    method: "POST",
    path: "/verify-email",
    tag: "Accounts",
    summary: "Verify the email address with the mailed 6-digit code or link token, and sign in",
    body: VerifyEmailBody,
    responses: { 200: { description: "verified and signed in", schema: TokensJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* limitByIp(limiter, "codeIp", request)
        const user = yield* accounts.verifyEmail(request.body, request.client)
        const tokens = yield* store.transaction(signIn.complete(user, request.client, "email_verification"))
        return yield* kit.signedIn(request, user, tokens)
      }),
  })

  const resendVerification = publicRoute({
    method: "POST",
    path: "/verify-email/resend",
    tag: "Accounts",
    summary: "Mail a new verification code (answers the same whether or not the account exists)",
    body: Schema.Struct({ email: EmailField }),
    responses: { 200: { description: "always ok", schema: StatusJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* limitByIp(limiter, "mailIp", request)
        yield* limitBy(limiter, "mailEmail", request, `email:${request.body.email}`)
        yield* accounts.resendVerification(request.body.email, request.client)
        return status("ok")
      }),
  })

  const me = sessionRoute({
    method: "GET",
    path: "/me",
    tag: "Accounts",
    summary: "The signed-in user",
    responses: { 200: { description: "the user", schema: UserJson } },
    handler: (request) => Effect.succeed(json(200, userJson(request.auth.user))),
  })

  const updateMe = sessionRoute({
    method: "PATCH",
    path: "/me",
    tag: "Accounts",
    summary: "Update the signed-in user's profile",
    body: ProfilePatch,
    responses: { 200: { description: "the updated user", schema: UserJson } },
    handler: (request) =>
      Effect.gen(function* () {
        const { first_name, last_name, image, username, metadata } = request.body
        const patch: { -readonly [K in keyof UserPatch]: UserPatch[K] } = {}
        if (first_name !== undefined) patch.firstName = first_name
        if (last_name !== undefined) patch.lastName = last_name
        if (image !== undefined) patch.image = image
        if (username !== undefined) patch.username = username
        if (metadata !== undefined) patch.metadata = metadata
        const updated = yield* accounts
          .updateProfile(request.auth.user, patch, request.client)
          .pipe(Effect.catchTag("EmailTaken", Effect.die))
        return json(200, userJson(updated))
      }),
  })

  const deleteMe = sessionRoute({
    method: "DELETE",
    path: "/me",
    tag: "Accounts",
    summary: "Delete the account (soft delete, anonymised; every session is revoked)",
    responses: { 200: { description: "deleted", schema: StatusJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* accounts.deleteAccount(request.auth.user, request.client)
        return kit.withCookiesCleared(request, status("account deleted"))
      }),
  })

  const exportMe = sessionRoute({
    method: "GET",
    path: "/me/export",
    tag: "Accounts",
    summary: "Everything stored about the signed-in user",
    responses: {
      200: {
        description: "the export",
        schema: Schema.Struct({
          user: UserJson,
          sessions: Schema.Array(SessionJson),
          devices: Schema.Array(DeviceJson),
          organizations: Schema.Array(Schema.Unknown),
          audit_events: Schema.Array(Schema.Unknown),
        }),
      },
    },
    handler: (request) =>
      Effect.gen(function* () {
        const user = request.auth.user
        const [userSessions, devices, orgs, events, extra] = yield* Effect.all([
          sessionStore.listByUser(user.id),
          deviceStore.listByUser(user.id),
          organizations.listForUser(user.id),
          auditEvents.list(user.appId, { userId: user.id, limit: 1000 }),
          plugins.exportUserData(user),
        ])
        yield* audit.record(request.client, { type: "user.data_exported", userId: user.id })
        return json(200, {
          ...extra,
          user: userJson(user),
          sessions: userSessions.map(sessionJson),
          devices: devices.map(deviceJson),
          organizations: orgs.map((org) => ({
            id: org.id,
            name: org.name,
            slug: org.slug,
            created_at: org.createdAt.toISOString(),
          })),
          audit_events: events.items.map((event) => ({
            id: event.id,
            type: event.type,
            outcome: event.outcome,
            reason: event.reason,
            ip_address: event.ipAddress,
            user_agent: event.userAgent,
            metadata: event.metadata,
            created_at: event.createdAt.toISOString(),
          })),
        })
      }),
  })

  const listSessions = sessionRoute({
    method: "GET",
    path: "/sessions",
    tag: "Sessions",
    summary: "The signed-in user's sessions",
    responses: {
      200: {
        description: "sessions, newest first",
        schema: Schema.Struct({ sessions: Schema.Array(ListedSessionJson) }),
      },
    },
    handler: (request) =>
      Effect.map(sessionStore.listByUser(request.auth.user.id), (all) =>
        json(200, {
          sessions: all.map((s) => ({ ...sessionJson(s), current: s.id === request.auth.session.id })),
        }),
      ),
  })

  const revokeSession = sessionRoute({
    method: "DELETE",
    path: "/sessions/:id",
    tag: "Sessions",
    summary: "Revoke one of the signed-in user's sessions",
    responses: { 200: { description: "revoked", schema: StatusJson } },
    handler: (request) =>
      Effect.gen(function* () {
        const id = yield* pathId<SessionId>("session", "session", request.params["id"])
        const target = yield* sessionStore.get(id).pipe(Effect.flatMap(ownedBy("session", request.auth.user)))
        yield* store.transaction(
          Effect.zipRight(
            sessions.revoke(target.id),
            audit.record(request.client, {
              type: "session.revoked",
              userId: request.auth.user.id,
              metadata: { session_id: target.id },
            }),
          ),
        )
        const response = status("revoked")
        return target.id === request.auth.session.id ? kit.withCookiesCleared(request, response) : response
      }),
  })

  const revokeOthers = sessionRoute({
    method: "POST",
    path: "/sessions/revoke-others",
    tag: "Sessions",
    summary: "Revoke every session of the user except the current one",
    responses: { 200: { description: "how many were revoked", schema: Schema.Struct({ revoked: Schema.Number }) } },
    handler: (request) =>
      Effect.map(
        store.transaction(
          Effect.tap(sessions.revokeAllForUser(request.auth.user.id, request.auth.session.id), (revoked) =>
            audit.record(request.client, {
              type: "session.revoked",
              userId: request.auth.user.id,
              metadata: { revoked, scope: "others" },
            }),
          ),
        ),
        (revoked) => json(200, { revoked }),
      ),
  })

  const ownDevice = (request: RouteRequest<unknown> & { auth: { user: M.User } }) =>
    Effect.flatMap(pathId<DeviceId>("device", "device", request.params["id"]), (id) =>
      deviceStore.get(id).pipe(Effect.flatMap(ownedBy("device", request.auth.user))),
    )

  const listDevices = sessionRoute({
    method: "GET",
    path: "/devices",
    tag: "Devices",
    summary: "The signed-in user's devices",
    responses: { 200: { description: "devices", schema: Schema.Struct({ devices: Schema.Array(DeviceJson) }) } },
    handler: (request) =>
      Effect.map(deviceStore.listByUser(request.auth.user.id), (devices) =>
        json(200, { devices: devices.map(deviceJson) }),
      ),
  })

  const getDevice = sessionRoute({
    method: "GET",
    path: "/devices/:id",
    tag: "Devices",
    summary: "One of the signed-in user's devices",
    responses: { 200: { description: "the device", schema: DeviceJson } },
    handler: (request) => Effect.map(ownDevice(request), (device) => json(200, deviceJson(device))),
  })

  const deleteDevice = sessionRoute({
    method: "DELETE",
    path: "/devices/:id",
    tag: "Devices",
    summary: "Forget a device",
    responses: { 200: { description: "deleted", schema: StatusJson } },
    handler: (request) =>
      Effect.gen(function* () {
        const device = yield* ownDevice(request)
        yield* deviceStore.delete(device.id)
        return status("deleted")
      }),
  })

  const trustDevice = sessionRoute({
    method: "PATCH",
    path: "/devices/:id/trust",
    tag: "Devices",
    summary: "Mark a device as trusted",
    responses: { 200: { description: "the trusted device", schema: DeviceJson } },
    handler: (request) =>
      Effect.gen(function* () {
        const device = yield* ownDevice(request)
        const trusted = yield* deviceStore.setTrusted(device.id, true, new Date(yield* Clock.currentTimeMillis))
        return json(200, deviceJson(trusted))
      }),
  })

  const introspect = publicRoute({
    method: "POST",
    path: "/introspect",
    tag: "Sessions",
    summary: "Is this session token or API key active? (RFC 7662 style)",
    body: Schema.Struct({ token: Schema.String.pipe(Schema.maxLength(1024)) }),
    responses: {
      200: {
        description: "`{active:false}` or the token's subject",
        schema: Schema.Struct({
          active: Schema.Boolean,
          token_type: Schema.optional(Schema.Literal("session", "api_key")),
          user_id: Schema.optional(Schema.String),
          app_id: Schema.optional(Schema.String),
          env_id: Schema.optional(Schema.String),
          session_id: Schema.optional(Schema.String),
          org_id: Schema.optional(Schema.NullOr(Schema.String)),
          scopes: Schema.optional(Schema.Array(Schema.String)),
          expires_at: Schema.optional(Schema.NullOr(Schema.String)),
        }),
      },
    },
    handler: (request) =>
      Effect.gen(function* () {
        yield* limitByIp(limiter, "introspectIp", request)
        const token = request.body.token
        const inactive = json(200, { active: false })
        if (token.startsWith("sk_")) {
          const key = yield* apiKeys.findByHash(sha256Hex(token))
          const now = Date.now()
          if (
            Option.isNone(key) ||
            key.value.appId !== request.client.app.id ||
            key.value.revokedAt !== null ||
            (key.value.expiresAt !== null && key.value.expiresAt.getTime() <= now)
          ) {
            return inactive
          }
          return json(200, {
            active: true,
            token_type: "api_key",
            user_id: key.value.userId,
            app_id: key.value.appId,
            env_id: key.value.envId,
            scopes: key.value.scopes,
            expires_at: key.value.expiresAt?.toISOString() ?? null,
          })
        }
        const found = yield* Effect.option(sessions.validate(token, request.client))
        if (Option.isNone(found)) return inactive
        const { session } = found.value
        return json(200, {
          active: true,
          token_type: "session",
          user_id: session.userId,
          app_id: session.appId,
          env_id: session.envId,
          session_id: session.id,
          org_id: session.orgId,
          expires_at: session.expiresAt.toISOString(),
        })
      }),
  })

  return [
    health,
    signout,
    refresh,
    session,
    verifyEmail,
    resendVerification,
    me,
    updateMe,
    deleteMe,
    exportMe,
    listSessions,
    revokeSession,
    revokeOthers,
    listDevices,
    getDevice,
    deleteDevice,
    trustDevice,
    introspect,
  ]
})
